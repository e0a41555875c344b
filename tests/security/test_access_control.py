"""Who sees what (OWASP API1 / API5) and who may write which field (API3, mass assignment).

A patient sees only their own record and assessments; clinicians and staff
their clinic's; a partner account nothing here. An object outside the scope is
a 404, exactly like an id that does not exist.
"""

import uuid
from dataclasses import dataclass

import pytest

from accounts.models import Role, User
from patients.models import Patient
from tests.factories import ROUTINE, ClinicFactory, PatientFactory, UserFactory
from triage.actions import assessment_submit, assessment_triage
from triage.models import Assessment

pytestmark = pytest.mark.django_db


@dataclass
class World:
    """Clinic A (the default one) and clinic B, each with patients, an assessment per patient and people."""

    own: Patient  # patient_user's record, clinic A
    neighbour: Patient  # another patient of clinic A
    elsewhere: Patient  # a patient of clinic B
    assessments: dict[str, Assessment]
    users: dict[str, User]


@pytest.fixture
def world(clinic) -> World:
    clinic_b = ClinicFactory()
    patient_login = UserFactory(role=Role.PATIENT, clinic=clinic)
    own = PatientFactory(clinic=clinic, user=patient_login)
    neighbour = PatientFactory(clinic=clinic)
    elsewhere = PatientFactory(clinic=clinic_b, external_id="MRN-B1")
    users = {
        "patient": patient_login,
        "clinician": UserFactory(role=Role.CLINICIAN, clinic=clinic),
        "staff": UserFactory(role=Role.STAFF, clinic=clinic),
        "staff_of_b": UserFactory(role=Role.STAFF, clinic=clinic_b),
        "partner": UserFactory(role=Role.PARTNER, clinic=None),
        "clinician_without_clinic": UserFactory(role=Role.CLINICIAN, clinic=None),
        "superuser": UserFactory(role=Role.STAFF, clinic=clinic, is_superuser=True, is_staff=True),
    }
    assessments = {
        name: assessment_submit(submitted_by=users["superuser"], patient=patient, answers=ROUTINE)
        for name, patient in (("own", own), ("neighbour", neighbour), ("elsewhere", elsewhere))
    }
    for assessment in assessments.values():
        assessment_triage(assessment_id=assessment.id)
    return World(own=own, neighbour=neighbour, elsewhere=elsewhere, assessments=assessments, users=users)


def listed(client, path: str) -> set[str] | int:
    response = client.get(path)
    if response.status_code != 200:
        return response.status_code
    return {row["id"] for row in response.json()["results"]}


def ids(*objects) -> set[str]:
    return {str(obj.id) for obj in objects}


