"""The escalation and on-call API, the acknowledgement link, and Twilio's webhooks: HTTP in, actions behind."""

import re
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from notifications.actions import escalation_open, notification_deliver
from notifications.links import ack_token
from notifications.models import Escalation, Notification, OnCallContact
from tests.factories import ClinicFactory, PatientFactory, UserFactory

from .conftest import contact, emergency_assessment, twilio_signature

pytestmark = pytest.mark.django_db

CONTACT = {"name": "Dr Ruiz", "phone": "+34661234567", "email": "ruiz@example.org", "tier": 1, "active": True}


@pytest.fixture
def escalation(patient, staff):
    contact(1)
    return escalation_open(assessment=emergency_assessment(patient, staff))


# --------------------------------------------------------------------------- on-call contacts


def test_staff_manage_on_call_contacts(api_as, staff):
    client = api_as(staff)

    created = client.post("/api/v1/oncall-contacts/", CONTACT, format="json")
    assert created.status_code == 201
    body = created.json()
    assert {k: body[k] for k in CONTACT} == CONTACT
    assert body["language"] == "en"

    url = f"/api/v1/oncall-contacts/{body['id']}/"
    assert client.get(url).json()["phone"] == "+34661234567"
    assert client.get("/api/v1/oncall-contacts/").json()["count"] == 1
    patched = client.patch(url, {"active": False, "tier": 2}, format="json")
    assert (patched.status_code, patched.json()["active"], patched.json()["tier"]) == (200, False, 2)
    assert client.delete(url).status_code == 204
    assert not OnCallContact.objects.exists()


@pytest.mark.parametrize("role", [Role.PATIENT, Role.CLINICIAN])
def test_only_staff_may_see_or_change_the_rota(api_as, clinic, role):
    client = api_as(UserFactory(role=role, clinic=clinic))

    assert client.get("/api/v1/oncall-contacts/").status_code == 403
    assert client.post("/api/v1/oncall-contacts/", CONTACT, format="json").status_code == 403
    assert not OnCallContact.objects.exists()


def test_a_patient_is_refused_with_403(api_as, patient_user):
    assert api_as(patient_user).get("/api/v1/oncall-contacts/").status_code == 403


@pytest.mark.parametrize(("change", "field"), [
    ({"phone": "661234567"}, "phone"), ({"phone": "+1555"}, "phone"), ({"email": "nope"}, "email"),
    ({"tier": "1"}, "tier"), ({"tier": 0}, "tier"), ({"tier": True}, "tier"), ({"active": "yes"}, "active"),
    ({"language": "fr"}, "language"), ({"pager": "123"}, "pager"),
])
def test_an_invalid_contact_is_refused_naming_the_field(api_as, staff, change, field):
    response = api_as(staff).post("/api/v1/oncall-contacts/", {**CONTACT, **change}, format="json")

    assert response.status_code == 400
    assert field in response.content.decode()
    assert not OnCallContact.objects.exists()


# --------------------------------------------------------------------------- escalations


def test_the_escalation_shows_its_tier_and_every_notification(api_as, clinician, escalation, fake_twilio):
    notification_deliver(notification_id=escalation.notifications.get(channel="sms").pk)

    body = api_as(clinician).get(f"/api/v1/escalations/{escalation.pk}/").json()

    assert body["id"] == str(escalation.pk)
    assert body["assessment"] == str(escalation.assessment_id)
    assert (body["status"], body["tier"], body["case_code"]) == ("open", 1, escalation.case_code)
    assert body["acknowledged_at"] is None and body["acknowledged_by"] is None
    by_channel = {n["channel"]: n for n in body["notifications"]}
    assert set(by_channel) == {"sms", "email"}
    assert (by_channel["sms"]["status"], by_channel["sms"]["attempts"]) == ("sent", 1)
    assert by_channel["sms"]["sent_at"] is not None
    assert (by_channel["email"]["status"], by_channel["email"]["sent_at"]) == ("queued", None)
    assert "body" not in by_channel["sms"], "the body carries a signed link: never in the API"


def test_the_escalation_list_reads_its_notifications_once_whatever_their_number(api_as, clinician, patient, staff):
    contact(1), contact(1), contact(2)
    for _ in range(3):
        escalation_open(assessment=emergency_assessment(PatientFactory(clinic=patient.clinic), staff))
    client = api_as(clinician)

    with CaptureQueriesContext(connection) as queries:
        body = client.get("/api/v1/escalations/").json()

    assert [len(row["notifications"]) for row in body["results"]] == [4, 4, 4]
    reads = [query["sql"] for query in queries.captured_queries
             if query["sql"].startswith("SELECT") and '"notifications_notification"' in query["sql"]]
    assert len(reads) == 1, reads  # a column the page shows but does not load would read each row again


