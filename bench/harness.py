"""The service's stack for a benchmark, started and stopped by the benchmark itself.

    with Stack("intake", redis_db=12, web=WebConfig(workers=2, threads=4)) as stack:
        stack.base_url, stack.tokens, stack.patients(1000), stack.web_worker_pids(), ...

A stack is a PostgreSQL database of its own (`footdrop_bench_<name>`, created,
migrated, and dropped at the end), a Redis database number of its own
(flushed before and after), gunicorn and a Celery worker as subprocesses, each
in its own session so that its whole process group can be stopped. Everything
is undone on the way out, on failure, on Ctrl-C and on SIGTERM.

The services run with `services.settings.production` (DEBUG off, or Django
would keep every query in memory) on loopback only, with the default throttle
rates; the load comes from BENCH_USERS superusers in turn, whose JWTs the bench
makes. The benchmark process itself sets up Django on the same database, to
write its fixtures with the ORM.
Also here: a small asyncio HTTP/1.1 client and an open-loop (fixed arrival
rate) load generator, and /proc readings of resident memory.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import math
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOG_DIR = ROOT / "var" / "bench-logs"
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
PUBLIC_VIGNETTES = ROOT.parent / "shared" / "vignettes" / "public.json"
BENCH_USERS = 64


# --- Machine ------------------------------------------------------------------


def machine() -> str:
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return f"{os.cpu_count()} CPUs ({model}), {memory} RAM, Python {sys.version.split()[0]}"


def ensure_wrk() -> str:
    """The path of wrk; installed from Debian when missing and we are root, else a plain refusal."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("wrk is missing: installing the Debian package wrk", flush=True)
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.STDOUT}
        if subprocess.run(["apt-get", "install", "-y", "wrk"], check=False, **quiet).returncode:
            subprocess.run(["apt-get", "update"], check=False, **quiet)
            subprocess.run(["apt-get", "install", "-y", "wrk"], check=False, **quiet)
        found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is missing: install the Debian package 'wrk' (apt-get install wrk) and run again.")
    return found


def vignette_answers() -> list[dict]:
    """The answers of the public vignettes that are valid (the `invalid` ones are not sent)."""
    if not PUBLIC_VIGNETTES.exists():
        raise SystemExit(f"{PUBLIC_VIGNETTES} is missing: the load is made of the public vignettes' answers.")
    return [case["answers"] for case in json.loads(PUBLIC_VIGNETTES.read_text(encoding="utf-8"))["cases"]]


# --- Processes and memory -----------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def rss_kib(pid: int) -> int:
    """Resident set size (VmRSS in /proc/<pid>/status), KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def pss_kib(pid: int) -> int:
    """Proportional set size: shared pages divided among their sharers, so sums do not double-count."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return 0


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of one process so far (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime


def machine_cpu_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, all cores together."""
    ticks = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = ticks[3] + ticks[4]  # idle, iowait
    total = sum(ticks[:8])  # guest time is already counted in user
    return (total - idle) / CLOCK_TICKS, total / CLOCK_TICKS


def child_pids(pid: int) -> list[int]:
    children = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            children += [int(child) for child in (task / "children").read_text().split()]
    return sorted(children)


class Service:
    """One subprocess in its own session; `stop()` ends its whole process group."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_path: Path) -> None:
        self.name = name
        self.log_path = log_path
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("wb") as log:
            self.process = subprocess.Popen(
                argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.pgid = self.process.pid

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, grace: float = 10) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pgid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=grace)
        # Whatever is left of the group (pool children outliving their parent) goes too.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pgid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)


# --- The stack ----------------------------------------------------------------


@dataclass(frozen=True)
class WebConfig:
    workers: int = 2
    threads: int = 4

    @property
    def worker_class(self) -> str:
        return "gthread" if self.threads > 1 else "sync"

    def __str__(self) -> str:
        return f"{self.workers} workers x {self.threads} threads ({self.worker_class})"


