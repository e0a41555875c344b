"""Staff's admin: the same actions as the API, recorded as made from the admin; secrets shown once."""

import re

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME

from referrals import crypto
from referrals.models import Partner, PartnerWebhookEvent, Referral, WebhookOutcome

from .conftest import event, post_event

pytestmark = pytest.mark.django_db

SECRET = re.compile(r"whsec_[A-Za-z0-9+/=]+")


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


def test_a_partner_made_in_the_admin_shows_its_secret_once_and_stores_it_encrypted(admin_client):
    response = admin_client.post("/admin/referrals/partner/add/", {
        "name": "Admin Hospital", "slug": "admin-hospital", "specialties": ["neurology", "physiotherapy"],
        "webhook_url": "", "active": "on",
    })

    assert response.status_code == 200, response.content[:500]
    assert "no-store" in response["Cache-Control"]
    secret = SECRET.search(response.content.decode()).group(0)
    partner = Partner.objects.get(slug="admin-hospital")
    assert crypto.secret_decrypt(partner.webhook_secret_encrypted) == secret
    assert partner.specialties == ["neurology", "physiotherapy"]
    change_page = admin_client.get(f"/admin/referrals/partner/{partner.pk}/change/").content.decode()
    assert secret not in change_page and "Rotate the secret" in change_page


def test_rotating_in_the_admin_shows_the_new_secret_once(admin_client, partner):
    assert admin_client.get(f"/admin/referrals/partner/{partner.partner.pk}/rotate-secret/").status_code == 200

    response = admin_client.post(f"/admin/referrals/partner/{partner.partner.pk}/rotate-secret/")

    new = SECRET.search(response.content.decode()).group(0)
    assert new != partner.secret
    partner.partner.refresh_from_db()
    assert crypto.secret_decrypt(partner.partner.webhook_secret_encrypted) == new


def test_staff_send_a_referral_from_the_admin_recorded_as_admin(admin_client, superuser, referral, partner):
    page = admin_client.get(f"/admin/referrals/referral/{referral.pk}/move/")
    assert page.status_code == 200 and "Send to a partner" in page.content.decode()

    response = admin_client.post(f"/admin/referrals/referral/{referral.pk}/move/",
                                 {"move": "send", "partner": partner.partner.pk})

    assert response.status_code == 302
    referral.refresh_from_db()
    last = referral.events.last()
    assert (referral.status, last.source, last.by) == ("sent", "admin", superuser)


def test_the_admin_offers_only_the_moves_the_machine_allows(admin_client, sent_referral):
    page = admin_client.get(f"/admin/referrals/referral/{sent_referral.pk}/move/").content.decode()

    assert 'value="accept"' in page and 'value="decline"' in page and 'value="cancel"' in page
    assert 'value="complete"' not in page and 'value="send"' not in page
    refused = admin_client.post(f"/admin/referrals/referral/{sent_referral.pk}/move/", {"move": "complete"})
    assert refused.status_code == 200  # the form again, with the error
    assert Referral.objects.get(pk=sent_referral.pk).status == "sent"


def test_a_decline_from_the_admin_needs_a_reason(admin_client, sent_referral):
    response = admin_client.post(f"/admin/referrals/referral/{sent_referral.pk}/move/",
                                 {"move": "decline", "reason_code": "no_capacity"})

    assert response.status_code == 200 and "Say why" in response.content.decode()
    assert Referral.objects.get(pk=sent_referral.pk).status == "sent"


def test_cancelling_from_the_changelist_asks_for_a_reason(admin_client, referral):
    ask = admin_client.post("/admin/referrals/referral/", {"action": "cancel_selected",
                                                           ACTION_CHECKBOX_NAME: [referral.pk]})
    assert ask.status_code == 200 and Referral.objects.get(pk=referral.pk).status == "proposed"

    done = admin_client.post("/admin/referrals/referral/", {"action": "cancel_selected", "apply": "1",
                                                            ACTION_CHECKBOX_NAME: [referral.pk],
                                                            "reason": "Duplicate referral"})

    assert done.status_code == 302
    referral.refresh_from_db()
    assert referral.status == "cancelled" and referral.events.last().source == "admin"


def test_the_inbox_lists_events_kept_for_review_and_replays_them(admin_client, anonymous_api, partner,
                                                                  sent_referral):
    post_event(anonymous_api, partner, event("appointment.no_show", sent_referral.pk))
    kept = PartnerWebhookEvent.objects.get()
    inbox = admin_client.get("/admin/referrals/partnerwebhookevent/?outcome__exact=kept_for_review")
    assert inbox.status_code == 200 and kept.webhook_id in inbox.content.decode()
    assert admin_client.get(f"/admin/referrals/partnerwebhookevent/{kept.pk}/change/").status_code == 200

    admin_client.post("/admin/referrals/partnerwebhookevent/", {"action": "replay_selected",
                                                                ACTION_CHECKBOX_NAME: [kept.pk]})

    kept.refresh_from_db()
    assert kept.outcome == WebhookOutcome.KEPT_FOR_REVIEW  # still refused: sent -> no_show
    assert Referral.objects.get(pk=sent_referral.pk).status == "sent"


def test_admin_pages_for_referrals_and_deliveries_render(admin_client, sent_referral):
    for url in ("/admin/referrals/referral/", f"/admin/referrals/referral/{sent_referral.pk}/change/",
                "/admin/referrals/referral/?overdue=yes", "/admin/referrals/webhookdelivery/",
                "/admin/referrals/partner/"):
        assert admin_client.get(url).status_code == 200, url
