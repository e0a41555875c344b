"""Run by tests/services/test_embedded_database.py in a process of its own, on a fresh SQLite file.

Migrates, stores two triaged assessments (an emergency opens an escalation,
both propose referrals), then prints the status of each staff page and API
list as JSON: `make run`'s default database must serve every one of them.
"""

import json

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from rest_framework_simplejwt.tokens import RefreshToken  # noqa: E402

from accounts.models import Role, User  # noqa: E402
from accounts.selectors import clinic_default  # noqa: E402
from patients.models import Patient  # noqa: E402
from tests.factories import EMERGENCY, URGENT  # noqa: E402
from triage.actions import assessment_submit, assessment_triage  # noqa: E402

PAGES = [
    "/admin/", "/admin/triage/assessment/", "/admin/referrals/referral/", "/admin/referrals/referral/board/",
    "/admin/referrals/referral/?overdue=yes", "/admin/notifications/escalation/", "/admin/patients/patient/",
]
API_LISTS = [
    "/api/v1/assessments/", "/api/v1/referrals/", "/api/v1/referrals/?needs_attention=true",
    "/api/v1/referrals/?overdue=true", "/api/v1/escalations/", "/api/v1/patients/",
]

call_command("migrate", verbosity=0)
clinic = clinic_default()
staff = User.objects.create_superuser("desk", "desk@example.org", "a-long-password-1", role=Role.STAFF,
                                      clinic=clinic)
patient = Patient.objects.create(clinic=clinic, first_name="Ana", last_name="García", date_of_birth="1970-01-01",
                                 phone="+34612345678", email="ana@example.org")
for answers in (EMERGENCY, URGENT):
    assessment_triage(assessment_id=assessment_submit(submitted_by=staff, patient=patient, answers=answers).pk)

client = Client(raise_request_exception=False)
client.force_login(staff)
bearer = {"HTTP_AUTHORIZATION": f"Bearer {RefreshToken.for_user(staff).access_token}"}
statuses = {url: client.get(url).status_code for url in PAGES}
statuses |= {url: client.get(url, **bearer).status_code for url in API_LISTS}
print(json.dumps(statuses))
