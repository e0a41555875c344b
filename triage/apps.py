from django.apps import AppConfig


class TriageConfig(AppConfig):
    name = "triage"

    def ready(self) -> None:
        from audit.registry import audited

        from .models import Assessment, Evaluation

        audited(Assessment, patient_id=lambda assessment: assessment.patient_id)
        audited(Evaluation, patient_id=lambda evaluation: evaluation.assessment.patient_id)
