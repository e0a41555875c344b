"""PostgreSQL stopped and started again under a running stack: 503s meanwhile, then back without a restart.

The shared PostgreSQL is never touched: the module makes a private cluster (initdb as the `postgres` OS
user when run as root), migrates a database in it, and runs gunicorn and Celery beat on it as `make run`
does; a worker joins during the outage. Their broker is the shared Redis under a key prefix of their own,
removed afterwards.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest
import redis
import requests
from django.conf import settings

from tests.factories import EMERGENCY, PASSWORD, ROUTINE
from tests.worker import ROOT, WorkerProcess, wait_until

from .conftest import free_port, record_figures

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

INITDB = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
# A stopped server refuses connections at once; DATABASE_CONNECT_TIMEOUT (5 s) bounds one that never answers.
REQUEST_LATENCY_LIMIT_SECONDS = 3.0
OUTAGE_SECONDS = 3.0
SWEEP_GRACE_SECONDS = 3
TRIAGE_TASK = "triage.tasks.triage_assessment"


class PostgresCluster:
    """A throw-away PostgreSQL cluster on a free port: trust authentication, no durability, stop and start at will."""

    def __init__(self, initdb: str) -> None:
        self.bin = Path(initdb).parent
        self.port = free_port()
        self.base = Path(tempfile.mkdtemp(prefix="footdrop-faults-pg-"))
        self.data = self.base / "data"
        self.log = self.base / "postgres.log"
        # initdb refuses root: the cluster belongs to the postgres OS user, as the machine's own does.
        self.as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_owner:
            shutil.chown(self.base, "postgres", "postgres")

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *command: str, timeout: float = 60) -> None:
        subprocess.run([*self.as_owner, *command], check=True, capture_output=True, timeout=timeout)

    def init(self) -> PostgresCluster:
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                  "--no-sync", "--no-instructions")
        return self

    def start(self) -> None:
        options = (f"-p {self.port} -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
                   "-c full_page_writes=off")
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options, "-w",
                  "-t", "30", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "30", "stop")

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(subprocess.SubprocessError):
                self.stop("immediate")
        shutil.rmtree(self.base, ignore_errors=True)


class WebServer:
    """gunicorn as `make run` starts it (fewer processes), in a session of its own."""

    def __init__(self, env: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = env
        self.log_path = ROOT / "var" / "test-logs" / "faults-web.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> WebServer:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "services.wsgi:application", "--bind", f"127.0.0.1:{self.port}",
                 "--workers", "1", "--threads", "4", "--timeout", "30", "--graceful-timeout", "2"],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        try:
            wait_until(self._answers, timeout=30, interval=0.2, message=f"gunicorn on port {self.port}")
        except BaseException:
            self.stop()
            raise
        return self

    def _answers(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {self.process.returncode}; see {self.log_path}")
        try:
            return requests.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    def worker_pids(self) -> set[int]:
        """gunicorn's worker processes: the same set before and after means nothing was restarted."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        return {int(pid) for pid in children}

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, 15)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait(timeout=15)


class LoggedWorker(WorkerProcess):
    """A worker on another broker prefix than this process's Celery app: ready when its log says so."""

    def start(self, ready_timeout: float = 30) -> LoggedWorker:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log_path.touch()
        self.log_offset = self.log_path.stat().st_size
        return super().start(ready_timeout)

    def _wait_ready(self, timeout: float) -> None:
        def ready() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError(f"Celery worker exited with {self.process.returncode}; see {self.log_path}")
            return " ready." in self.log()

        try:
            wait_until(ready, timeout=timeout, interval=0.2, message=f"the worker to be ready (see {self.log_path})")
        except BaseException:
            self.stop()
            raise

    def log(self) -> str:
        with self.log_path.open(errors="replace") as log:
            log.seek(self.log_offset)
            return log.read()

    def failed_for_the_database(self, task: str) -> int:
        return sum(1 for line in self.log().splitlines()
                   if f"Task {task}[" in line and "raised unexpected: OperationalError" in line)


