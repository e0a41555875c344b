from django.apps import AppConfig


class PatientsConfig(AppConfig):
    name = "patients"

    def ready(self) -> None:
        from audit.registry import audited

        from .models import Patient

        audited(Patient, patient_id=lambda patient: patient.pk)
