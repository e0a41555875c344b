"""A red flag never waits behind routine work: its triage, result and pages have a queue that workers take first."""

import pytest
import redis
from django.conf import settings
from django.db import connection
from django.utils import timezone
from psycopg import sql

from notifications.models import Escalation
from services.celery_app import app
from tests.factories import EMERGENCY, ROUTINE, URGENT, PatientFactory
from tests.worker import WorkerProcess, purge_broker, wait_until
from triage.actions import (
    assessment_triage_paging_first,
    assessments_requeue_pending,
    emergencies_requeue_pending,
    triage_queue,
)
from triage.models import Assessment

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def broker():
    """This run's keys in the test Redis, empty before and after: no worker takes from them unless a test starts one."""
    purge_broker()
    yield redis.Redis.from_url(settings.CELERY_BROKER_URL)
    purge_broker()


def queued(broker, queue: str) -> int:
    return broker.llen(f"{settings.BROKER_KEY_PREFIX}{queue}")


def submit(client, clinic, answers) -> str:
    response = client.post("/api/v1/assessments/", {"patient": str(PatientFactory(clinic=clinic).id),
                                                    "answers": answers}, format="json")
    assert response.status_code == 202, response.content
    return response.json()["id"]


@pytest.mark.parametrize(("answers", "queue"), [(EMERGENCY, "red_flags"), (URGENT, "celery"), (ROUTINE, "celery")])
def test_a_submission_is_queued_by_the_urgency_its_answers_have_under_the_current_ruleset(
    broker, api_as, staff, clinic, answers, queue,
):
    submit(api_as(staff), clinic, answers)

    assert (queued(broker, "red_flags"), queued(broker, "celery")) == ((1, 0) if queue == "red_flags" else (0, 1))


def test_answers_that_cannot_be_evaluated_are_queued_with_the_red_flags(staff, patient):
    unreadable = Assessment(patient=patient, submitted_by=staff, submitted_at=timezone.now(), answers=["not", "a map"])

    assert triage_queue(unreadable) == "red_flags"


def test_the_pending_sweep_puts_a_lost_emergency_back_in_the_red_flags_queue(broker, staff, patient):
    long_ago = timezone.now() - timezone.timedelta(minutes=5)
    for answers in (EMERGENCY, ROUTINE):
        Assessment.objects.create(patient=patient, clinic=patient.clinic, submitted_by=staff, submitted_at=long_ago,
                                  last_enqueued_at=long_ago, answers=answers)

    assert assessments_requeue_pending(older_than_seconds=30) == 2

    assert (queued(broker, "red_flags"), queued(broker, "celery")) == (1, 1)


def test_a_submission_records_whether_it_was_queued_with_the_red_flags(broker, api_as, staff, clinic):
    client = api_as(staff)
    emergency, routine = submit(client, clinic, EMERGENCY), submit(client, clinic, ROUTINE)

    assert Assessment.objects.get(pk=emergency).queued_with_red_flags
    assert not Assessment.objects.get(pk=routine).queued_with_red_flags


def test_the_red_flags_sweep_re_enqueues_the_lost_emergencies_and_only_them(broker, staff, patient):
    long_ago = timezone.now() - timezone.timedelta(minutes=5)

    def lost(answers, **fields):
        return Assessment.objects.create(patient=patient, clinic=patient.clinic, submitted_by=staff, answers=answers,
                                         submitted_at=long_ago, last_enqueued_at=long_ago, **fields)

    lost(ROUTINE), lost(URGENT)
    lost(EMERGENCY, queued_with_red_flags=True)  # its task lost before any worker ran it
    lost(ROUTINE, urgency="emergency")  # paged, then its result lost: an emergency whatever the ruleset says now
    lost(ROUTINE, queued_with_red_flags=True)  # an emergency at submission, whatever the ruleset says now
    # Called routine by the ruleset at submission, an emergency by today's: the sweep behind the backlog's.
    lost(EMERGENCY, queued_with_red_flags=False)

    assert emergencies_requeue_pending(older_than_seconds=30) == 3
    assert (queued(broker, "red_flags"), queued(broker, "celery")) == (3, 0)
    assert assessments_requeue_pending(older_than_seconds=30) == 3, "the others, by the sweep behind the backlog"
    assert (queued(broker, "red_flags"), queued(broker, "celery")) == (4, 2)