class Beat:
    """`celery beat` with the sweeps' intervals short enough for a test."""

    def __init__(self, env: dict[str, str]) -> None:
        self.var = Path(tempfile.mkdtemp(prefix="footdrop-faults-beat-"))
        self.env = {**env, "VAR_DIR": str(self.var)}
        self.log_path = ROOT / "var" / "test-logs" / "faults-beat.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> Beat:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "services", "beat", "--loglevel", "INFO"],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, 15)
            self.process.wait(timeout=15)
        shutil.rmtree(self.var, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster():
    if not INITDB:
        pytest.skip("no PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb) to make a private cluster")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: initdb cannot run as the postgres user")
    made = PostgresCluster(INITDB[-1])
    try:
        made.init()
        made.start()
        yield made
    finally:
        made.destroy()


@pytest.fixture(scope="module")
def stack_env(cluster):
    """The environment of web, worker and beat: the private database, migrated; a broker key prefix of theirs."""
    database = "footdrop_faults"
    with psycopg.connect(cluster.url("postgres"), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{database}"')
    run_id = f"{settings.TEST_RUN_ID}-pg{cluster.port}"
    env = {
        **os.environ, "DJANGO_SETTINGS_MODULE": "services.settings.test", "DATABASE_URL": cluster.url(database),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL, "TEST_RUN_ID": run_id, "PYTHONUNBUFFERED": "1",
        # The triage sweep every second, for assessments pending 3 s (production: 15 s and 30 s).
        "TRIAGE_SWEEP_INTERVAL_SECONDS": "1", "TRIAGE_PENDING_GRACE_SECONDS": str(SWEEP_GRACE_SECONDS),
    }
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "--skip-checks"], cwd=ROOT, env=env,
                   check=True, capture_output=True, timeout=180)
    yield env
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    # Their prefix (services/settings/test.py) ends with the pytest-xdist worker's name, when there is one.
    for pattern in (f"test-{run_id}:*", f"test-{run_id}-gw*:*"):
        for key in broker.scan_iter(pattern):
            broker.delete(key)


@pytest.fixture(scope="module")
def web(stack_env):
    server = WebServer(stack_env).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def beat(stack_env):
    started = Beat(stack_env).start()
    yield started
    started.stop()


def timed(method: str, url: str, **kwargs) -> tuple[requests.Response, float]:
    started = time.monotonic()
    response = requests.request(method, url, timeout=REQUEST_LATENCY_LIMIT_SECONDS + 7, **kwargs)
    return response, time.monotonic() - started


