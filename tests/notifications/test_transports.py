"""One transport per channel, against a fake Twilio over real HTTP and a real SMTP server."""

import logging
import socket

import pytest
from django.test import override_settings

from notifications.transports import PermanentFailure, TemporaryFailure
from notifications.transports.email import EmailTransport
from notifications.transports.sms import ConsoleSmsTransport, get_sms_transport

from .conftest import FROM_NUMBER

PHONE = "+34661234567"


def test_twilio_gets_a_form_post_with_basic_auth_and_our_status_callback(fake_twilio):
    sent = get_sms_transport().send(to=PHONE, body="Case 4821", reference="n1")

    [request] = fake_twilio.requests
    assert (request["to"], request["from"], request["body"]) == (PHONE, FROM_NUMBER, "Case 4821")
    assert request["callback"] == "http://testserver/api/v1/webhooks/twilio/status/"
    assert sent.provider_id == request["sid"]
    assert sent.status_code == 201


@pytest.mark.parametrize("status", [500, 503, 429])
def test_a_5xx_or_429_is_temporary(fake_twilio, status):
    fake_twilio.fail(status)

    with pytest.raises(TemporaryFailure) as failure:
        get_sms_transport().send(to=PHONE, body="x", reference="n1")
    assert failure.value.status_code == status


def test_a_4xx_is_permanent_and_says_why(fake_twilio):
    fake_twilio.fail(400)

    with pytest.raises(PermanentFailure) as failure:
        get_sms_transport().send(to=PHONE, body="x", reference="n1")
    assert failure.value.status_code == 400
    assert "21211" in failure.value.error


def test_wrong_credentials_are_permanent(fake_twilio, settings):
    settings.TWILIO_AUTH_TOKEN = "wrong"

    with pytest.raises(PermanentFailure, match="401"):
        get_sms_transport().send(to=PHONE, body="x", reference="n1")


def test_a_provider_that_does_not_answer_in_time_is_temporary(fake_twilio, settings):
    settings.TWILIO_READ_TIMEOUT_SECONDS = 0.3
    release = fake_twilio.hold()
    try:
        with pytest.raises(TemporaryFailure, match="timed out"):
            get_sms_transport().send(to=PHONE, body="x", reference="n1")
    finally:
        release.set()


def test_a_refused_connection_is_temporary(settings):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        settings.TWILIO_API_BASE_URL = f"http://127.0.0.1:{probe.getsockname()[1]}"

    with pytest.raises(TemporaryFailure, match="unreachable"):
        get_sms_transport().send(to=PHONE, body="x", reference="n1")


def test_the_console_transport_logs_without_personal_data(caplog):
    with caplog.at_level(logging.INFO, logger="notifications.transports.sms"):
        sent = ConsoleSmsTransport().send(to=PHONE, body="Ana G. case 4821", reference="n1")

    assert sent.provider_id.startswith("console-")
    logged = " ".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "n1" in logged
    assert PHONE not in logged and "Ana" not in logged


@override_settings(SMS_BACKEND="carrier-pigeon")
def test_an_unknown_sms_backend_is_a_configuration_error():
    with pytest.raises(ValueError, match="SMS_BACKEND"):
        get_sms_transport()


def test_email_goes_through_smtp_with_a_message_id(smtp_sink):
    sent = EmailTransport().send(to="oncall@example.org", subject="[EMERGENCY] Case 4821", body="Hello",
                                 reference="n1")

    [message] = smtp_sink.to("oncall@example.org")
    assert message["subject"] == "[EMERGENCY] Case 4821"
    assert message["headers"]["Message-ID"] == sent.provider_id


def test_an_smtp_server_that_is_down_is_temporary(smtp_sink):
    smtp_sink.stop()

    with pytest.raises(TemporaryFailure, match="SMTP unavailable"):
        EmailTransport().send(to="oncall@example.org", subject="s", body="b", reference="n1")

