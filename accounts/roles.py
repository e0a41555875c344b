"""The admin groups of the clinical roles and their model permissions.

They mirror what the API lets each role do (README "Roles"): clinicians read
their clinic's patients, assessments, referrals and escalations, and change
referrals (moves), escalations (acknowledge) and evaluations (override,
re-triage); clinic staff also manage on-call contacts and partners, work the
partner-event inbox and outbound deliveries, and see the users. Which rows
they see is the selectors' business (their clinic's), not the groups'.
"""

from __future__ import annotations

from .models import Role

CLINICIANS = "Clinicians"
CLINIC_STAFF = "Clinic staff"

CLINICIAN_PERMISSIONS: tuple[str, ...] = (
    "patients.view_patient",
    "triage.view_assessment",
    "triage.view_evaluation",
    "triage.change_evaluation",
    "referrals.view_referral",
    "referrals.change_referral",
    "referrals.view_referralevent",
    "notifications.view_escalation",
    "notifications.change_escalation",
    "notifications.view_escalationevent",
    "notifications.view_notification",
)

STAFF_PERMISSIONS: tuple[str, ...] = (
    *CLINICIAN_PERMISSIONS,
    "notifications.view_oncallcontact",
    "notifications.add_oncallcontact",
    "notifications.change_oncallcontact",
    "notifications.delete_oncallcontact",
    "notifications.change_notification",
    "notifications.view_deliveryattempt",
    "referrals.view_partner",
    "referrals.add_partner",
    "referrals.change_partner",
    "referrals.view_partnerwebhookevent",
    "referrals.change_partnerwebhookevent",
    "referrals.view_webhookdelivery",
    "referrals.change_webhookdelivery",
    "referrals.view_webhookdeliveryattempt",
    "accounts.view_user",
)

GROUP_OF_ROLE: dict[str, str] = {Role.CLINICIAN: CLINICIANS, Role.STAFF: CLINIC_STAFF}
PERMISSIONS_OF_GROUP: dict[str, tuple[str, ...]] = {CLINICIANS: CLINICIAN_PERMISSIONS, CLINIC_STAFF: STAFF_PERMISSIONS}