def test_escalations_are_scoped_to_the_clinic_and_filtered_by_status(api_as, clinician, escalation, superuser):
    elsewhere = PatientFactory(clinic=ClinicFactory())
    other = escalation_open(assessment=emergency_assessment(elsewhere, superuser))
    Escalation.objects.filter(pk=other.pk).update(status="exhausted")

    mine = api_as(clinician).get("/api/v1/escalations/").json()
    everything = api_as(superuser).get("/api/v1/escalations/?status=exhausted").json()

    assert [e["id"] for e in mine["results"]] == [str(escalation.pk)]
    assert [e["id"] for e in everything["results"]] == [str(other.pk)]
    assert api_as(clinician).get(f"/api/v1/escalations/{other.pk}/").status_code == 404
    assert api_as(clinician).get("/api/v1/escalations/?status=lost").status_code == 400


def test_a_patient_may_not_see_escalations(api_as, patient_user, escalation):
    assert api_as(patient_user).get("/api/v1/escalations/").status_code == 403
    assert api_as(patient_user).post(f"/api/v1/escalations/{escalation.pk}/acknowledge/", {}, format="json"
                                     ).status_code == 403


def test_acknowledging_by_api_returns_200_and_twice_changes_nothing(api_as, clinician, staff, escalation):
    first = api_as(clinician).post(f"/api/v1/escalations/{escalation.pk}/acknowledge/", {}, format="json")
    second = api_as(staff).post(f"/api/v1/escalations/{escalation.pk}/acknowledge/", {"note": "mine"}, format="json")

    assert first.status_code == second.status_code == 200
    assert first.json()["status"] == "acknowledged"
    assert first.json()["acknowledged_by"] == {"kind": "user", "id": str(clinician.pk), "name": clinician.username}
    assert (second.json()["acknowledged_at"], second.json()["acknowledged_by"]) == (
        first.json()["acknowledged_at"], first.json()["acknowledged_by"]
    )


def test_acknowledging_another_clinics_escalation_is_404(api_as, superuser):
    contact(1)
    elsewhere = escalation_open(assessment=emergency_assessment(PatientFactory(clinic=ClinicFactory()), superuser))
    clinician = UserFactory(role=Role.CLINICIAN, clinic=UserFactory().clinic)

    assert api_as(clinician).post(f"/api/v1/escalations/{elsewhere.pk}/acknowledge/", {}, format="json"
                                  ).status_code == 404
    assert Escalation.objects.get(pk=elsewhere.pk).status == "open"


def test_an_unknown_field_in_an_acknowledgement_is_400(api_as, clinician, escalation):
    response = api_as(clinician).post(f"/api/v1/escalations/{escalation.pk}/acknowledge/", {"by": 1}, format="json")

    assert response.status_code == 400
    assert Escalation.objects.get(pk=escalation.pk).status == "open"


# --------------------------------------------------------------------------- the signed link


def test_the_link_shows_a_confirmation_then_acknowledges_once(escalation):
    sms = escalation.notifications.get(channel="sms")
    url = f"/api/v1/escalations/ack/{ack_token(sms.pk)}/"
    browser = Client()

    shown = browser.get(url)
    assert shown.status_code == 200
    assert f"case {escalation.case_code}" in shown.content.decode()
    assert "<form" in shown.content.decode()
    assert Escalation.objects.get(pk=escalation.pk).status == "open", "a link preview must not acknowledge"

    done = browser.post(url)
    assert done.status_code == 200
    assert "you own case" in done.content.decode()
    assert Escalation.objects.get(pk=escalation.pk).acknowledged_via == "link"

    again = browser.post(url)
    assert "already acknowledged" in again.content.decode()
    assert "already acknowledged" in browser.get(url).content.decode()


def test_a_tampered_link_is_refused(escalation):
    token = ack_token(escalation.notifications.first().pk)

    response = Client().post(f"/api/v1/escalations/ack/{token[:-3]}abc/")

    assert response.status_code == 400
    assert Escalation.objects.get(pk=escalation.pk).status == "open"


# --------------------------------------------------------------------------- Twilio webhooks


def twilio_post(path, params, signature=None):
    """As Twilio posts: a urlencoded form, signed over our public URL and the form."""
    signature = twilio_signature(path, params) if signature is None else signature
    return Client().post(path, urlencode(params), content_type="application/x-www-form-urlencoded",
                         HTTP_X_TWILIO_SIGNATURE=signature)


STATUS_PATH = "/api/v1/webhooks/twilio/status/"
INBOUND_PATH = "/api/v1/webhooks/twilio/inbound/"


def test_a_signed_status_callback_marks_the_sms_delivered(escalation, fake_twilio):
    sms = escalation.notifications.get(channel="sms")
    notification_deliver(notification_id=sms.pk)
    sid = Notification.objects.get(pk=sms.pk).provider_id

    response = twilio_post(STATUS_PATH, {"MessageSid": sid, "MessageStatus": "delivered", "AccountSid": "ACtest"})

    assert response.status_code == 200
    assert Notification.objects.get(pk=sms.pk).status == "delivered"


