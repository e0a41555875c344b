"""A patient's assessments and referrals are found by their (patient, date) indexes; the keys have none of their own."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from referrals.models import Referral
from triage.models import Assessment

BEFORE = [("triage", "0006_assessment_clinic_order_index"), ("referrals", "0007_referral_clinic_order_index")]


def indexes_on_patient_alone(model) -> dict[str, dict]:
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, model._meta.db_table)
    return {name: info for name, info in constraints.items() if info["columns"] == ["patient_id"]}


@pytest.mark.django_db
@pytest.mark.parametrize("model", [Assessment, Referral])
def test_the_patient_key_keeps_its_constraint_and_no_index_of_its_own(model):
    on_patient_alone = indexes_on_patient_alone(model).values()

    assert [info for info in on_patient_alone if info["foreign_key"]], "the foreign key constraint stays"
    assert not own_index(model)


@pytest.mark.django_db
@pytest.mark.parametrize("model", [Assessment, Referral])
def test_a_patients_rows_are_found_by_an_index_leading_with_the_patient(model, patient):
    sql, params = model.objects.filter(patient=patient).values("pk").query.sql_with_params()

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "Index Cond: (patient_id = " in plan, plan


@pytest.fixture
def latest_migrations_restored(transactional_db):
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    yield executor
    MigrationExecutor(connection).migrate(latest)


def own_index(model) -> bool:
    return any(info["index"] for info in indexes_on_patient_alone(model).values())


def test_migrating_back_builds_the_keys_index_again_and_forward_drops_it(latest_migrations_restored):
    MigrationExecutor(connection).migrate(BEFORE)
    assert own_index(Assessment) and own_index(Referral)

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    assert not own_index(Assessment) and not own_index(Referral)
