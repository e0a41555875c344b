"""A patient's clinic is set when the record is made and never changed after (their rows carry a copy of it)."""

import pytest

from patients.models import Patient
from tests.factories import ClinicFactory

pytestmark = pytest.mark.django_db


def test_saving_an_existing_patient_in_the_admin_leaves_their_clinic(superuser, patient, client):
    client.force_login(superuser)
    page = f"/admin/patients/patient/{patient.pk}/change/"
    form = client.get(page).context["adminform"].form
    unchanged = {name: form.initial.get(name) if form.initial.get(name) is not None else "" for name in form.fields}

    saved = client.post(page, {**unchanged, "first_name": "Ana María", "clinic": str(ClinicFactory().pk)})

    assert "clinic" not in form.fields
    assert saved.status_code == 302, saved.context["adminform"].form.errors if saved.context else saved
    stored = Patient.objects.get(pk=patient.pk)
    assert (stored.first_name, stored.clinic_id) == ("Ana María", patient.clinic_id)


def test_a_new_patient_is_given_a_clinic_in_the_admin(superuser, client):
    client.force_login(superuser)

    form = client.get("/admin/patients/patient/add/").context["adminform"].form

    assert "clinic" in form.fields
