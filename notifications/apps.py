from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"

    def ready(self) -> None:
        from audit.registry import audited

        from .models import Escalation

        audited(Escalation, patient_id=lambda escalation: escalation.assessment.patient_id)
