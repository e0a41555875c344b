"""A worker killed with SIGKILL while it triages an emergency: triaged, escalated and paged exactly once.

tests/notifications/test_worker_killed_mid_send.py kills a worker while Twilio holds its SMS request. Here
the worker dies earlier, inside the triage task. For a pending emergency that task commits the escalation
and its pages (with the assessment's urgency) and, once they commit, hands the result (evaluation,
referrals) to another task and sends the SMS; the assessment stays pending until the result commits. To
kill the worker at a known point without touching our code, a second database connection holds a row lock
the task needs, and the test waits until PostgreSQL shows the worker's backend blocked behind it:

* the patient row (FOR NO KEY UPDATE, as an edit of the patient takes): the task is stuck at its first
  statement, which locks the assessment joined with its patient, before it has written anything; the
  transaction dies with the worker.
* the on-call contact row (FOR UPDATE): the task has written the escalation and its pages and is in
  COMMIT, where PostgreSQL checks the pages' deferred foreign key to the contact. The backend finishes
  that COMMIT once the lock goes, though its worker is dead: committed, but neither the pages' send tasks
  nor the result's task, enqueued on commit by the worker, ever are.

Either way the triage task stays unacknowledged in Redis (acks_late), to come back after the visibility
timeout; the replacement worker runs with a 1 s timeout so that this happens within the test. A result
lost after the page is covered in tests/notifications/test_first_page_from_the_triage_worker.py.
"""

from __future__ import annotations

import json
import os
import signal
import time
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
import redis
from django.conf import settings
from django.db import connection

from notifications.actions import notifications_redispatch_stuck
from notifications.models import Escalation, Notification, OnCallContact
from referrals.models import Referral
from tests.factories import EMERGENCY
from tests.notifications.conftest import contact
from tests.worker import WorkerProcess, purge_broker, wait_until
from tests.worker import test_database_url as database_url
from triage.actions import assessments_requeue_pending
from triage.models import Assessment, Evaluation

from .conftest import case_code_in, delivery_environment, duplicates, record_figures

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("delivery_settings"),
]

TRIAGE_TASK = "triage.tasks.triage_assessment"


@pytest.fixture
def worker_env(fake_twilio_server, smtp_server):
    return delivery_environment(fake_twilio_server, smtp_server)


@pytest.fixture
def worker(worker_env):
    """A worker of this test's own: the test kills it."""
    purge_broker()
    started = WorkerProcess(env=worker_env, log_name="faults-worker-killed")
    try:
        yield started.start()
    finally:
        started.stop()


@contextmanager
def row_locked(table: str, pk, mode: str):
    """Hold `SELECT … FOR <mode>` on one row from a connection of our own; yield that backend's pid."""
    with psycopg.connect(database_url()) as holder:
        holder.execute(f'SELECT 1 FROM "{table}" WHERE id = %s FOR {mode}', [pk])  # noqa: S608 (a model's table)
        try:
            yield holder.info.backend_pid
        finally:
            holder.rollback()


def backend_blocked_by(pid: int) -> str | None:
    """The statement of a backend waiting for a lock that `pid` holds, if there is one."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT query FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))", [pid])
        row = cursor.fetchone()
    return row[0] if row else None


def other_sessions() -> int:
    """Sessions on the test database besides this process's (no worker runs between a kill and a restart)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                       "AND pid <> pg_backend_pid()")
        return cursor.fetchone()[0]


def unacked_tasks() -> dict[str, str]:
    """Task id -> task name of the messages a worker took and has not acknowledged (this run's keys only)."""
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    entries = client.hvals(f"{settings.BROKER_KEY_PREFIX}unacked")
    messages = [json.loads(entry)[0] for entry in entries]
    return {m["headers"]["id"]: m["headers"]["task"] for m in messages}


def succeeded_in_log(worker: WorkerProcess, task_id: str) -> bool:
    return f"[{task_id}] succeeded" in worker.log_path.read_text(errors="replace")


def triage_runs_in_log(worker: WorkerProcess, assessment_id: str) -> int:
    """Triage tasks for this assessment that the worker ran to the end."""
    return sum(
        1 for line in worker.log_path.read_text(errors="replace").splitlines()
        if f"{TRIAGE_TASK}[" in line and "] succeeded in" in line and assessment_id in line
    )


def pool_processes(worker: WorkerProcess) -> list[int]:
    main = worker.process.pid
    return [int(pid) for pid in Path(f"/proc/{main}/task/{main}/children").read_text().split()]


def workers_lost_in_log(worker: WorkerProcess) -> int:
    return worker.log_path.read_text(errors="replace").count("WorkerLostError('Worker exited prematurely")


def kill_pool_processes(worker: WorkerProcess) -> None:
    """SIGKILL the worker's pool processes, not its main process: what the kernel's OOM killer tends to do."""
    for pid in pool_processes(worker):
        os.kill(pid, signal.SIGKILL)


