from django.apps import AppConfig
from django.core import checks


class ReferralsConfig(AppConfig):
    name = "referrals"

    def ready(self) -> None:
        from audit.registry import audited

        from .models import Referral

        checks.register(check_referral_settings, checks.Tags.compatibility)
        audited(Referral, patient_id=lambda referral: referral.patient_id)


def check_referral_settings(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    from django.conf import settings

    from .sla import sla_setting_problems

    errors = [checks.Error(problem, id="referrals.E001") for problem in sla_setting_problems(settings.REFERRAL_SLA)]
    lease = settings.PARTNER_WEBHOOK_TIMEOUT_SECONDS + settings.PARTNER_WEBHOOK_GRACE_SECONDS
    attempt_limit = settings.PARTNER_WEBHOOK_TIMEOUT_SECONDS * 2 + 5  # referrals.tasks.DELIVERY_TIME_LIMIT
    if attempt_limit >= lease:
        errors.append(checks.Warning(
            "PARTNER_WEBHOOK_GRACE_SECONDS is too short: the delivery sweep could hand on an attempt still running.",
            id="referrals.W001",
        ))
    if not settings.FIELD_ENCRYPTION_KEY:
        errors.append(checks.Error("FIELD_ENCRYPTION_KEY is empty.", id="referrals.E002"))
    return errors
