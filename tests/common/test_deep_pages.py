"""A deep page is read as its keys, then its rows: the same rows, in the same order, as one read would give."""

import pytest
from django.contrib.admin import site
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.actions import user_set_role
from accounts.models import Role
from common import pagination
from patients.models import Patient
from tests.factories import ClinicFactory, PatientFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def deep_from(monkeypatch):
    """deep_from(rows): pages starting that many rows in count as deep."""
    return lambda rows: monkeypatch.setattr(pagination, "DEEP_PAGE_OFFSET", rows)


def names(client, page, **query) -> list[str]:
    response = client.get("/api/v1/patients/", {"page_size": 3, "page": page, **query})
    assert response.status_code == 200
    return [f"{row['last_name']}" for row in response.json()["results"]]


def test_every_page_of_a_list_read_deep_holds_the_rows_of_a_single_read(api_as, staff, clinic, deep_from):
    for index in range(11):
        PatientFactory(clinic=clinic, last_name=f"Name {index:02d}")
    PatientFactory(clinic=ClinicFactory(), last_name="Name 00 of another clinic")
    client = api_as(staff)
    single_read = [names(client, page) for page in range(1, 5)]

    deep_from(0)

    assert [names(client, page) for page in range(1, 5)] == single_read
    assert single_read[-1] == ["Name 09", "Name 10"]
    assert all("another clinic" not in name for page in single_read for name in page)


def test_a_deep_page_reads_its_keys_then_its_rows_whatever_its_length(api_as, staff, clinic, deep_from):
    PatientFactory.create_batch(12, clinic=clinic)
    client = api_as(staff)
    deep_from(3)

    def selects_on_page_2(page_size: int) -> list[str]:
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/api/v1/patients/", {"page_size": page_size, "page": 2}).status_code == 200
        return [query["sql"] for query in queries.captured_queries if query["sql"].startswith("SELECT")]

    shallow, deep, deeper = selects_on_page_2(2), selects_on_page_2(4), selects_on_page_2(5)  # from row 2, 4, 5

    assert len(deep) == len(deeper) == len(shallow) + 1
    assert not any(sql.startswith('SELECT "patients_patient"."id" AS "pk"') for sql in shallow)
    assert any(sql.startswith('SELECT "patients_patient"."id" AS "pk"') for sql in deep)


def test_the_admin_changelist_reads_deep_pages_in_two_steps_too(client, clinic, deep_from):
    for index in range(5):
        PatientFactory(clinic=clinic, last_name=f"Name {index}")
    client.force_login(user_set_role(user=UserFactory(role=Role.PATIENT, clinic=clinic), role=Role.STAFF))
    patient_admin = site._registry[Patient]
    per_page, patient_admin.list_per_page = patient_admin.list_per_page, 2
    try:
        single_read = [[row.last_name for row in client.get("/admin/patients/patient/", {"p": p}).context["cl"]
                        .result_list] for p in (1, 2, 3)]
        deep_from(0)
        deep_read = [[row.last_name for row in client.get("/admin/patients/patient/", {"p": p}).context["cl"]
                      .result_list] for p in (1, 2, 3)]
    finally:
        patient_admin.list_per_page = per_page

    assert deep_read == single_read == [["Name 0", "Name 1"], ["Name 2", "Name 3"], ["Name 4"]]