def kill_while_triaging(*, kill, client, patient, lock: tuple[str, object, str]) -> tuple[str, str, str]:
    """Submit an emergency; `kill()` while its triage task waits for `lock`. (assessment, task, statement)"""
    with row_locked(*lock) as holder:
        response = client.post("/api/v1/assessments/", {"patient": str(patient.id), "answers": EMERGENCY},
                               format="json")
        assert response.status_code == 202
        statement = wait_until(lambda: backend_blocked_by(holder), message="the worker's triage to block on the lock")
        [task_id] = [tid for tid, name in unacked_tasks().items() if name == TRIAGE_TASK]
        kill()
    return response.json()["id"], task_id, statement


def dead_worker_sessions_ended() -> None:
    """The dead worker's blocked backend gets the lock, runs the statement it had received (a COMMIT
    commits), then finds its client gone and ends."""
    wait_until(lambda: other_sessions() == 0, message="the killed worker's database sessions to end")


REPLACEMENT_VISIBILITY_TIMEOUT = 1


def replacement_worker(worker_env) -> WorkerProcess:
    """A new worker (start it), with a visibility timeout short enough to get the killed worker's task back.

    Returned once the killed worker's messages are older than that timeout: kombu looks for such messages
    as the worker starts and then, throttled, only every minute or two.
    """
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    taken_at = [score for _, score in client.zrange(f"{settings.BROKER_KEY_PREFIX}unacked_index", 0, -1,
                                                    withscores=True)]
    time.sleep(max(0.0, max(taken_at, default=0) + REPLACEMENT_VISIBILITY_TIMEOUT + 0.5 - time.time()))
    return WorkerProcess(env={**worker_env, "CELERY_VISIBILITY_TIMEOUT": str(REPLACEMENT_VISIBILITY_TIMEOUT)},
                         log_name="faults-worker-replacement")


def paged_once(*, escalation, paged, fake_twilio, smtp_sink) -> dict:
    """Both pages sent once, and the result written (it follows the pages)."""
    wait_until(lambda: Assessment.objects.get(pk=escalation.assessment_id).status == "triaged",
               message="the result to be written")
    wait_until(lambda: set(Notification.objects.filter(escalation=escalation).values_list("status", flat=True))
               == {"sent"}, message="both pages to be sent")
    sms = [paged.phone.as_e164 for r in fake_twilio.sent_to(paged.phone.as_e164)
           if case_code_in(r["body"]) == escalation.case_code]
    mail = [paged.email for m in smtp_sink.to(paged.email) if case_code_in(m["subject"]) == escalation.case_code]
    assert (len(sms), len(mail)) == (1, 1)
    assert Evaluation.objects.filter(assessment_id=escalation.assessment_id).count() == 1
    assert Escalation.objects.filter(assessment_id=escalation.assessment_id).count() == 1
    assert Notification.objects.filter(escalation=escalation).count() == 2
    return {"evaluations": 1, "escalations": 1, "sms": len(sms), "emails": len(mail),
            "duplicates": duplicates(sms) + duplicates(mail)}


def test_a_worker_killed_before_the_triage_commits_leaves_nothing_and_the_sweep_triages_and_pages_once(
    worker, worker_env, api_as, staff, patient, fake_twilio, smtp_sink
):
    paged = contact(1)
    started = time.monotonic()
    # The triage locks its assessment and, through the join, the patient: a clinician editing the patient
    # (FOR NO KEY UPDATE, which the submission's foreign key check does not wait for) holds it up.
    assessment_id, task_id, statement = kill_while_triaging(
        kill=worker.kill, client=api_as(staff), patient=patient,
        lock=(patient._meta.db_table, patient.pk, "NO KEY UPDATE"),
    )
    assert statement.startswith(f'SELECT "{Assessment._meta.db_table}"."id"'), "the task's first statement"
    dead_worker_sessions_ended()

    assert Assessment.objects.get(pk=assessment_id).status == "pending"
    assert not Evaluation.objects.filter(assessment_id=assessment_id).exists()
    assert not Escalation.objects.filter(assessment_id=assessment_id).exists()

    # The triage sweep (its grace elapsed) and a new worker, which also gets the killed task back
    assert assessments_requeue_pending(older_than_seconds=0) == 1
    replacement = replacement_worker(worker_env)
    try:
        replacement.start()
        escalation = wait_until(lambda: Escalation.objects.filter(assessment_id=assessment_id).first(),
                                message="the escalation to open")
        paged_once(escalation=escalation, paged=paged, fake_twilio=fake_twilio, smtp_sink=smtp_sink)
        wait_until(lambda: succeeded_in_log(replacement, task_id), message="the killed task to run again")
        wait_until(lambda: not unacked_tasks(), message="every task to be acknowledged")
    finally:
        replacement.stop()

    assert Assessment.objects.get(pk=assessment_id).enqueue_attempts == 2
    assert triage_runs_in_log(replacement, assessment_id) == 2, "the swept task and the killed one, redelivered"
    record_figures("worker-killed-before-commit", {
        "killed_while": statement.split()[0], "triage_task_runs": 1 + triage_runs_in_log(replacement, assessment_id),
        "recovered_by": "triage sweep",
        "submit_to_all_acknowledged_seconds": round(time.monotonic() - started, 2),
        **paged_once(escalation=escalation, paged=paged, fake_twilio=fake_twilio, smtp_sink=smtp_sink),
    })