@dataclass
class Stack:
    name: str
    redis_db: int
    web: WebConfig = field(default_factory=WebConfig)
    celery_concurrency: int = 2
    extra_env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.database = f"footdrop_bench_{self.name}"
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.broker_url = f"redis://{REDIS_HOST}:{REDIS_PORT}/{self.redis_db}"
        self.tokens: list[str] = []
        self.services: dict[str, Service] = {}
        self._closed = False
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "services.settings.production",
            "SECRET_KEY": secrets.token_urlsafe(64),
            "SECURE_SSL_REDIRECT": "false",
            "SECURE_HSTS_SECONDS": "0",
            "ALLOWED_HOSTS": "127.0.0.1",
            "DEBUG": "false",
            "DATABASE_URL": f"postgres://{PG['user']}@{PG['host']}:{PG['port']}/{self.database}",
            "CELERY_BROKER_URL": self.broker_url,
            "BENCH_ENDPOINTS": "true",
            "JWT_ACCESS_MINUTES": "60",
            "EMAIL_URL": "consolemail://",
            "SMS_BACKEND": "console",
            "PYTHONUNBUFFERED": "1",
            **self.extra_env,
        }

    # -- lifecycle --

    def __enter__(self) -> Stack:
        atexit.register(self.close)
        for signum in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, _raise_system_exit)
        try:
            self._flush_redis()
            self._create_database()
            self._setup_django()
            self.start_web()
            self.start_worker()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for service in reversed(list(self.services.values())):
            service.stop()
        self.services.clear()
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        with contextlib.suppress(Exception):
            self._drop_database()
        with contextlib.suppress(Exception):
            self._flush_redis()

    # -- database and broker --

    def _admin_sql(self, *statements: str) -> None:
        import psycopg

        with psycopg.connect(dbname="postgres", autocommit=True, connect_timeout=5, **PG) as connection:
            for statement in statements:
                connection.execute(statement)

    def _create_database(self) -> None:
        self._admin_sql(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)', f'CREATE DATABASE "{self.database}"')

    def _drop_database(self) -> None:
        self._admin_sql(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')

    def redis(self):
        import redis

        return redis.Redis.from_url(self.broker_url, socket_timeout=5)

    def _flush_redis(self) -> None:
        self.redis().flushdb()

    def _setup_django(self) -> None:
        os.environ.update(self.env)
        import django

        django.setup()
        from django.core.management import call_command
        from rest_framework_simplejwt.tokens import RefreshToken

        from accounts.models import Role, User
        from accounts.selectors import clinic_default

        call_command("migrate", verbosity=0, interactive=False)
        self.clinic = clinic_default()
        # The load comes from many users, as in a clinic: the throttles (per user, default rates) then cost
        # what they cost in production; one user would be throttled, or carry a history of every request.
        users = [
            User(username=f"bench{n}", email=f"bench{n}@example.org", role=Role.STAFF, clinic=self.clinic,
                 is_superuser=True, is_staff=True)
            for n in range(BENCH_USERS)
        ]
        for user in users:
            user.set_unusable_password()
        User.objects.bulk_create(users)
        self.tokens = [str(RefreshToken.for_user(user).access_token) for user in users]

    def token(self, n: int) -> str:
        """The n-th request's bearer token: requests take the users in turn."""
        return self.tokens[n % len(self.tokens)]

    def write_tokens(self, path: Path) -> Path:
        path.write_text("\n".join(self.tokens) + "\n")
        return path

    def patients(self, count: int) -> list[str]:
        """`count` new patients of the clinic, their ids in order."""
        from patients.models import Patient

        stamp = time.monotonic_ns()
        rows = [
            Patient(clinic=self.clinic, first_name="Bench", last_name=f"Patient {stamp}-{n}",
                    date_of_birth=date(1960 + n % 40, 1 + n % 12, 1 + n % 28), phone=f"+3461{n % 10_000_000:07d}",
                    email=f"bench{n}@example.org", language="es" if n % 4 == 0 else "en")
            for n in range(count)
        ]
        Patient.objects.bulk_create(rows, batch_size=2000)
        return [str(row.id) for row in rows]

    # -- services --

    def start_web(self, web: WebConfig | None = None, timeout: float = 30) -> None:
        if web is not None:
            self.web = web
        if "web" in self.services:
            self.services.pop("web").stop()
        argv = [
            sys.executable, "-m", "gunicorn", "services.wsgi:application", "--bind", f"127.0.0.1:{self.port}",
            "--workers", str(self.web.workers), "--threads", str(self.web.threads),
            "--worker-class", self.web.worker_class, "--access-logfile", "-", "--log-level", "info",
            "--graceful-timeout", "5", "--backlog", "2048",
        ]
        self.services["web"] = Service("web", argv, self._env_for("web"), LOG_DIR / f"{self.name}-web.log")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.services["web"].alive():
                raise RuntimeError(f"gunicorn exited; see {self.services['web'].log_path}")
            ready = f"{self.base_url}/readyz"
            with contextlib.suppress(OSError), urllib.request.urlopen(ready, timeout=2) as answer:  # noqa: S310
                if answer.status == 200 and len(self.web_worker_pids()) == self.web.workers:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn was not ready within {timeout} s; see {self.services['web'].log_path}")

    def start_worker(self, timeout: float = 30) -> None:
        from services.celery_app import app

        node = f"bench-{self.name}-{os.getpid()}@{socket.gethostname()}"
        argv = [
            sys.executable, "-m", "celery", "-A", "services", "worker", "--loglevel", "INFO",
            "--concurrency", str(self.celery_concurrency), "--pool", "prefork", "--prefetch-multiplier", "1",
            "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", node,
        ]
        self.services["worker"] = Service("worker", argv, self._env_for("worker"), LOG_DIR / f"{self.name}-worker.log")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.services["worker"].alive():
                raise RuntimeError(f"the Celery worker exited; see {self.services['worker'].log_path}")
            if app.control.ping(destination=[node], timeout=0.5):
                return
        log = self.services["worker"].log_path
        raise RuntimeError(f"the Celery worker did not answer within {timeout} s; see {log}")

    def _env_for(self, part: str) -> dict[str, str]:
        """The stack's environment, with a PostgreSQL application_name that tells this part's backends apart."""
        return {**self.env, "DATABASE_URL": f"{self.env['DATABASE_URL']}?application_name=bench-{part}"}

    def web_worker_pids(self) -> list[int]:
        """gunicorn's workers (the master only supervises them)."""
        return child_pids(self.services["web"].pid) if "web" in self.services else []

    def celery_pids(self) -> list[int]:
        """The Celery main process and its prefork pool children."""
        main = self.services["worker"].pid
        return [main, *child_pids(main)]

    def postgres_pids(self, part: str | None = None) -> list[int]:
        """The PostgreSQL backends serving this stack's database (kept open: CONN_MAX_AGE), or one part's."""
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT pid, application_name FROM pg_stat_activity WHERE datname = %s", [self.database])
            return [pid for pid, name in cursor.fetchall() if part is None or name == f"bench-{part}"]

    def cpu_meter(self) -> CpuMeter:
        return CpuMeter(self)

    # -- the worker's backlog --

    def queued_tasks(self) -> int:
        """Tasks waiting in the broker plus those delivered but not yet acknowledged (acks_late)."""
        from django.conf import settings

        client = self.redis()
        queued = sum(int(client.llen(queue.name)) for queue in settings.CELERY_TASK_QUEUES)
        return queued + int(client.hlen("unacked"))

    def pending_assessments(self) -> int:
        from triage.models import Assessment, AssessmentStatus

        return Assessment.objects.filter(status=AssessmentStatus.PENDING).count()

    def wait_until_idle(self, timeout: float) -> float | None:
        """Wait for the worker to empty its queue and triage every assessment; the seconds it took, or None."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.queued_tasks() == 0 and self.pending_assessments() == 0:
                return time.monotonic() - started
            time.sleep(0.5)
        return None


class CpuMeter:
    """CPU seconds spent between `start()` and `stop()` by the stack's parts: gunicorn's workers (`web`), the
    PostgreSQL backends serving them (`web_pg`), the Celery worker and its pool (`worker`), the backends serving
    those (`worker_pg`); and by the machine as a whole: what a request costs, and how much the neighbours took."""

    PARTS = ("web", "web_pg", "worker", "worker_pg")

    def __init__(self, stack: Stack) -> None:
        self.stack = stack

    def _groups(self) -> dict[str, list[int]]:
        return {"web": self.stack.web_worker_pids(), "web_pg": self.stack.postgres_pids("web"),
                "worker": self.stack.celery_pids(), "worker_pg": self.stack.postgres_pids("worker")}

    def start(self) -> CpuMeter:
        self.before = {name: {pid: cpu_seconds(pid) for pid in pids} for name, pids in self._groups().items()}
        self.machine_before = machine_cpu_seconds()
        return self

    def stop(self) -> dict[str, float]:
        """Seconds per part, plus `machine` (all busy CPU) and `others` (busy CPU outside the stack: the load
        generator, Redis, and whatever else runs on this machine)."""
        busy, total = machine_cpu_seconds()
        spent = {}
        for name, pids in self._groups().items():
            before = self.before[name]
            spent[name] = sum(cpu_seconds(pid) - before.get(pid, 0.0) for pid in pids)
        spent["machine"] = busy - self.machine_before[0]
        spent["others"] = spent["machine"] - sum(spent[part] for part in self.PARTS)
        spent["capacity"] = total - self.machine_before[1]
        return spent


def _raise_system_exit(signum, frame) -> None:
    raise SystemExit(128 + signum)


# --- HTTP load ----------------------------------------------------------------


class HttpClient:
    """HTTP/1.1 over asyncio streams with a pool of keep-alive connections, for loopback load.

    Only what gunicorn answers needs reading: a status line, headers, and a body
    of Content-Length bytes or chunked. A connection idle for longer than
    `IDLE_SECONDS` is not reused: gunicorn closes keep-alive connections after
    2 s, and a request sent as it does so would fail for a reason of our making.
    """

    IDLE_SECONDS = 1.0

    def __init__(self, host: str, port: int, headers: dict[str, str], max_connections: int = 256) -> None:
        self.host, self.port = host, port
        self.headers = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []
        self.slots = asyncio.Semaphore(max_connections)
        self.opened = 0

    async def request(self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
                      ) -> tuple[int, bytes]:
        extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
        head = (f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n{self.headers}{extra}"
                f"Content-Length: {len(body)}\r\n\r\n").encode()
        async with self.slots:
            reader, writer, reused = await self._connection()
            try:
                writer.write(head + body)
                status, keep_alive, payload = await self._response(reader)
            except (ConnectionError, asyncio.IncompleteReadError):
                writer.close()
                if not reused:
                    raise
                # The server closed a kept-alive connection as we used it: once more, on a new one.
                reader, writer = await self._connect()
                writer.write(head + body)
                status, keep_alive, payload = await self._response(reader)
            if keep_alive:
                self.idle.append((reader, writer, time.monotonic()))
            else:
                writer.close()
            return status, payload

    async def _connection(self):
        while self.idle:
            reader, writer, since = self.idle.pop()
            if time.monotonic() - since < self.IDLE_SECONDS:
                return reader, writer, True
            writer.close()
        return *await self._connect(), False

    async def _connect(self):
        self.opened += 1
        return await asyncio.open_connection(self.host, self.port)

    @staticmethod
    async def _response(reader: asyncio.StreamReader) -> tuple[int, bool, bytes]:
        status_line = await reader.readline()
        if not status_line:
            raise ConnectionResetError("connection closed before a response")
        status = int(status_line.split()[1])
        length, chunked, keep_alive = 0, False, True
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding" and "chunked" in value:
                chunked = True
            elif name == "connection" and value == "close":
                keep_alive = False
        if not chunked:
            return status, keep_alive, await reader.readexactly(length)
        body = b""
        while size := int((await reader.readline()).split(b";")[0], 16):
            body += await reader.readexactly(size)
            await reader.readexactly(2)
        await reader.readline()
        return status, keep_alive, body

    def close(self) -> None:
        for _, writer, _ in self.idle:
            writer.close()
        self.idle.clear()


@dataclass
class FixedRateResult:
    rate: float
    seconds: float
    latencies: list[float]
    statuses: dict[int, int]
    errors: dict[str, int]  # requests without an answer, by exception

    @property
    def achieved_rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    @property
    def failed(self) -> int:
        """Requests answered with other than 2xx, or not answered."""
        return sum(n for status, n in self.statuses.items() if not 200 <= status < 300) + sum(self.errors.values())

    def percentile(self, q: float) -> float:
        """Nearest-rank percentile of the latencies, seconds."""
        return nearest_rank(self.latencies, q)


def nearest_rank(values: Iterable[float], q: float) -> float:
    """The nearest-rank percentile `q` (0 to 100) of `values`; NaN when there are none."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


async def fixed_rate(send: Callable[[int], Awaitable[int]], *, rate: float, seconds: float) -> FixedRateResult:
    """Open-loop load: request i is due at start + i / rate, whether or not earlier ones have answered.

    Each latency runs from when the request was due, not from when it could be
    sent, so that a slow server cannot hide its queue (no coordinated omission).
    """
    loop = asyncio.get_running_loop()
    total = max(1, int(rate * seconds))
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors: dict[str, int] = {}

    async def one(index: int, due: float) -> None:
        try:
            status = await send(index)
        except Exception as error:  # a refused or broken connection is an error, not a latency
            errors[type(error).__name__] = errors.get(type(error).__name__, 0) + 1
            return
        statuses[status] = statuses.get(status, 0) + 1
        latencies.append(loop.time() - due)

    start = loop.time() + 0.05
    pending = []
    for index in range(total):
        due = start + index / rate
        if (wait := due - loop.time()) > 0:
            await asyncio.sleep(wait)
        pending.append(asyncio.create_task(one(index, due)))
    await asyncio.gather(*pending)
    return FixedRateResult(rate, loop.time() - start, latencies, statuses, errors)
