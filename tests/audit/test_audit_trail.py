"""Every read and write of patient data leaves an audit event: who, what, which patient, when, from where."""

import pytest
from django.contrib.admin.sites import site as admin_site
from django.db import DatabaseError, connection, transaction
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from audit.actions import audit_read, audit_writes_batched
from audit.admin import AuditEventAdmin
from audit.context import audit_source, current_source
from audit.middleware import AuditContextMiddleware
from audit.models import AuditEvent, AuditTrailImmutable
from referrals.models import Referral
from tests.factories import ROUTINE, PatientFactory
from triage.models import Assessment, Evaluation
from triage.tasks import triage_assessment

pytestmark = pytest.mark.django_db

NEW_PATIENT = {
    "first_name": "Juan",
    "last_name": "Pérez",
    "date_of_birth": "1980-01-31",
    "phone": "+34699111222",
    "email": "juan@example.org",
    "language": "en",
}


def events(**filters) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(**filters).order_by("at"))


def submitted(client, patient) -> Assessment:
    response = client.post("/api/v1/assessments/", {"patient": str(patient.id), "answers": ROUTINE}, format="json")
    assert response.status_code == 202
    return Assessment.objects.get(pk=response.json()["id"])


class TestReads:
    def test_reading_a_patient_records_who_which_patient_and_from_where(self, api_as, staff, patient):
        response = api_as(staff).get(f"/api/v1/patients/{patient.id}/", REMOTE_ADDR="192.0.2.10")

        assert response.status_code == 200
        [event] = events(action="read")
        assert (event.actor, event.actor_username) == (staff, staff.username)
        assert (event.object_type, event.object_id, event.patient_id) == (
            "patients.patient",
            str(patient.id),
            patient.id,
        )
        assert (event.source, event.ip_address, event.path) == ("api", "192.0.2.10", f"/api/v1/patients/{patient.id}/")

    def test_a_patient_reading_their_own_record_is_recorded(self, api_as, patient_user):
        assert api_as(patient_user).get("/api/v1/patients/me/").status_code == 200

        [event] = events(action="read")
        assert event.actor == patient_user and event.patient_id == patient_user.patient.id

    def test_a_list_records_every_row_shown_in_one_insert(self, api_as, staff, clinic):
        patients = PatientFactory.create_batch(5, clinic=clinic)
        client = api_as(staff)

        with CaptureQueriesContext(connection) as queries:
            response = client.get("/api/v1/patients/?page_size=3")

        assert response.status_code == 200
        shown = {row["id"] for row in response.json()["results"]}
        assert {str(event.patient_id) for event in events(action="read")} == shown
        assert len(shown) == 3 and shown < {str(p.id) for p in patients}
        inserts = [q for q in queries.captured_queries if q["sql"].startswith('INSERT INTO "audit_auditevent"')]
        assert len(inserts) == 1

    def test_reading_assessments_records_the_patient_they_concern(self, api_as, staff, patient):
        client = api_as(staff)
        assessment = submitted(client, patient)
        assert events(action="read") == [], "a submission is a write"

        client.get(f"/api/v1/assessments/{assessment.id}/")
        client.get("/api/v1/assessments/")

        reads = events(action="read")
        assert [(e.object_type, e.object_id, e.patient_id, e.path) for e in reads] == [
            ("triage.assessment", str(assessment.id), patient.id, f"/api/v1/assessments/{assessment.id}/"),
            ("triage.assessment", str(assessment.id), patient.id, "/api/v1/assessments/"),
        ]

    def test_a_refused_read_records_nothing(self, api_as, staff):
        elsewhere = PatientFactory()

        assert api_as(staff).get(f"/api/v1/patients/{elsewhere.id}/").status_code == 404
        assert events(action="read") == []

    def test_the_admin_change_view_and_list_are_recorded_as_admin_reads(self, client, superuser, patient):
        client.force_login(superuser)

        assert client.get(f"/admin/patients/patient/{patient.id}/change/").status_code == 200
        assert client.get("/admin/patients/patient/").status_code == 200
        assert client.get(f"/admin/patients/patient/{patient.id}/history/").status_code == 200
        version = patient.history.get().history_id
        assert client.get(f"/admin/patients/patient/{patient.id}/history/{version}/").status_code == 200

        reads = events(action="read")
        assert [(e.source, e.patient_id, e.actor) for e in reads] == [("admin", patient.id, superuser)] * 4

    def test_the_admin_assessment_view_is_recorded(self, client, api_as, superuser, staff, patient):
        assessment = submitted(api_as(staff), patient)
        client.force_login(superuser)

        assert client.get(f"/admin/triage/assessment/{assessment.id}/change/").status_code == 200

        [event] = events(action="read")
        assert (event.source, event.object_id, event.patient_id) == ("admin", str(assessment.id), patient.id)


