"""Partners: staff make them, the secret is shown once and stored only encrypted."""

import base64

import pytest
from django.db import connection
from django.test import override_settings
from standardwebhooks.webhooks import Webhook

from accounts.models import Role
from referrals import crypto
from referrals.models import Partner
from tests.factories import UserFactory

from .conftest import error_fields

pytestmark = pytest.mark.django_db

NEW_PARTNER = {"name": "General Hospital", "slug": "general-hospital", "specialties": ["neurosurgery", "neurology"],
               "webhook_url": "https://general.example.org/hooks"}


def test_staff_make_a_partner_and_see_its_standard_webhooks_secret_once(api_as, staff):
    client = api_as(staff)

    response = client.post("/api/v1/partners/", NEW_PARTNER, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    secret = body["webhook_secret"]
    assert secret.startswith("whsec_") and 24 <= len(base64.b64decode(secret.removeprefix("whsec_"))) <= 32
    Webhook(secret)  # the standardwebhooks library takes it as it is
    assert {k: body[k] for k in ("name", "slug", "specialties", "webhook_url", "active")} == {**NEW_PARTNER,
                                                                                             "active": True}
    listed = client.get("/api/v1/partners/").json()
    detail = client.get("/api/v1/partners/general-hospital/").json()
    by_id = client.get(f"/api/v1/partners/{body['id']}/").json()
    for shown in (listed, detail, by_id):
        assert secret not in str(shown) and "webhook_secret" not in str(shown)


def test_the_secret_is_stored_encrypted_never_in_plain_text(api_as, staff):
    secret = api_as(staff).post("/api/v1/partners/", NEW_PARTNER, format="json").json()["webhook_secret"]
    raw_key = secret.removeprefix("whsec_")

    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM referrals_partner")
        rows = [" ".join(str(value) for value in row) for row in cursor.fetchall()]
        cursor.execute("SELECT * FROM referrals_historicalpartner")
        history = [" ".join(str(value) for value in row) for row in cursor.fetchall()]

    assert rows and history
    for row in rows + history:
        assert secret not in row and raw_key not in row
    stored = Partner.objects.get(slug="general-hospital").webhook_secret_encrypted
    assert crypto.secret_decrypt(stored) == secret


def test_the_encryption_key_comes_from_field_encryption_key_and_can_be_changed(api_as, staff):
    with override_settings(FIELD_ENCRYPTION_KEY=["old material"]):
        secret = api_as(staff).post("/api/v1/partners/", NEW_PARTNER, format="json").json()["webhook_secret"]
    partner = Partner.objects.get()

    with override_settings(FIELD_ENCRYPTION_KEY=["new material"]), pytest.raises(crypto.SecretUnreadable):
        crypto.secret_decrypt(partner.webhook_secret_encrypted)
    with override_settings(FIELD_ENCRYPTION_KEY=["new material", "old material"]):
        from referrals.actions import partners_reencrypt_secrets

        assert partners_reencrypt_secrets() == 1
    partner.refresh_from_db()
    with override_settings(FIELD_ENCRYPTION_KEY=["new material"]):
        assert crypto.secret_decrypt(partner.webhook_secret_encrypted) == secret


def test_rotating_the_secret_shows_a_new_one_once(api_as, staff, partner):
    response = api_as(staff).post(f"/api/v1/partners/{partner.slug}/rotate-secret/")

    assert response.status_code == 200
    new = response.json()["webhook_secret"]
    assert new.startswith("whsec_") and new != partner.secret
    partner.partner.refresh_from_db()
    assert crypto.secret_decrypt(partner.partner.webhook_secret_encrypted) == new
    assert crypto.secret_decrypt(partner.partner.previous_webhook_secret_encrypted) == partner.secret


@pytest.mark.parametrize(("change", "field"), [
    ({"slug": "Not A Slug"}, "slug"),
    ({"specialties": []}, "specialties"),
    ({"specialties": ["dentistry"]}, "specialties.0"),
    ({"specialties": ["neurology", "neurology"]}, "specialties"),
    ({"specialties": "neurology"}, "specialties"),
    ({"webhook_url": "ftp://x.example.org/"}, "webhook_url"),
    ({"webhook_url": "not a url"}, "webhook_url"),
    ({"name": 12}, "name"),
    ({"active": "yes"}, "active"),
    ({"webhook_secret": "whsec_mine"}, "webhook_secret"),
])
def test_an_invalid_partner_is_a_400_naming_the_field_and_nothing_is_stored(api_as, staff, change, field):
    response = api_as(staff).post("/api/v1/partners/", {**NEW_PARTNER, **change}, format="json")

    assert response.status_code == 400
    assert field in error_fields(response)
    assert not Partner.objects.exists()


def test_a_taken_slug_is_a_400_naming_slug(api_as, staff, partner):
    response = api_as(staff).post("/api/v1/partners/", {**NEW_PARTNER, "slug": partner.slug}, format="json")

    assert response.status_code == 400 and error_fields(response) == {"slug"}


def test_staff_change_a_partner_but_not_its_slug(api_as, staff, partner):
    client = api_as(staff)

    changed = client.patch(f"/api/v1/partners/{partner.slug}/", {"active": False, "specialties": ["neurology"]},
                           format="json")
    refused = client.patch(f"/api/v1/partners/{partner.slug}/", {"slug": "renamed"}, format="json")

    assert changed.status_code == 200 and changed.json()["active"] is False
    assert changed.json()["specialties"] == ["neurology"]
    assert refused.status_code == 400 and "slug" in error_fields(refused)


@pytest.mark.parametrize("role", [Role.PATIENT, Role.PARTNER, Role.CLINICIAN])
def test_only_staff_make_partners(api_as, clinic, role):
    user = UserFactory(role=role, clinic=clinic)

    assert api_as(user).post("/api/v1/partners/", NEW_PARTNER, format="json").status_code == 403
    assert not Partner.objects.exists()


@pytest.mark.parametrize(("role", "status"), [(Role.PATIENT, 403), (Role.PARTNER, 403), (Role.CLINICIAN, 200),
                                              (Role.STAFF, 200)])
def test_clinicians_and_staff_read_partners_patients_do_not(api_as, clinic, partner, role, status):
    user = UserFactory(role=role, clinic=clinic)

    assert api_as(user).get("/api/v1/partners/").status_code == status


def test_an_anonymous_caller_is_refused(anonymous_api):
    assert anonymous_api.get("/api/v1/partners/").status_code == 401
