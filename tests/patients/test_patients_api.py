import pytest

from accounts.models import Role
from patients.models import Patient
from tests.factories import ClinicFactory, PatientFactory, UserFactory

pytestmark = pytest.mark.django_db


def new_patient(**changes) -> dict:
    body = {"first_name": "Juan", "last_name": "Pérez", "date_of_birth": "1980-01-31", "phone": "+34699111222",
            "email": "juan@example.org", "language": "en", "external_id": "MRN-1"}
    return {**body, **changes}


@pytest.mark.parametrize("role", [Role.CLINICIAN, Role.STAFF])
def test_clinicians_and_staff_register_patients_in_their_clinic(api_as, clinic, role):
    user = UserFactory(role=role, clinic=clinic)

    response = api_as(user).post("/api/v1/patients/", new_patient(), format="json")

    assert response.status_code == 201
    assert Patient.objects.get(pk=response.json()["id"]).clinic == clinic


def test_a_patient_may_not_create_patients(api_as, patient_user):
    response = api_as(patient_user).post("/api/v1/patients/", new_patient(), format="json")

    assert response.status_code == 403
    assert Patient.objects.count() == 1


def test_a_partner_account_sees_no_patient(api_as, patient, clinic):
    partner = UserFactory(role=Role.PARTNER, clinic=None)

    assert api_as(partner).get(f"/api/v1/patients/{patient.id}/").status_code in (403, 404)
    assert api_as(partner).get("/api/v1/patients/").status_code == 403


def test_staff_see_only_their_clinics_patients(api_as, staff, patient):
    elsewhere = PatientFactory(clinic=ClinicFactory())
    client = api_as(staff)

    listed = [row["id"] for row in client.get("/api/v1/patients/").json()["results"]]

    assert listed == [str(patient.id)]
    assert client.get(f"/api/v1/patients/{elsewhere.id}/").status_code == 404


def test_a_patient_reads_only_their_own_record(api_as, patient_user, patient):
    client = api_as(patient_user)

    assert client.get(f"/api/v1/patients/{patient_user.patient.id}/").status_code == 200
    assert client.get(f"/api/v1/patients/{patient.id}/").status_code == 404


def test_me_is_only_for_patients(api_as, staff):
    assert api_as(staff).get("/api/v1/patients/me/").status_code == 403


def test_a_duplicate_external_id_in_a_clinic_is_a_400_naming_it(api_as, staff):
    client = api_as(staff)
    assert client.post("/api/v1/patients/", new_patient(), format="json").status_code == 201

    again = client.post("/api/v1/patients/", new_patient(phone="+34699111333"), format="json")

    assert again.status_code == 400
    assert again.json()["errors"][0]["attr"] == "external_id"
    assert Patient.objects.count() == 1


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"phone": "0034699111222"}, "phone"), ({"language": "de"}, "language"), ({"clinic": "x"}, "clinic"),
     ({"date_of_birth": 1980}, "date_of_birth")],
)
def test_bad_patient_input_is_rejected_naming_the_field(api_as, staff, changes, field):
    response = api_as(staff).post("/api/v1/patients/", new_patient(**changes), format="json")

    assert response.status_code == 400
    assert field in {error["attr"] for error in response.json()["errors"]}
    assert not Patient.objects.exists()
