"""`object_url` gives what `reverse()` gives for an object's page, whichever URLconf is in force."""

import uuid

import pytest
from django.test import override_settings
from django.urls import reverse

from common.object_urls import object_url

ROW_LINKS = [
    "admin:patients_patient_change", "admin:referrals_referral_change", "admin:referrals_referral_move",
    "admin:notifications_escalation_change", "admin:triage_assessment_change",
    "admin:dashboard_escalation_acknowledge",
]


@pytest.mark.parametrize("viewname", ROW_LINKS)
def test_each_row_link_of_the_dashboard_and_the_board_is_the_url_reverse_gives(viewname):
    for key in (uuid.uuid4(), uuid.uuid4(), str(uuid.uuid4())):
        assert object_url(viewname, key) == reverse(viewname, args=[key])


@override_settings(ROOT_URLCONF="tests.common.object_url_patterns")
def test_a_key_is_quoted_as_reverse_quotes_it():
    for key in ["plain", "with space", "a/b", "q?x=1&y", "ümlaut", "50%"]:
        assert object_url("thing", key) == reverse("thing", args=[key])


@override_settings(ROOT_URLCONF="tests.common.object_url_patterns")
def test_a_pattern_that_refuses_the_stand_in_key_is_resolved_each_time():
    assert object_url("numbered", 42) == reverse("numbered", args=[42]) == "/numbered/42/"


def test_another_urlconf_is_never_answered_from_the_first():
    key = uuid.uuid4()
    assert object_url("admin:patients_patient_change", key).startswith("/admin/")

    with override_settings(ROOT_URLCONF="tests.common.object_url_patterns"):
        assert object_url("thing", key) == f"/things/{key}/"

    assert object_url("admin:patients_patient_change", key) == reverse("admin:patients_patient_change", args=[key])