def test_a_status_callback_with_a_bad_signature_is_refused_and_changes_nothing(escalation, fake_twilio):
    sms = escalation.notifications.get(channel="sms")
    notification_deliver(notification_id=sms.pk)
    params = {"MessageSid": Notification.objects.get(pk=sms.pk).provider_id, "MessageStatus": "failed"}

    assert twilio_post(STATUS_PATH, params, signature="forged").status_code == 403
    assert twilio_post(STATUS_PATH, params, signature="").status_code == 403
    assert Notification.objects.get(pk=sms.pk).status == "sent"


def test_a_status_callback_for_an_unknown_sid_gets_200_so_twilio_stops(db):
    response = twilio_post(STATUS_PATH, {"MessageSid": "SMnever", "MessageStatus": "delivered"})

    assert response.status_code == 200


def test_an_sms_reply_acknowledges_and_answers_in_twiml(escalation):
    sms = escalation.notifications.get(channel="sms")

    response = twilio_post(INBOUND_PATH, {"MessageSid": "SMin1", "From": sms.recipient,
                                          "Body": f"ACK {escalation.case_code}"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/xml")
    assert re.search(rf"<Message>Acknowledged: case {escalation.case_code} is yours", response.content.decode())
    assert Escalation.objects.get(pk=escalation.pk).acknowledged_via == "sms"


def test_an_sms_reply_with_a_bad_signature_acknowledges_nothing(escalation):
    sms = escalation.notifications.get(channel="sms")

    response = twilio_post(INBOUND_PATH, {"MessageSid": "SMin2", "From": sms.recipient,
                                          "Body": f"ACK {escalation.case_code}"}, signature="forged")

    assert response.status_code == 403
    assert Escalation.objects.get(pk=escalation.pk).status == "open"


def test_a_webhook_missing_its_fields_is_400(db):
    assert twilio_post(INBOUND_PATH, {"Body": "ACK 1234"}).status_code == 400


# --------------------------------------------------------------------------- schema


def test_the_openapi_schema_describes_the_escalation_endpoints(api_as, staff):
    schema = api_as(staff).get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()

    for path in ("/api/v1/oncall-contacts/", "/api/v1/oncall-contacts/{id}/", "/api/v1/escalations/",
                 "/api/v1/escalations/{id}/", "/api/v1/escalations/{id}/acknowledge/",
                 "/api/v1/webhooks/twilio/status/", "/api/v1/webhooks/twilio/inbound/"):
        assert path in schema["paths"], path
    assert "notifications" in schema["components"]["schemas"]["EscalationOutput"]["properties"]


# --------------------------------------------------------------------------- admin


def test_staff_acknowledge_in_the_admin_by_button_or_action(superuser, escalation, client):
    client.force_login(superuser)
    page = f"/admin/notifications/escalation/{escalation.pk}/change/"

    shown = client.get(page)
    assert shown.status_code == 200
    assert "Acknowledge: I own this case" in shown.content.decode()
    assert client.get(f"/admin/notifications/escalation/{escalation.pk}/acknowledge/").status_code == 405
    assert client.post(f"/admin/notifications/escalation/{escalation.pk}/acknowledge/").status_code == 302
    escalation.refresh_from_db()
    assert (escalation.status, escalation.acknowledged_via, escalation.acknowledged_by) == (
        "acknowledged", "admin", superuser
    )
    assert "Acknowledge: I own this case" not in client.get(page).content.decode()


def test_the_escalation_form_in_the_admin_changes_nothing_by_hand(superuser, escalation, client):
    client.force_login(superuser)
    page = f"/admin/notifications/escalation/{escalation.pk}/change/"

    shown = client.get(page)

    form = shown.context["adminform"].form
    assert list(form.fields) == [], "every field of an escalation is read-only; it moves by acknowledgement"
    assert 'name="clinic"' not in shown.content.decode()


def test_the_admin_action_acknowledges_the_selected_escalations(superuser, escalation, client):
    client.force_login(superuser)

    response = client.post("/admin/notifications/escalation/", {
        "action": "acknowledge", "_selected_action": [str(escalation.pk)],
    })

    assert response.status_code == 302
    assert Escalation.objects.get(pk=escalation.pk).acknowledged_via == "admin"


def test_the_admin_lists_notifications_by_status_and_contacts(superuser, escalation, client):
    client.force_login(superuser)

    failed = client.get("/admin/notifications/notification/?status__exact=failed")
    queued = client.get("/admin/notifications/notification/?status__exact=queued")
    detail = client.get(f"/admin/notifications/notification/{escalation.notifications.first().pk}/change/")

    assert failed.status_code == queued.status_code == detail.status_code == 200
    assert "0 notifications" in failed.content.decode()
    assert "2 notifications" in queued.content.decode()
    assert client.get("/admin/notifications/oncallcontact/").status_code == 200