def test_a_worker_killed_while_its_pages_commit_leaves_them_to_the_outbox_sweep_and_the_result_to_the_triage_sweep(
    worker, worker_env, api_as, staff, patient, fake_twilio, smtp_sink
):
    paged = contact(1)
    started = time.monotonic()
    # The escalation and its pages are written; COMMIT checks the pages' deferred foreign key to the contact
    # (FOR KEY SHARE), which waits for a contact row being edited (FOR UPDATE).
    assessment_id, task_id, statement = kill_while_triaging(
        kill=worker.kill, client=api_as(staff), patient=patient,
        lock=(OnCallContact._meta.db_table, paged.pk, "UPDATE"),
    )
    assert statement.strip().upper() == "COMMIT"
    dead_worker_sessions_ended()

    # The backend committed for its dead worker: escalated, pages written, none enqueued, no result yet
    escalation = Escalation.objects.get(assessment_id=assessment_id)
    assert set(Notification.objects.filter(escalation=escalation).values_list("status", flat=True)) == {"queued"}
    assert not fake_twilio.requests_to(paged.phone.as_e164)
    assert Assessment.objects.get(pk=assessment_id).status == "pending"
    assert not Evaluation.objects.filter(assessment_id=assessment_id).exists()

    # The outbox sweep and the triage sweep (their graces elapsed), and a new worker
    assert notifications_redispatch_stuck(queued_grace_seconds=0, sending_lease_seconds=3600) == 2
    assert assessments_requeue_pending(older_than_seconds=0) == 1
    replacement = replacement_worker(worker_env)
    try:
        replacement.start()
        paged_once(escalation=escalation, paged=paged, fake_twilio=fake_twilio, smtp_sink=smtp_sink)
        wait_until(lambda: succeeded_in_log(replacement, task_id), message="the killed task to run again")
        wait_until(lambda: not unacked_tasks(), message="every task to be acknowledged")
    finally:
        replacement.stop()

    assert Referral.objects.filter(assessment_id=assessment_id).exists()
    assert triage_runs_in_log(replacement, assessment_id) == 2, "the swept task and the killed one, redelivered"
    record_figures("worker-killed-in-the-pages-commit", {
        "killed_while": "COMMIT", "triage_task_runs": 1 + triage_runs_in_log(replacement, assessment_id),
        "recovered_by": "outbox sweep and triage sweep",
        "submit_to_all_acknowledged_seconds": round(time.monotonic() - started, 2),
        **paged_once(escalation=escalation, paged=paged, fake_twilio=fake_twilio, smtp_sink=smtp_sink),
    })


def test_a_pool_process_killed_mid_triage_is_replaced_and_its_task_requeued_at_once(
    worker, api_as, staff, patient, fake_twilio, smtp_sink
):
    paged = contact(1)
    started = time.monotonic()
    lost_before = workers_lost_in_log(worker)
    # Only the pool processes die; the main process sees it (WorkerLostError) and, with
    # task_reject_on_worker_lost, puts the message back at once instead of waiting for the visibility timeout.
    assessment_id, task_id, _ = kill_while_triaging(
        kill=lambda: kill_pool_processes(worker), client=api_as(staff), patient=patient,
        lock=(patient._meta.db_table, patient.pk, "NO KEY UPDATE"),
    )

    escalation = wait_until(lambda: Escalation.objects.filter(assessment_id=assessment_id).first(),
                            message="the escalation to open")
    paged_once(escalation=escalation, paged=paged, fake_twilio=fake_twilio, smtp_sink=smtp_sink)
    wait_until(lambda: succeeded_in_log(worker, task_id), message="the requeued task to run to the end")
    assert workers_lost_in_log(worker) > lost_before, "the main process saw its pool process die"
    assert worker.process.poll() is None, "the main process lives on"
    assert Assessment.objects.get(pk=assessment_id).enqueue_attempts == 1, "no sweep was needed"
    assert triage_runs_in_log(worker, assessment_id) == 1

    record_figures("worker-pool-process-killed", {
        "killed_while": "SELECT", "triage_task_runs": 1 + triage_runs_in_log(worker, assessment_id),
        "recovered_by": "requeue on worker lost (no sweep)",
        "submit_to_paged_seconds": round(time.monotonic() - started, 2),
        **paged_once(escalation=escalation, paged=paged, fake_twilio=fake_twilio, smtp_sink=smtp_sink),
    })
