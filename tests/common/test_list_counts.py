"""A huge list's count is kept a few seconds; an ordinary list is counted exactly on every page."""

import pytest
from django.core.cache import cache

from accounts.actions import user_set_role
from accounts.models import Role
from common import pagination
from tests.factories import ClinicFactory, PatientFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def huge_from(monkeypatch):
    """huge_from(rows): lists of that many rows count as huge; the kept counts are forgotten afterwards."""
    yield lambda rows: monkeypatch.setattr(pagination, "LARGE_LIST_ROWS", rows)
    cache.clear()


def listed(client, url="/api/v1/patients/", **query) -> dict:
    response = client.get(url, {"page_size": 2, **query})
    assert response.status_code == 200
    return response.json()


def test_an_ordinary_list_is_counted_afresh_on_every_page(api_as, staff, clinic):
    PatientFactory.create_batch(3, clinic=clinic)
    client = api_as(staff)
    assert listed(client)["count"] == 3

    PatientFactory(clinic=clinic)

    assert listed(client)["count"] == 4


def test_a_huge_lists_count_is_kept_while_its_rows_are_read_fresh(api_as, staff, clinic, huge_from):
    huge_from(3)
    PatientFactory.create_batch(3, clinic=clinic)
    client = api_as(staff)
    assert listed(client)["count"] == 3

    newest = PatientFactory(clinic=clinic, last_name="Abad")  # first by name, so on the first page
    page = listed(client)

    assert page["count"] == 3  # kept for pagination.COUNT_KEPT_SECONDS
    assert str(newest.pk) in {row["id"] for row in page["results"]}

    cache.clear()  # as when the kept count expires
    assert listed(client)["count"] == 4


def test_a_kept_count_is_never_shown_to_another_scope_or_filter(api_as, clinic, huge_from):
    huge_from(2)
    other_clinic = ClinicFactory()
    PatientFactory.create_batch(3, clinic=clinic)
    PatientFactory.create_batch(2, clinic=other_clinic)
    ours = api_as(UserFactory(role=Role.STAFF, clinic=clinic))
    theirs = api_as(UserFactory(role=Role.STAFF, clinic=other_clinic))

    assert listed(ours)["count"] == 3
    assert listed(theirs)["count"] == 2
    assert listed(ours, external_id="no-such-id")["count"] == 0


def test_the_admin_changelist_keeps_a_huge_lists_count_too(client, clinic, huge_from):
    huge_from(2)
    PatientFactory.create_batch(2, clinic=clinic)
    client.force_login(user_set_role(user=UserFactory(role=Role.PATIENT, clinic=clinic), role=Role.STAFF))
    assert client.get("/admin/patients/patient/").context["cl"].result_count == 2

    PatientFactory(clinic=clinic)

    assert client.get("/admin/patients/patient/").context["cl"].result_count == 2
    cache.clear()
    assert client.get("/admin/patients/patient/").context["cl"].result_count == 3


def test_with_the_cache_down_a_list_still_answers_with_its_exact_count(api_as, staff, clinic, huge_from, cache_down):
    huge_from(2)
    PatientFactory.create_batch(3, clinic=clinic)

    assert listed(api_as(staff))["count"] == 3