class TestReadScope:
    @pytest.mark.parametrize(
        ("role", "expected"),
        [
            ("patient", 403),
            ("clinician", {"own", "neighbour"}),
            ("staff", {"own", "neighbour"}),
            ("staff_of_b", {"elsewhere"}),
            ("partner", 403),
            ("clinician_without_clinic", set()),
            ("superuser", {"own", "neighbour", "elsewhere"}),
        ],
    )
    def test_the_patient_list_is_scoped_by_role(self, api_as, world, role, expected):
        seen = listed(api_as(world.users[role]), "/api/v1/patients/")

        assert seen == (expected if isinstance(expected, int) else ids(*(getattr(world, n) for n in expected)))

    @pytest.mark.parametrize(
        ("role", "expected"),
        [
            ("patient", {"own"}),
            ("clinician", {"own", "neighbour"}),
            ("staff", {"own", "neighbour"}),
            ("staff_of_b", {"elsewhere"}),
            ("partner", 403),
            ("clinician_without_clinic", set()),
            ("superuser", {"own", "neighbour", "elsewhere"}),
        ],
    )
    def test_the_assessment_list_is_scoped_by_role(self, api_as, world, role, expected):
        seen = listed(api_as(world.users[role]), "/api/v1/assessments/")

        assert seen == (expected if isinstance(expected, int) else ids(*(world.assessments[n] for n in expected)))

    @pytest.mark.parametrize(
        ("role", "visible"),
        [
            ("patient", {"own"}),
            ("clinician", {"own", "neighbour"}),
            ("staff", {"own", "neighbour"}),
            ("staff_of_b", {"elsewhere"}),
            ("clinician_without_clinic", set()),
            ("superuser", {"own", "neighbour", "elsewhere"}),
        ],
    )
    def test_an_object_out_of_scope_is_a_404_like_one_that_does_not_exist(self, api_as, world, role, visible):
        client = api_as(world.users[role])

        for name in ("own", "neighbour", "elsewhere"):
            expected = 200 if name in visible else 404
            assert client.get(f"/api/v1/patients/{getattr(world, name).id}/").status_code == expected, name
            assert client.get(f"/api/v1/assessments/{world.assessments[name].id}/").status_code == expected, name
        assert client.get(f"/api/v1/patients/{uuid.uuid4()}/").status_code == 404
        assert client.get(f"/api/v1/assessments/{uuid.uuid4()}/").status_code == 404

    def test_a_partner_account_reads_nothing_here(self, api_as, world):
        client = api_as(world.users["partner"])

        for path in [
            f"/api/v1/patients/{world.own.id}/",
            f"/api/v1/assessments/{world.assessments['own'].id}/",
            "/api/v1/patients/me/",
            "/api/v1/triage/overrides-by-rule/",
        ]:
            assert client.get(path).status_code in (403, 404), path

    def test_a_filter_cannot_reach_past_the_scope(self, api_as, world):
        client = api_as(world.users["staff"])

        assert listed(client, f"/api/v1/assessments/?patient={world.elsewhere.id}") == set()
        assert listed(client, f"/api/v1/patients/?external_id={world.elsewhere.external_id}") == set()

    def test_me_is_the_patients_own_record(self, api_as, world):
        assert api_as(world.users["patient"]).get("/api/v1/patients/me/").json()["id"] == str(world.own.id)

    def test_the_overrides_report_counts_only_the_clinics_assessments(self, api_as, world):
        def fired(role):
            rows = api_as(world.users[role]).get("/api/v1/triage/overrides-by-rule/").json()
            return sum(row["fired"] for row in rows)

        assert (fired("staff"), fired("staff_of_b"), fired("superuser")) == (2, 1, 3)

    @pytest.mark.parametrize(
        "path",
        ["/api/v1/patients/", "/api/v1/assessments/", "/api/v1/patients/me/", "/api/v1/triage/overrides-by-rule/"],
    )
    def test_nothing_but_the_findings_is_read_without_a_token(self, anonymous_api, world, path):
        assert anonymous_api.get(path).status_code == 401
        assert anonymous_api.get("/api/v1/findings/").status_code == 200


class TestWriteScope:
    def test_a_patient_cannot_submit_for_another_patient(self, api_as, world):
        before = Assessment.objects.count()

        response = api_as(world.users["patient"]).post(
            "/api/v1/assessments/", {"patient": str(world.neighbour.id), "answers": ROUTINE}, format="json"
        )

        assert response.status_code == 400
        assert response.json()["errors"][0]["attr"] == "patient"
        assert Assessment.objects.count() == before

    def test_staff_cannot_submit_for_another_clinics_patient(self, api_as, world):
        before = Assessment.objects.count()

        response = api_as(world.users["staff"]).post(
            "/api/v1/assessments/", {"patient": str(world.elsewhere.id), "answers": ROUTINE}, format="json"
        )

        assert response.status_code == 400
        assert response.json()["errors"][0]["attr"] == "patient"
        assert Assessment.objects.count() == before

    @pytest.mark.parametrize("action", ["override", "retriage"])
    def test_another_clinics_assessment_cannot_be_overridden_or_retriaged(self, api_as, world, action):
        body = {"urgency": "emergency", "reason": "x"} if action == "override" else {}
        assessment = world.assessments["elsewhere"]

        response = api_as(world.users["staff"]).post(
            f"/api/v1/assessments/{assessment.id}/{action}/", body, format="json"
        )

        assert response.status_code == 404
        assessment.refresh_from_db()
        assert assessment.urgency == "routine" and assessment.evaluations.count() == 1

    @pytest.mark.parametrize("action", ["override", "retriage"])
    def test_a_patient_cannot_override_or_retriage_even_their_own(self, api_as, world, action):
        body = {"urgency": "routine", "reason": "x"} if action == "override" else {}
        response = api_as(world.users["patient"]).post(
            f"/api/v1/assessments/{world.assessments['own'].id}/{action}/", body, format="json"
        )

        assert response.status_code == 403

    @pytest.mark.parametrize("method", ["put", "patch", "delete"])
    def test_records_cannot_be_changed_or_deleted_through_the_api(self, api_as, world, method):
        client = api_as(world.users["superuser"])

        assert getattr(client, method)(f"/api/v1/patients/{world.own.id}/", {}, format="json").status_code == 405
        assessment_path = f"/api/v1/assessments/{world.assessments['own'].id}/"
        assert getattr(client, method)(assessment_path, {}, format="json").status_code == 405


