"""The changelist's row checkbox is Django's own markup, rendered without a widget template."""

import pytest
from django.contrib import admin
from django.contrib.admin.sites import site

from common.admin import PlainActionCheckboxMixin
from notifications.models import Escalation, Notification
from patients.models import Patient
from referrals.models import Referral
from tests.factories import PatientFactory
from triage.models import Assessment

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", [Assessment, Referral, Escalation, Notification, Patient])
def test_the_big_changelists_render_their_row_checkboxes_without_a_template(model):
    assert type(site._registry[model]).action_checkbox is PlainActionCheckboxMixin.action_checkbox


def test_the_row_checkbox_is_the_markup_django_renders_names_escaped(clinic):
    patient = PatientFactory(clinic=clinic, first_name='Zoë "<b>"', last_name="O'Brien & Sons")
    patient_admin = site._registry[Patient]

    ours = patient_admin.action_checkbox(patient)

    assert ours == admin.ModelAdmin.action_checkbox(patient_admin, patient)
    assert "<b>" not in ours