def test_an_assessment_stored_by_the_release_before_the_column_is_not_queued_with_the_red_flags(staff, patient):
    """During the deploy, the release still serving inserts without the column: the database's default fills it."""
    columns = [field for field in Assessment._meta.concrete_fields if field.name != "queued_with_red_flags"]
    row = Assessment(patient=patient, clinic=patient.clinic, submitted_by=staff, submitted_at=timezone.now(),
                     answers=EMERGENCY)
    values = [field.get_db_prep_save(field.pre_save(row, add=True), connection) for field in columns]
    insert = sql.SQL("INSERT INTO triage_assessment ({}) VALUES ({})").format(
        sql.SQL(", ").join(sql.Identifier(field.column) for field in columns),
        sql.SQL(", ").join(sql.Placeholder() for _ in columns),
    )
    with connection.cursor() as cursor:
        cursor.execute(insert, values)

    assert Assessment.objects.get(pk=row.pk).queued_with_red_flags is False


@pytest.mark.parametrize("task", [
    "notifications.tasks.send_notification", "notifications.tasks.advance_due_escalations",
    "notifications.tasks.sweep_notification_outbox", "triage.tasks.requeue_pending_emergencies",
])
def test_the_pages_the_escalation_clock_and_the_red_flags_sweep_go_with_the_red_flags(task):
    assert app.amqp.router.route({}, task)["queue"].name == "red_flags"


def test_the_sweep_of_every_pending_assessment_runs_behind_the_routine_backlog():
    """What it finds pending once the triages queued before it have run was lost, not waiting."""
    assert app.amqp.router.route({}, "triage.tasks.requeue_pending_assessments")["queue"].name == "celery"


def test_a_paged_emergencys_result_has_the_queue_after_the_pages():
    assert app.amqp.router.route({}, "triage.tasks.write_triage_result")["queue"].name == "red_flag_results"
    assert [queue.name for queue in settings.CELERY_TASK_QUEUES] == ["red_flags", "red_flag_results", "celery"]


def test_emergencies_submitted_behind_a_backlog_of_routine_ones_are_triaged_first(broker, api_as, staff, clinic):
    client = api_as(staff)
    backlog = [submit(client, clinic, ROUTINE) for _ in range(20)]
    emergencies = [submit(client, clinic, EMERGENCY) for _ in range(2)]
    worker = WorkerProcess(concurrency=1, log_name="worker-red-flags-first").start()
    try:
        wait_until(lambda: not Assessment.objects.filter(status="pending").exists(), message="every triage")
    finally:
        worker.stop()

    # The worker's one process paged both, then wrote their results, before any of the backlog: with kombu's
    # default order (round robin) a routine triage would come between the first emergency and the second.
    def triaged_at(ids):
        return Assessment.objects.filter(pk__in=ids).values_list("triaged_at", flat=True)

    assert max(triaged_at(emergencies)) < min(triaged_at(backlog))


def test_a_new_emergency_is_paged_before_the_result_of_one_paged_earlier_is_written(broker, api_as, staff, patient):
    paged_earlier = Assessment.objects.create(patient=patient, clinic=patient.clinic, submitted_by=staff,
                                              submitted_at=timezone.now(), answers=EMERGENCY)
    assessment_triage_paging_first(assessment_id=paged_earlier.pk)  # pages here; its result's task is queued
    newer = submit(api_as(staff), patient.clinic, EMERGENCY)
    worker = WorkerProcess(concurrency=1, log_name="worker-red-flags-first").start()
    try:
        wait_until(lambda: not Assessment.objects.filter(status="pending").exists(), message="both results")
    finally:
        worker.stop()

    newer_paged_at = Escalation.objects.get(assessment_id=newer).opened_at
    assert newer_paged_at < Assessment.objects.get(pk=paged_earlier.pk).triaged_at
