"""A page after the first is read as its keys, then its rows: the same rows, in the same order, as one read gives."""

import pytest
from django.contrib.admin import site
from django.core.paginator import Paginator
from django.db import connection
from django.forms import modelformset_factory
from django.test.utils import CaptureQueriesContext

from accounts.actions import user_set_role
from accounts.models import Role
from common import pagination
from patients.models import Patient
from tests.factories import ClinicFactory, PatientFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def in_one_read(monkeypatch):
    """Within the block, every page is read in one step, as Django's own paginator reads it."""
    return lambda: monkeypatch.setattr(pagination.KeptCountPaginator, "page", Paginator.page)


def names(client, page, **query) -> list[str]:
    response = client.get("/api/v1/patients/", {"page_size": 3, "page": page, **query})
    assert response.status_code == 200
    return [f"{row['last_name']}" for row in response.json()["results"]]


def test_every_page_holds_the_rows_a_single_read_gives_in_its_order(api_as, staff, clinic, in_one_read):
    for index in range(11):
        PatientFactory(clinic=clinic, last_name=f"Name {index:02d}")
    PatientFactory(clinic=ClinicFactory(), last_name="Name 00 of another clinic")
    client = api_as(staff)
    read_in_two_steps = [names(client, page) for page in range(1, 5)]

    in_one_read()

    assert [names(client, page) for page in range(1, 5)] == read_in_two_steps
    assert read_in_two_steps[-1] == ["Name 09", "Name 10"]
    assert all("another clinic" not in name for page in read_in_two_steps for name in page)


def test_a_page_after_the_first_reads_its_keys_then_its_rows_whatever_its_length(api_as, staff, clinic):
    PatientFactory.create_batch(12, clinic=clinic)
    client = api_as(staff)

    def selects(page: int, page_size: int) -> list[str]:
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/api/v1/patients/", {"page_size": page_size, "page": page}).status_code == 200
        return [query["sql"] for query in queries.captured_queries if query["sql"].startswith("SELECT")]

    first, second, second_of_longer = selects(1, 2), selects(2, 2), selects(2, 5)

    assert len(second) == len(second_of_longer) == len(first) + 1
    keys_only = 'SELECT "patients_patient"."id" AS "pk"'
    assert not any(sql.startswith(keys_only) for sql in first)
    assert any(sql.startswith(keys_only) for sql in second)


def test_the_admin_changelist_reads_its_pages_in_two_steps_too(client, clinic, in_one_read, monkeypatch):
    for index in range(5):
        PatientFactory(clinic=clinic, last_name=f"Name {index}")
    client.force_login(user_set_role(user=UserFactory(role=Role.PATIENT, clinic=clinic), role=Role.STAFF))
    monkeypatch.setattr(site._registry[Patient], "list_per_page", 2)

    def pages() -> list[list[str]]:
        return [[row.last_name for row in client.get("/admin/patients/patient/", {"p": p}).context["cl"].result_list]
                for p in (1, 2, 3)]

    read_in_two_steps = pages()
    in_one_read()

    assert pages() == read_in_two_steps == [["Name 0", "Name 1"], ["Name 2", "Name 3"], ["Name 4"]]


def test_rows_tied_on_the_lists_order_each_show_on_exactly_one_page(api_as, staff, clinic):
    namesakes = {str(PatientFactory(clinic=clinic, first_name="Ana", last_name="García").pk) for _ in range(7)}
    client = api_as(staff)

    shown = [row["id"] for page in range(1, 5)
             for row in client.get("/api/v1/patients/", {"page_size": 2, "page": page}).json()["results"]]

    assert sorted(shown) == sorted(namesakes)


def test_a_later_page_is_still_a_queryset_a_model_formset_can_edit(clinic):
    PatientFactory.create_batch(5, clinic=clinic)

    page = pagination.KeptCountPaginator(Patient.objects.order_by("last_name"), 2).page(2)
    formset = modelformset_factory(Patient, fields=["language"], extra=0)(queryset=page.object_list)

    assert len(formset.forms) == 2
