import pytest

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def test_a_user_gets_an_access_and_a_refresh_token_for_the_right_password(anonymous_api, staff):
    response = anonymous_api.post("/api/v1/auth/token/", {"username": staff.username, "password": PASSWORD},
                                  format="json")

    assert response.status_code == 200
    assert set(response.json()) >= {"access", "refresh"}


def test_a_wrong_password_gets_401_and_no_token(anonymous_api, staff):
    response = anonymous_api.post("/api/v1/auth/token/", {"username": staff.username, "password": "nope"},
                                  format="json")

    assert response.status_code == 401
    assert "access" not in response.json()


def test_a_refresh_token_gives_a_new_access_token_and_rotates(anonymous_api, staff):
    tokens = anonymous_api.post("/api/v1/auth/token/", {"username": staff.username, "password": PASSWORD},
                                format="json").json()

    refreshed = anonymous_api.post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]}, format="json")
    reused = anonymous_api.post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]}, format="json")

    assert refreshed.status_code == 200
    assert "access" in refreshed.json()
    assert reused.status_code == 401, "a rotated refresh token must not be usable twice"


def test_the_access_token_authenticates_api_calls(anonymous_api, clinic):
    user = UserFactory(role="patient", clinic=clinic)
    tokens = anonymous_api.post("/api/v1/auth/token/", {"username": user.username, "password": PASSWORD},
                                format="json").json()
    anonymous_api.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")

    assert anonymous_api.get("/api/v1/assessments/").status_code == 200


@pytest.mark.parametrize("header", ["Bearer not-a-token", "Bearer ", "Basic abc"])
def test_an_invalid_credential_gets_401(anonymous_api, header):
    anonymous_api.credentials(HTTP_AUTHORIZATION=header)

    assert anonymous_api.get("/api/v1/assessments/").status_code == 401