class TestWrites:
    def test_creating_a_patient_through_the_api_is_recorded_with_its_history_row(self, api_as, staff):
        response = api_as(staff).post("/api/v1/patients/", NEW_PATIENT, format="json")

        [event] = events(action="create")
        assert (event.actor, event.source, event.object_type) == (staff, "api", "patients.patient")
        assert str(event.patient_id) == response.json()["id"]
        assert event.history_id == AuditEvent.objects.get().history_id is not None

    def test_a_self_registration_names_the_new_patient_as_who(self, anonymous_api):
        body = {**NEW_PATIENT, "username": "juanp", "password": "Lentil-Harbour-42"}

        response = anonymous_api.post("/api/v1/auth/register/", body, format="json")

        [event] = events(action="create")
        assert event.actor_username == "juanp" and str(event.patient_id) == response.json()["id"]

    def test_submitting_then_triaging_in_a_worker_is_recorded_with_each_source(self, api_as, staff, patient):
        assessment = submitted(api_as(staff), patient)

        triage_assessment.apply(args=[str(assessment.id)])

        writes = [
            (e.action, e.object_type, e.source, e.actor_username)
            for e in events(patient_id=patient.id, object_type__startswith="triage.")
        ]
        assert writes[0] == ("create", "triage.assessment", "api", staff.username)
        assert ("create", "triage.evaluation", "worker", "") in writes
        assert ("update", "triage.assessment", "worker", "") in writes
        evaluation = Evaluation.objects.get(assessment=assessment)
        assert AuditEvent.objects.filter(object_id=str(evaluation.id), patient_id=patient.id).exists()

    def test_the_referrals_a_triage_proposes_are_recorded_with_their_history_rows(self, api_as, staff, patient):
        assessment = submitted(api_as(staff), patient)

        triage_assessment.apply(args=[str(assessment.id)])

        referrals = list(Referral.objects.filter(assessment=assessment))
        assert len(referrals) == 2
        for referral in referrals:
            [history] = referral.history.all()
            assert (history.history_type, history.status, history.history_user) == ("+", "proposed", None)
            [event] = events(object_id=str(referral.id))
            assert (event.action, event.object_type, event.source, event.patient_id, event.history_id) == (
                "create", "referrals.referral", "worker", patient.id, history.history_id,
            )

    def test_an_admin_edit_is_recorded_as_an_admin_update(self, client, superuser, patient):
        client.force_login(superuser)
        form = {
            "clinic": patient.clinic_id,
            "first_name": "Ana",
            "last_name": "Ruiz",
            "date_of_birth": "1970-05-17",
            "phone": str(patient.phone),
            "email": patient.email,
            "language": "es",
            "external_id": "",
        }

        response = client.post(f"/admin/patients/patient/{patient.id}/change/", form)

        assert response.status_code == 302, response.content[:2000]
        [event] = events(action="update")
        assert (event.actor, event.source, event.patient_id) == (superuser, "admin", patient.id)

    def test_a_write_rolled_back_leaves_no_audit_event(self, clinic):
        with pytest.raises(RuntimeError), transaction.atomic():
            PatientFactory(clinic=clinic)
            raise RuntimeError("rolled back")

        assert events() == []


    def test_a_triage_writes_the_audit_events_of_all_it_stores_in_one_insert(self, api_as, staff, patient):
        assessment = submitted(api_as(staff), patient)

        with CaptureQueriesContext(connection) as queries:
            triage_assessment.apply(args=[str(assessment.id)])

        inserts = [q for q in queries.captured_queries if q["sql"].startswith('INSERT INTO "audit_auditevent"')]
        assert len(inserts) == 1
        written = {(e.action, e.object_type) for e in events(source="worker")}
        assert written == {("create", "triage.evaluation"), ("update", "triage.assessment"),
                           ("create", "referrals.referral")}

    def test_batched_audit_events_are_written_at_the_end_of_the_block_and_not_before(self, clinic):
        with transaction.atomic(), audit_writes_batched():
            PatientFactory(clinic=clinic)
            assert events() == []

        assert [event.action for event in events()] == ["create"]

    def test_batched_audit_events_go_with_a_rolled_back_transaction(self, clinic):
        with pytest.raises(RuntimeError), transaction.atomic(), audit_writes_batched():
            PatientFactory(clinic=clinic)
            raise RuntimeError("rolled back")

        assert events() == []
        with transaction.atomic(), audit_writes_batched():
            PatientFactory(clinic=clinic)
        assert len(events()) == 1, "the next block starts empty"


