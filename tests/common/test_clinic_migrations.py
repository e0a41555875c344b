"""The migrations that copy each row's clinic fill the rows stored before them, then require the column."""

import uuid

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = [("triage", "0003_assessment_list_order_index_covering"), ("referrals", "0004_referral_list_filter_indexes"),
          ("notifications", "0003_escalation_list_and_acknowledged_indexes")]
AFTER = [("triage", "0005_assessment_clinic_required"), ("referrals", "0006_referral_clinic_required"),
         ("notifications", "0005_escalation_clinic_required")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def schema_before_the_clinic_columns(transactional_db):
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    yield migrate(BEFORE)
    migrate(latest)


def column_nullable(table: str, column: str) -> bool:
    with connection.cursor() as cursor:
        description = connection.introspection.get_table_description(cursor, table)
    return next(field.null_ok for field in description if field.name == column)


def test_rows_stored_before_the_columns_get_their_patients_clinic(schema_before_the_clinic_columns):
    apps = schema_before_the_clinic_columns
    Clinic, User = apps.get_model("accounts", "Clinic"), apps.get_model("accounts", "User")
    Patient, Assessment = apps.get_model("patients", "Patient"), apps.get_model("triage", "Assessment")
    Referral, Escalation = apps.get_model("referrals", "Referral"), apps.get_model("notifications", "Escalation")
    now = timezone.now()
    north, south = Clinic.objects.create(name="North", slug="north"), Clinic.objects.create(name="South", slug="south")
    submitter = User.objects.create(username="clinician", clinic=north, role="clinician")
    stored = {}
    for clinic in (north, south):
        patient = Patient.objects.create(clinic=clinic, first_name="Ana", last_name=clinic.name,
                                         date_of_birth="1970-05-17", email=f"{clinic.slug}@example.org")
        assessment = Assessment.objects.create(id=uuid.uuid4(), patient=patient, submitted_by=submitter,
                                               submitted_at=now, answers={}, status="triaged", urgency="emergency")
        referral = Referral.objects.create(assessment=assessment, patient=patient, specialty="neurosurgery",
                                           priority="emergency", clock_started_at=now)
        escalation = Escalation.objects.create(assessment=assessment, opened_at=now, case_code=f"{len(stored) + 1000}")
        stored[clinic.pk] = (assessment.pk, referral.pk, escalation.pk)

    apps = migrate(AFTER)

    for clinic_id, (assessment_id, referral_id, escalation_id) in stored.items():
        assert apps.get_model("triage", "Assessment").objects.get(pk=assessment_id).clinic_id == clinic_id
        assert apps.get_model("referrals", "Referral").objects.get(pk=referral_id).clinic_id == clinic_id
        assert apps.get_model("notifications", "Escalation").objects.get(pk=escalation_id).clinic_id == clinic_id
    for table in ("triage_assessment", "referrals_referral", "notifications_escalation"):
        assert not column_nullable(table, "clinic_id"), table


def test_an_older_release_still_serving_stores_rows_whose_clinic_the_database_fills(schema_before_the_clinic_columns):
    old = schema_before_the_clinic_columns  # the models as the release before the clinic columns knew them
    Clinic, User = old.get_model("accounts", "Clinic"), old.get_model("accounts", "User")
    clinic = Clinic.objects.create(name="North", slug="north")
    patient = old.get_model("patients", "Patient").objects.create(
        clinic=clinic, first_name="Ana", last_name="North", date_of_birth="1970-05-17", email="ana@example.org")
    submitter = User.objects.create(username="clinician", clinic=clinic, role="clinician")
    migrate(AFTER)

    assessment = old.get_model("triage", "Assessment").objects.create(
        patient=patient, submitted_by=submitter, submitted_at=timezone.now(), answers={})
    referral = old.get_model("referrals", "Referral").objects.create(
        assessment=assessment, patient=patient, specialty="neurology", priority="urgent",
        clock_started_at=timezone.now())
    escalation = old.get_model("notifications", "Escalation").objects.create(
        assessment=assessment, opened_at=timezone.now(), case_code="4821")

    with connection.cursor() as cursor:
        for table, key in (("triage_assessment", assessment.pk), ("referrals_referral", referral.pk),
                           ("notifications_escalation", escalation.pk)):
            cursor.execute(f"SELECT clinic_id FROM {table} WHERE id = %s", [key])  # noqa: S608
            assert cursor.fetchone() == (clinic.pk,), table
