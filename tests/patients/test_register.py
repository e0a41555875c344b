import pytest

from accounts.models import User
from patients.models import Patient

pytestmark = pytest.mark.django_db


def registration(**changes) -> dict:
    body = {
        "username": "maria", "password": "Long-enough-Pw-42", "first_name": "María", "last_name": "López",
        "date_of_birth": "1968-03-02", "phone": "+34612345678", "email": "maria@example.org", "language": "es",
    }
    return {**body, **changes}


def test_a_patient_registers_logs_in_and_reads_their_own_record(anonymous_api, clinic):
    created = anonymous_api.post("/api/v1/auth/register/", registration(), format="json")
    assert created.status_code == 201, created.json()

    tokens = anonymous_api.post("/api/v1/auth/token/", {"username": "maria", "password": "Long-enough-Pw-42"},
                                format="json").json()
    anonymous_api.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    me = anonymous_api.get("/api/v1/patients/me/").json()

    assert me["id"] == created.json()["id"]
    assert me["phone"] == "+34612345678"
    assert me["language"] == "es"
    assert User.objects.get(username="maria").role == "patient"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"phone": "612345678"}, "phone"),
        ({"phone": "+1 555"}, "phone"),
        ({"phone": 34612345678}, "phone"),
        ({"language": "fr"}, "language"),
        ({"date_of_birth": "02/03/1968"}, "date_of_birth"),
        ({"date_of_birth": "2999-01-01"}, "date_of_birth"),
        ({"email": "not-an-email"}, "email"),
        ({"first_name": 42}, "first_name"),
        ({"password": "short"}, "password"),
        ({"favourite_colour": "blue"}, "favourite_colour"),
    ],
)
def test_bad_registration_input_is_a_400_naming_the_field_and_stores_nothing(anonymous_api, clinic, changes, field):
    response = anonymous_api.post("/api/v1/auth/register/", registration(**changes), format="json")

    assert response.status_code == 400
    assert field in {error["attr"] for error in response.json()["errors"]}
    assert not User.objects.filter(username="maria").exists()
    assert not Patient.objects.exists()


def test_a_missing_field_is_named(anonymous_api, clinic):
    body = registration()
    del body["phone"]

    response = anonymous_api.post("/api/v1/auth/register/", body, format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "phone"


def test_a_duplicate_username_is_a_400_naming_username(anonymous_api, clinic):
    assert anonymous_api.post("/api/v1/auth/register/", registration(), format="json").status_code == 201

    again = anonymous_api.post("/api/v1/auth/register/", registration(username="MARIA", email="b@example.org"),
                               format="json")

    assert again.status_code == 400
    assert again.json()["errors"][0]["attr"] == "username"
    assert Patient.objects.count() == 1


def test_malformed_json_is_a_400_not_a_500(anonymous_api, clinic):
    response = anonymous_api.generic("POST", "/api/v1/auth/register/", '{"username": ', content_type="application/json")

    assert response.status_code == 400