class TestSource:
    def test_code_can_say_where_it_runs(self, staff, patient):
        with audit_source("webhook"):
            audit_read(user=staff, objects=[patient])

        assert [event.source for event in events(action="read")] == ["webhook"]
        assert current_source() == "system"

    def test_an_unknown_source_is_refused(self):
        with pytest.raises(ValueError), audit_source("elsewhere"):
            pass

    def test_webhook_paths_run_as_webhook(self):
        seen = {}

        def view_source(request):
            seen["source"] = current_source()

        AuditContextMiddleware(view_source)(RequestFactory().post("/api/v1/webhooks/partners/acme/"))

        assert seen["source"] == "webhook"


class TestAppendOnly:
    @pytest.fixture
    def event(self, staff, patient):
        [event] = audit_read(user=staff, objects=[patient])
        return AuditEvent.objects.get(pk=event.pk)

    def test_an_event_cannot_be_saved_again(self, event):
        event.action = "delete"

        with pytest.raises(AuditTrailImmutable):
            event.save()

    def test_an_event_cannot_be_deleted(self, event):
        with pytest.raises(AuditTrailImmutable):
            event.delete()

    def test_querysets_cannot_update_or_delete(self, event):
        with pytest.raises(AuditTrailImmutable):
            AuditEvent.objects.filter(pk=event.pk).update(action="delete")
        with pytest.raises(AuditTrailImmutable):
            AuditEvent.objects.all().delete()

    @pytest.mark.parametrize(
        "statement",
        ["UPDATE audit_auditevent SET action = 'delete'", "DELETE FROM audit_auditevent"],
        ids=["update", "delete"],
    )
    def test_the_database_refuses_changes_even_in_raw_sql(self, event, statement):
        if connection.vendor != "postgresql":
            pytest.skip("the trigger exists on PostgreSQL only")

        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)

        assert AuditEvent.objects.get(pk=event.pk).action == "read"

    def test_nobody_may_add_change_or_delete_in_the_admin_not_even_a_superuser(self, rf, superuser, event, client):
        request = rf.get("/admin/audit/auditevent/")
        request.user = superuser
        model_admin = admin_site._registry[AuditEvent]

        assert isinstance(model_admin, AuditEventAdmin)
        assert not model_admin.has_add_permission(request)
        assert not model_admin.has_change_permission(request, event)
        assert not model_admin.has_delete_permission(request, event)
        assert model_admin.has_view_permission(request, event)
        client.force_login(superuser)
        assert client.get("/admin/audit/auditevent/").status_code == 200
        assert client.get(f"/admin/audit/auditevent/?q={event.patient_id}").status_code == 200
        assert client.get("/admin/audit/auditevent/?q=not-a-uuid").status_code == 200
        assert client.get(f"/admin/audit/auditevent/{event.pk}/change/").status_code == 200
        assert client.post(f"/admin/audit/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
        assert AuditEvent.objects.filter(pk=event.pk).exists()