def test_with_postgres_down_the_stack_answers_503_loses_nothing_and_recovers_without_a_restart(
    cluster, stack_env, web, beat
):
    api = f"{web.url}/api/v1"
    # Given a patient who signed up and has a token, and a web server that is ready
    username = f"faults-{uuid.uuid4().hex[:8]}"
    signup = requests.post(f"{api}/auth/register/", timeout=10, json={
        "username": username, "password": PASSWORD, "first_name": "Ana", "last_name": "García",
        "date_of_birth": "1968-03-02", "phone": "+34612345678", "email": f"{username}@example.org", "language": "es",
    })
    assert signup.status_code == 201, signup.text
    token = requests.post(f"{api}/auth/token/", json={"username": username, "password": PASSWORD}, timeout=10)
    auth = {"Authorization": f"Bearer {token.json()['access']}"}
    assert requests.get(f"{web.url}/readyz", timeout=10).status_code == 200
    # …and two assessments accepted just before the outage, which no worker has triaged yet
    accepted = [
        requests.post(f"{api}/assessments/", json={"answers": answers}, timeout=10,
                      headers={**auth, "Idempotency-Key": f"before-the-outage-{n}"})
        for n, answers in enumerate([EMERGENCY, ROUTINE])
    ]
    assert [r.status_code for r in accepted] == [202, 202]
    web_workers = web.worker_pids()

    # When PostgreSQL stops, and a Celery worker starts meanwhile and takes their triage tasks
    cluster.stop()
    stopped = time.monotonic()
    worker = LoggedWorker(env=stack_env, log_name="faults-postgres-worker").start()
    try:
        wait_until(lambda: worker.failed_for_the_database(TRIAGE_TASK) == 2, timeout=30,
                   message="the worker's two triage attempts to fail on the stopped database")

        refused_key = "during-the-outage"
        outage = {"readyz": [], "healthz": [], "submit": [], "list": [], "token": []}
        probing = time.monotonic()
        while time.monotonic() - probing < OUTAGE_SECONDS:
            ready, took = timed("GET", f"{web.url}/readyz")
            outage["readyz"].append(took)
            assert ready.status_code == 503
            assert ready.json()["failed"] == ["database"] and ready.json()["checks"]["broker"] == "ok"
            alive, took = timed("GET", f"{web.url}/healthz")
            outage["healthz"].append(took)
            assert alive.status_code == 200, "liveness stays up: nothing should restart the web for this"
            for name, method, url, kwargs in [
                ("submit", "POST", f"{api}/assessments/",
                 {"json": {"answers": EMERGENCY}, "headers": {**auth, "Idempotency-Key": refused_key}}),
                ("list", "GET", f"{api}/assessments/", {"headers": auth}),
                ("token", "POST", f"{api}/auth/token/", {"json": {"username": username, "password": PASSWORD}}),
            ]:
                response, took = timed(method, url, **kwargs)
                outage[name].append(took)
                # Then every request that needs the database is a 503 problem, at once, saying when to retry
                assert response.status_code == 503, (name, response.status_code, response.text[:300])
                assert response.headers["Content-Type"] == "application/json"
                assert response.json()["errors"][0]["code"] == "database_unavailable"
                assert int(response.headers["Retry-After"]) > 0
        latencies = [took for series in outage.values() for took in series]
        assert max(latencies) < REQUEST_LATENCY_LIMIT_SECONDS

        # When it starts again, the same web processes are ready at once and serve every thread's requests
        cluster.start()
        restarted = time.monotonic()
        polls_until_ready = 0
        while True:
            polls_until_ready += 1
            if requests.get(f"{web.url}/readyz", timeout=10).status_code == 200:
                break
            assert time.monotonic() - restarted < 30, "/readyz never came back"
        ready_after = time.monotonic() - restarted
        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(pool.map(
                lambda _: requests.get(f"{api}/assessments/", headers=auth, timeout=10).status_code, range(16)
            ))
        assert statuses == [200] * 16

        # The client retries the refused submission with its key: stored once
        retried = [requests.post(f"{api}/assessments/", json={"answers": EMERGENCY}, timeout=10,
                                 headers={**auth, "Idempotency-Key": refused_key}) for _ in range(2)]
        assert [r.status_code for r in retried] == [202, 202]
        assert retried[0].json()["id"] == retried[1].json()["id"]

        # …and every accepted assessment is triaged (the two whose tasks failed, by the beat's sweep), once
        expected = {a.json()["id"] for a in [*accepted, retried[0]]}

        def all_triaged():
            listed = requests.get(f"{api}/assessments/", headers=auth, timeout=10).json()["results"]
            return listed if all(a["status"] == "triaged" for a in listed) else None

        listed = wait_until(all_triaged, timeout=30, interval=0.25, message="every assessment to be triaged")
        triaged_after = time.monotonic() - restarted
        assert {a["id"] for a in listed} == expected, "nothing lost, nothing stored twice"
        assert [a["escalation"] is not None for a in listed if a["triage"]["urgency"] == "emergency"] == [True, True]
        assert worker.process.poll() is None and beat.process.poll() is None
        assert web.worker_pids() == web_workers, "gunicorn restarted a worker"
        failed_tasks = worker.failed_for_the_database(TRIAGE_TASK)
        failed_sweeps = worker.failed_for_the_database("triage.tasks.requeue_pending_assessments")
    finally:
        worker.stop()

    record_figures("postgres-restarted", {
        "database_down_seconds": round(restarted - stopped, 2),
        "requests_tried_while_down": sum(len(series) for series in outage.values()),
        "by_endpoint": {name: len(series) for name, series in outage.items()},
        "answers_while_down": "503 database_unavailable + Retry-After (readyz: 503 failed [database]; healthz 200)",
        "max_request_latency_while_down_ms": round(max(latencies) * 1000),
        "median_request_latency_while_down_ms": round(statistics.median(latencies) * 1000),
        "triage_tasks_failed_while_down": failed_tasks, "triage_sweeps_failed_while_down": failed_sweeps,
        "ready_after_restart_seconds": round(ready_after, 2), "readyz_polls_until_ready": polls_until_ready,
        "requests_after_restart": len(statuses), "errors_after_restart": sum(s != 200 for s in statuses),
        "all_triaged_after_restart_seconds": round(triaged_after, 2),
        "processes_restarted": 0, "accepted": len(expected), "lost": 0, "duplicates": 0,
    })
