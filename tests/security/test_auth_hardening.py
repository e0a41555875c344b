"""Throttling, lockout after failed logins, token lifetimes and password rules, attacked."""

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from axes.models import AccessAttempt
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import User
from patients.models import Patient
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
TOKEN = "/api/v1/auth/token/"
REFRESH = "/api/v1/auth/token/refresh/"
REGISTER = "/api/v1/auth/register/"


def login(client: APIClient, username: str, password: str, **extra):
    return client.post(TOKEN, {"username": username, "password": password}, format="json", **extra)


def registration(n: int, **changes) -> dict:
    body = {
        "username": f"newpatient{n}",
        "password": "Lentil-Harbour-42",
        "first_name": "Lucía",
        "last_name": "Moreno",
        "date_of_birth": "1984-03-09",
        "phone": f"+3469900{n:04d}",
        "email": f"lucia{n}@example.org",
        "language": "es",
    }
    return {**body, **changes}


def assert_problem(response, status: int, code: str) -> None:
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["status"] == status
    assert body["errors"][0]["code"] == code


class TestThrottling:
    def test_the_token_endpoint_is_throttled_per_ip_with_a_problem_response(self, throttle_rates, staff):
        throttle_rates(auth="3/min")
        client = APIClient()

        answers = [login(client, staff.username, "wrong-password").status_code for _ in range(3)]
        throttled = login(client, staff.username, PASSWORD)

        assert answers == [401, 401, 401]
        assert_problem(throttled, 429, "throttled")
        assert int(throttled["Retry-After"]) > 0
        other_address = login(client, staff.username, PASSWORD, REMOTE_ADDR="198.51.100.7")
        assert other_address.status_code == 200, "the limit is per client address"

    def test_a_forged_x_forwarded_for_does_not_escape_the_ip_throttle(self, throttle_rates, staff):
        throttle_rates(auth="2/min")
        client = APIClient()

        answers = [
            login(client, staff.username, "wrong-password", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code
            for n in range(3)
        ]

        assert answers == [401, 401, 429]

    def test_refresh_has_its_own_scope(self, throttle_rates, staff):
        throttle_rates(auth_refresh="2/min")
        client = APIClient()

        answers = [client.post(REFRESH, {"refresh": "not-a-token"}, format="json").status_code for _ in range(3)]

        assert answers == [401, 401, 429]
        assert login(client, staff.username, PASSWORD).status_code == 200, "logging in is another scope"

    def test_registration_is_throttled_per_ip_and_a_throttled_one_stores_nothing(self, throttle_rates):
        throttle_rates(register="2/hour")
        client = APIClient()

        answers = [client.post(REGISTER, registration(n), format="json").status_code for n in range(3)]

        assert answers == [201, 201, 429]
        assert not User.objects.filter(username="newpatient2").exists()
        assert Patient.objects.count() == 2

    def test_authenticated_calls_are_throttled_per_user(self, throttle_rates, api_as, staff, clinician):
        throttle_rates(user="3/min")
        client = api_as(staff)

        answers = [client.get("/api/v1/patients/").status_code for _ in range(4)]

        assert answers == [200, 200, 200, 429]
        assert api_as(clinician).get("/api/v1/patients/").status_code == 200, "another user has their own budget"

    def test_anonymous_calls_are_throttled_per_ip(self, throttle_rates):
        throttle_rates(anon="2/min")
        client = APIClient()

        answers = [client.get("/api/v1/findings/").status_code for _ in range(3)]

        assert answers == [200, 200, 429]

    def test_the_rates_are_read_from_the_environment(self):
        script = "from django.conf import settings; print(settings.REST_FRAMEWORK['DEFAULT_THROTTLE_RATES'])"
        result = subprocess.run(
            [sys.executable, "-c", f"import django; django.setup(); {script}"],
            env={
                "PATH": "/usr/bin:/bin",
                "DJANGO_SETTINGS_MODULE": "services.settings.base",
                "VAR_DIR": "/tmp/footdrop-settings-check",
                "THROTTLE_AUTH": "7/min",
                "THROTTLE_AUTH_REFRESH": "8/min",
                "THROTTLE_REGISTER": "9/hour",
                "THROTTLE_ANON": "10/min",
                "THROTTLE_USER": "11/min",
            },
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == str(
            {"anon": "10/min", "user": "11/min", "auth": "7/min", "auth_refresh": "8/min", "register": "9/hour"}
        )


class TestLockout:
    def test_repeated_failed_logins_lock_the_username_from_that_address(self, lockout, staff):
        client = APIClient()

        answers = [login(client, staff.username, "wrong-password") for _ in range(3)]
        with_the_right_password = login(client, staff.username, PASSWORD)

        assert [answer.status_code for answer in answers[:2]] == [401, 401]
        assert_problem(answers[2], 429, "locked_out")
        assert_problem(with_the_right_password, 429, "locked_out")
        assert "access" not in with_the_right_password.json()
        assert int(with_the_right_password["Retry-After"]) == 15 * 60

    def test_the_lockout_is_per_username_and_address_together(self, lockout, staff, clinician):
        client = APIClient()
        for _ in range(3):
            login(client, staff.username, "wrong-password")

        assert login(client, staff.username, PASSWORD, REMOTE_ADDR="198.51.100.7").status_code == 200
        assert login(client, clinician.username, PASSWORD).status_code == 200

    def test_the_lockout_ends_after_the_cool_off(self, lockout, staff):
        client = APIClient()
        for _ in range(3):
            login(client, staff.username, "wrong-password")

        with time_machine.travel(timezone.now() + timedelta(minutes=16)):
            assert login(client, staff.username, PASSWORD).status_code == 200

    def test_a_successful_login_resets_the_failures(self, lockout, staff):
        client = APIClient()
        for _ in range(2):
            login(client, staff.username, "wrong-password")
        assert login(client, staff.username, PASSWORD).status_code == 200

        answers = [login(client, staff.username, "wrong-password").status_code for _ in range(2)]

        assert answers == [401, 401], "the count started again"

    def test_failures_are_recorded_without_the_password(self, lockout, staff):
        login(APIClient(), staff.username, "Secret-Guess-123")

        attempt = AccessAttempt.objects.get()
        assert attempt.username == staff.username
        assert attempt.failures_since_start == 1
        assert "Secret-Guess-123" not in f"{attempt.get_data} {attempt.post_data}"

    def test_the_admin_login_locks_out_with_a_json_problem_not_html(self, lockout, client):
        admin = UserFactory(is_staff=True, is_superuser=True)
        answers = [
            client.post("/admin/login/", {"username": admin.username, "password": "wrong-password"}) for _ in range(3)
        ]

        response = client.post("/admin/login/", {"username": admin.username, "password": PASSWORD})

        assert [answer.status_code for answer in answers[:2]] == [200, 200], "the form again, with an error"
        assert_problem(answers[2], 429, "locked_out")
        assert_problem(response, 429, "locked_out")
        assert "_auth_user_id" not in client.session


class TestTokens:
    def test_access_tokens_live_fifteen_minutes(self, staff):
        tokens = login(APIClient(), staff.username, PASSWORD).json()

        access = AccessToken(tokens["access"])

        assert access["exp"] - access["iat"] == 15 * 60

    def test_an_expired_access_token_is_refused(self, staff):
        tokens = login(APIClient(), staff.username, PASSWORD).json()
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")

        with time_machine.travel(timezone.now() + timedelta(minutes=16)):
            response = client.get("/api/v1/patients/")

        assert response.status_code == 401

    def test_refresh_rotates_and_the_old_refresh_token_is_dead(self, staff):
        client = APIClient()
        first = login(client, staff.username, PASSWORD).json()

        second = client.post(REFRESH, {"refresh": first["refresh"]}, format="json").json()
        replayed = client.post(REFRESH, {"refresh": first["refresh"]}, format="json")

        assert set(second) == {"access", "refresh"}
        assert second["refresh"] != first["refresh"]
        assert replayed.status_code == 401
        assert client.post(REFRESH, {"refresh": second["refresh"]}, format="json").status_code == 200

    def test_a_refresh_token_expires_after_a_day(self, staff):
        tokens = login(APIClient(), staff.username, PASSWORD).json()

        with time_machine.travel(timezone.now() + timedelta(days=1, minutes=1)):
            response = APIClient().post(REFRESH, {"refresh": tokens["refresh"]}, format="json")

        assert response.status_code == 401

    def test_a_refresh_token_is_not_an_access_token(self, staff):
        tokens = login(APIClient(), staff.username, PASSWORD).json()
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['refresh']}")

        assert client.get("/api/v1/patients/").status_code == 401

    def test_a_token_login_is_a_login(self, staff):
        assert staff.last_login is None

        login(APIClient(), staff.username, PASSWORD)

        staff.refresh_from_db()
        assert staff.last_login is not None

    def test_an_inactive_user_gets_no_token(self, staff):
        staff.is_active = False
        staff.save()

        assert login(APIClient(), staff.username, PASSWORD).status_code == 401


class TestPasswords:
    @pytest.mark.parametrize(
        "password",
        ["short-1A", "password123", "1234567890123", "newpatient1-x"],
        ids=["too-short", "common", "numeric", "like-the-username"],
    )
    def test_registration_refuses_weak_passwords_and_stores_nothing(self, password):
        response = APIClient().post(REGISTER, registration(1, password=password), format="json")

        assert response.status_code == 400
        assert response.json()["errors"][0]["attr"] == "password"
        assert not User.objects.filter(username="newpatient1").exists()
        assert not Patient.objects.exists()