class TestMassAssignment:
    """Fields a caller may not set are refused by name, and a refused request stores nothing."""

    NEW_PATIENT = {
        "first_name": "Juan",
        "last_name": "Pérez",
        "date_of_birth": "1980-01-31",
        "phone": "+34699111222",
        "email": "juan@example.org",
        "language": "en",
    }

    @pytest.mark.parametrize(
        "extra",
        [
            {"clinic": "other"},
            {"user": 1},
            {"created_by": 1},
            {"id": str(uuid.uuid4())},
            {"username": "x"},
            {"created_at": "2020-01-01T00:00:00Z"},
        ],
        ids=lambda extra: next(iter(extra)),
    )
    def test_patient_creation_refuses_fields_set_by_the_server(self, api_as, world, extra):
        before = Patient.objects.count()

        response = api_as(world.users["staff"]).post("/api/v1/patients/", {**self.NEW_PATIENT, **extra}, format="json")

        assert response.status_code == 400
        assert {error["attr"] for error in response.json()["errors"]} == set(extra)
        assert Patient.objects.count() == before

    @pytest.mark.parametrize(
        "extra",
        [
            {"role": "staff"},
            {"is_staff": True},
            {"is_superuser": True},
            {"clinic": "main"},
            {"user": 1},
            {"groups": [1]},
            {"user_permissions": [1]},
            {"is_active": False},
        ],
        ids=lambda extra: next(iter(extra)),
    )
    def test_registration_cannot_choose_role_staff_or_superuser(self, anonymous_api, extra):
        body = {**self.NEW_PATIENT, "username": "juanp", "password": "Lentil-Harbour-42", **extra}

        response = anonymous_api.post("/api/v1/auth/register/", body, format="json")

        assert response.status_code == 400
        assert {error["attr"] for error in response.json()["errors"]} == set(extra)
        assert not User.objects.filter(username="juanp").exists()

    def test_a_registered_user_is_a_plain_patient(self, anonymous_api):
        body = {**self.NEW_PATIENT, "username": "juanp", "password": "Lentil-Harbour-42"}

        assert anonymous_api.post("/api/v1/auth/register/", body, format="json").status_code == 201

        user = User.objects.get(username="juanp")
        assert (user.role, user.is_staff, user.is_superuser, user.clinic.slug) == (Role.PATIENT, False, False, "main")
        assert not user.user_permissions.exists() and not user.groups.exists()

    @pytest.mark.parametrize(
        "extra",
        [
            {"status": "triaged"},
            {"urgency": "routine"},
            {"submitted_by": 1},
            {"submitted_at": "2020-01-01T00:00:00Z"},
            {"triage": {"urgency": "routine"}},
            {"clinic": "main"},
            {"current_evaluation": None},
            {"id": "x"},
        ],
        ids=lambda extra: next(iter(extra)),
    )
    def test_a_patient_cannot_set_server_fields_of_an_assessment(self, api_as, world, extra):
        before = Assessment.objects.count()

        response = api_as(world.users["patient"]).post(
            "/api/v1/assessments/", {"answers": ROUTINE, **extra}, format="json"
        )

        assert response.status_code == 400
        assert {error["attr"] for error in response.json()["errors"]} == set(extra)
        assert Assessment.objects.count() == before

    def test_an_override_cannot_name_who_overrode(self, api_as, world):
        assessment = world.assessments["own"]

        response = api_as(world.users["clinician"]).post(
            f"/api/v1/assessments/{assessment.id}/override/",
            {"urgency": "urgent", "reason": "x", "overridden_by": world.users["staff"].id},
            format="json",
        )

        assert response.status_code == 400
        assert response.json()["errors"][0]["attr"] == "overridden_by"
        assessment.refresh_from_db()
        assert assessment.urgency == "routine"
