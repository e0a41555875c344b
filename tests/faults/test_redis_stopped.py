"""Redis stopped while assessments are submitted: accepted, stored, then triaged and paged once it is back.

The module runs its own redis-server (no persistence, like the shared one of `make test`), so stopping it
disturbs nobody; this process's Celery app and the module's worker both use it.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import time
from collections import Counter

import pytest
import redis
from django.test import Client

from notifications.actions import escalations_advance_due, notifications_redispatch_stuck
from notifications.models import Escalation, Notification
from tests.factories import EMERGENCY, ROUTINE, URGENT
from tests.notifications.conftest import contact
from tests.worker import wait_until
from triage.actions import assessments_requeue_pending
from triage.models import Assessment

from .conftest import case_code_in, celery_broker, delivery_environment, duplicates, free_port, record_figures

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("delivery_settings"),
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed"),
]

BASELINE = 3
SUBMITTED = 20
EMERGENCY_EVERY = 3  # assessments 0, 3, 6 … are emergencies: 7 of 20
# A request that publishes to a dead broker gives up after CELERY_TASK_PUBLISH_RETRY_POLICY
# (3 tries, 0.7 s of pauses at most); anything near a second would be a hang in the making.
REQUEST_LATENCY_LIMIT_SECONDS = 2.0


class RedisServer:
    """A redis-server of our own on a free port, stopped and started again at will (its data goes with it)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> RedisServer:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--daemonize", "no", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        try:
            wait_until(lambda: self._answers(client), timeout=10, message=f"redis-server on port {self.port}")
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def _answers(self, client: redis.Redis) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"redis-server exited with {self.process.returncode}")
        try:
            return client.ping()
        except redis.ConnectionError:
            return False


@pytest.fixture(scope="module")
def private_redis():
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def worker_env(private_redis, fake_twilio_server, smtp_server):
    """The worker consumes from the private Redis; so does this process publish (and ping) meanwhile."""
    with celery_broker(private_redis.url):
        yield delivery_environment(fake_twilio_server, smtp_server, CELERY_BROKER_URL=private_redis.url)


def submissions() -> list[dict]:
    kinds = [EMERGENCY, ROUTINE, URGENT]
    return [kinds[n % EMERGENCY_EVERY] for n in range(SUBMITTED)]


def test_assessments_submitted_while_redis_is_stopped_are_triaged_and_paged_once_it_is_back(
    celery_worker, private_redis, api_as, staff, patient, fake_twilio, smtp_sink
):
    oncall = [contact(1), contact(1)]
    client = api_as(staff)
    answers = submissions()
    emergencies = sum(a is EMERGENCY for a in answers)

    # Given a worker that has been triaging (the baseline latency) and a broker that then goes away
    baseline_latencies, baseline_ids = [], []
    for _ in range(BASELINE):
        started = time.monotonic()
        response = client.post("/api/v1/assessments/", {"patient": str(patient.id), "answers": ROUTINE},
                               format="json")
        baseline_latencies.append(time.monotonic() - started)
        baseline_ids.append(response.json()["id"])
    wait_until(lambda: Assessment.objects.filter(pk__in=baseline_ids, status="triaged").count() == BASELINE,
               message="the baseline assessments to be triaged")
    private_redis.stop()
    stopped = time.monotonic()

    # When assessments are submitted, every one is accepted at once and stored pending
    latencies, ids = [], []
    for body in answers:
        started = time.monotonic()
        response = client.post("/api/v1/assessments/", {"patient": str(patient.id), "answers": body}, format="json")
        latencies.append(time.monotonic() - started)
        assert response.status_code == 202, response.content
        ids.append(response.json()["id"])
    assert max(latencies) < REQUEST_LATENCY_LIMIT_SECONDS, f"a request waited on the dead broker: {latencies}"
    assert Counter(Assessment.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"pending": SUBMITTED}
    ready = Client().get("/readyz")
    assert (ready.status_code, ready.json()["failed"]) == (503, ["broker"])

    # Then, Redis back (empty: no persistence), the sweeps the beat runs find the work again
    private_redis.start()
    restarted = time.monotonic()
    outage = restarted - stopped
    assert assessments_requeue_pending(older_than_seconds=0) == SUBMITTED
    assert escalations_advance_due() == 0

    def all_triaged():
        return Assessment.objects.filter(pk__in=ids, status="triaged").count() == SUBMITTED

    wait_until(all_triaged, timeout=60, interval=0.25, message="every assessment to be triaged")
    triaged_after = time.monotonic() - restarted
    escalations = list(Escalation.objects.filter(assessment_id__in=ids))
    assert len(escalations) == emergencies
    pages = Notification.objects.filter(escalation__in=escalations)

    def all_sent():
        statuses = Counter(pages.values_list("status", flat=True))
        return statuses if statuses == {"sent": emergencies * len(oncall) * 2} else None

    wait_until(all_sent, timeout=60, interval=0.25, message="every page to be sent")
    paged_after = time.monotonic() - restarted

    # Nothing lost, nothing twice: each on-call contact got one SMS and one email per emergency
    codes = {e.case_code for e in escalations}
    sms = [(r["to"], code) for r in fake_twilio.requests
           if r["answer"] == 201 and (code := case_code_in(r["body"])) in codes]
    mail = [(rcpt, code) for m in smtp_sink.messages if (code := case_code_in(m["subject"])) in codes
            for rcpt in m["rcpt"]]
    expected = {(c.phone.as_e164, code) for c in oncall for code in codes}
    assert set(sms) == expected
    assert {(rcpt, code) for rcpt, code in mail} == {(c.email.lower(), code) for c in oncall for code in codes}
    assert duplicates(sms) == duplicates(mail) == 0
    # …and the sweeps find nothing left behind
    assert assessments_requeue_pending(older_than_seconds=0) == 0
    assert notifications_redispatch_stuck(queued_grace_seconds=0, sending_lease_seconds=0) == 0
    assert Client().get("/readyz").status_code == 200

    record_figures("redis-stopped", {
        "requests_tried": SUBMITTED, "accepted_202": SUBMITTED, "emergencies": emergencies,
        "on_call_contacts": len(oncall), "broker_down_seconds": round(outage, 2),
        "max_request_latency_ms": round(max(latencies) * 1000), "median_request_latency_ms":
        round(statistics.median(latencies) * 1000), "all_triaged_after_restart_seconds": round(triaged_after, 2),
        "all_paged_after_restart_seconds": round(paged_after, 2), "lost": 0, "sms_sent": len(sms),
        "emails_sent": len(mail), "duplicate_sms": duplicates(sms), "duplicate_emails": duplicates(mail),
        "median_request_latency_with_redis_up_ms": round(statistics.median(baseline_latencies) * 1000),
    })
