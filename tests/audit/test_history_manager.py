"""The history manager: the library's, with its class built once per model instead of on every access."""

import pytest

from triage.models import Assessment

pytestmark = pytest.mark.django_db


def test_reading_an_objects_history_twice_builds_its_manager_class_once(patient):
    assert type(patient.history) is type(patient.history)
    assert type(Assessment().history) is type(Assessment().history)


def test_the_manager_still_lists_the_objects_history(patient):
    patient.first_name = "Renamed"
    patient.save()

    assert [record.first_name for record in patient.history.order_by("history_date")][-1] == "Renamed"
    assert patient.history.count() == 2
    assert patient.history.most_recent().first_name == "Renamed"
