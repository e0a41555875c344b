"""Escalation latency: an emergency assessment POSTed until its SMS reaches Twilio, beside a no-op round trip.

    .venv/bin/python -m bench.escalation.run [--cases 200] [--rate 5] [--celery-concurrency 2]

The whole stack runs here as subprocesses the benchmark starts and stops
(bench/harness.py): gunicorn (`services.settings.production`), a Celery
worker, Celery beat (so the escalation clock and outbox sweeps run as in
production), PostgreSQL database `footdrop_bench_escalation` and Redis db 6.
A fake Twilio (real HTTP on loopback) and an SMTP sink (aiosmtpd) run in a child
process of their own; one active tier-1 contact gets an SMS and an email per case.

Measured, for each emergency case sent at a steady rate (open loop): from
when its `POST /api/v1/assessments/` was due to when its SMS request arrived
at the fake Twilio. That path is one broker hop (web -> worker: triage, which
evaluates the answers and commits the urgency, the escalation and the tier-1
pages; then it queues the result, evaluation and referrals, and the email for
other workers, and sends the SMS itself) plus the work of each.

The floor, measured in the same run and through the same broker while the
cases run: the round trip of Celery's built-in no-op task `celery.accumulate`
(publish, a worker runs it, its result comes back). That needs a result
backend, which the stack gets for the benchmark only (Redis, the same db).

Every figure is printed with its target and PASS/MISS. The exit status is
non-zero only when the benchmark could not run; a missed target is reported.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing
import os
import queue
import re
import secrets
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

from bench.harness import LOG_DIR, HttpClient, Service, Stack, fixed_rate, free_port, machine

REDIS_DB = 6  # bench/intake uses 12, the test runs 15
ACCOUNT_SID, AUTH_TOKEN = "ACbench", "bench-token"
TARGET_P99_MS = 250.0
TARGET_FLOOR_MULTIPLE = 3.0  # p50 within 3x of two no-op round trips
WARMUP_CASES = 10
SMS_WAIT_SECONDS = 30
EMERGENCY = {"age": 45, "affected_side": "left", "days_since_onset": 2, "onset_speed": "sudden",
             "course": "worsening_fast", "foot_lift": "cannot", "urinary_retention": True, "incontinence": False,
             "saddle_numbness": True, "back_pain": True}
CASE_CODE = re.compile(r"Case (\d+)")


class TwilioHandler(BaseHTTPRequestHandler):
    """Twilio's Messages endpoint: notes when each SMS arrived, answers 201 with a SID."""

    protocol_version = "HTTP/1.1"  # keep-alive, as api.twilio.com
    disable_nagle_algorithm = True  # or a delayed ACK holds each reply's body ~40 ms

    def do_POST(self) -> None:
        arrived = time.time()
        payload = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        code = CASE_CODE.search(parse_qs(payload).get("Body", [""])[0])
        self.server.arrivals.put((code.group(1) if code else "", arrived))
        data = json.dumps({"sid": f"SM{secrets.token_hex(16)}", "status": "queued"}).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


class SmtpCounter:
    def __init__(self, received) -> None:
        self.received = received

    async def handle_DATA(self, server, session, envelope):
        with self.received.get_lock():
            self.received.value += 1
        return "250 OK"


def serve_fakes(ports, arrivals, received) -> None:
    """In a process of its own: a busy benchmark process must not delay (or mis-time) the fakes' answers."""
    from aiosmtpd.controller import Controller

    server = ThreadingHTTPServer(("127.0.0.1", 0), TwilioHandler)
    server.daemon_threads = True
    server.arrivals = arrivals
    smtp_port = free_port()
    Controller(SmtpCounter(received), hostname="127.0.0.1", port=smtp_port).start()
    ports.send((server.server_address[1], smtp_port))
    server.serve_forever()


class Fakes:
    """A fake Twilio (real HTTP) and an SMTP sink (aiosmtpd), in a child process."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("fork")  # before Django is set up: no connections to inherit
        self.queue, self.received = context.Queue(), context.Value("i", 0)
        mine, theirs = context.Pipe()
        self.process = context.Process(target=serve_fakes, args=(theirs, self.queue, self.received), daemon=True)
        self.process.start()
        twilio_port, self.smtp_port = mine.recv()
        self.twilio_url = f"http://127.0.0.1:{twilio_port}"
        self.arrivals: dict[str, float] = {}  # case code -> wall-clock arrival of its first SMS

    def collect(self) -> int:
        while True:
            try:
                code, arrived = self.queue.get_nowait()
            except queue.Empty:
                return len(self.arrivals)
            self.arrivals.setdefault(code, arrived)

    def stop(self) -> None:
        self.process.terminate()
        self.process.join(5)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)] if ordered else float("nan")


class NoopProbe(threading.Thread):
    """Round trips of Celery's built-in no-op task, one after another, until stopped."""

    def __init__(self, interval: float) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.samples: list[float] = []
        self.errors = 0
        self.stopping = threading.Event()

    def once(self) -> float:
        from services.celery_app import app

        started = time.perf_counter()
        app.send_task("celery.accumulate", args=[1]).get(timeout=10)
        return time.perf_counter() - started

    def run(self) -> None:
        while not self.stopping.wait(self.interval):
            try:
                self.samples.append(self.once())
            except Exception:  # a lost round trip is counted, not timed
                self.errors += 1


def start_beat(stack: Stack, workdir: Path) -> None:
    argv = [sys.executable, "-m", "celery", "-A", "services", "beat", "--loglevel", "INFO",
            "-s", str(workdir / "celerybeat-schedule")]
    stack.services["beat"] = Service("beat", argv, stack.env, LOG_DIR / f"{stack.name}-beat.log")


def setup_cases(stack: Stack, count: int) -> list[str]:
    from notifications.models import OnCallContact

    OnCallContact.objects.create(name="Bench on-call", phone="+34660000001", email="oncall@example.org", tier=1)
    return stack.patients(count)


def send_cases(stack: Stack, patients: list[str], rate: float) -> tuple[dict[str, float], int]:
    """POST one emergency per patient at `rate`; the due time of each assessment id."""
    due_at: dict[str, float] = {}
    failures = 0

    async def run():
        nonlocal failures
        client = HttpClient("127.0.0.1", stack.port, {"Content-Type": "application/json"})

        async def send(index: int) -> int:
            nonlocal failures
            due = time.time()
            body = json.dumps({"patient": patients[index], "answers": EMERGENCY}).encode()
            status, payload = await client.request("POST", "/api/v1/assessments/", body,
                                                   {"Authorization": f"Bearer {stack.token(index)}"})
            if status in (201, 202):
                due_at[json.loads(payload)["id"]] = due
            else:
                failures += 1
            return status

        try:
            await fixed_rate(send, rate=rate, seconds=len(patients) / rate)
        finally:
            client.close()

    asyncio.run(run())
    return due_at, failures


def wait_for_sms(fakes: Fakes, expected: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and fakes.collect() < expected:
        time.sleep(0.2)


def stages(twilio: Fakes, due_at: dict[str, float]) -> dict[str, list[float]]:
    """Where the time goes, by the database's clocks and the fake's (one machine, one wall clock)."""
    from notifications.models import DeliveryAttempt, Notification

    sms = Notification.objects.filter(escalation__assessment_id__in=due_at, channel="sms").values_list(
        "escalation__assessment_id", "escalation__assessment__submitted_at", "escalation__opened_at", "claimed_at",
        "escalation__case_code",
    )
    out: dict[str, list[float]] = {
        "POST due -> assessment stored (web)": [], "stored -> escalation opened (hop 1, evaluation)": [],
        "opened -> SMS claimed (pages, commit)": [], "claimed -> SMS at Twilio (HTTP)": [],
    }
    for assessment_id, submitted_at, opened_at, claimed_at, code in sms:
        out["POST due -> assessment stored (web)"].append(submitted_at.timestamp() - due_at[str(assessment_id)])
        out["stored -> escalation opened (hop 1, evaluation)"].append((opened_at - submitted_at).total_seconds())
        if claimed_at is not None:
            out["opened -> SMS claimed (pages, commit)"].append((claimed_at - opened_at).total_seconds())
            if code in twilio.arrivals:
                out["claimed -> SMS at Twilio (HTTP)"].append(twilio.arrivals[code] - claimed_at.timestamp())
    durations = DeliveryAttempt.objects.filter(
        notification__escalation__assessment_id__in=due_at, notification__channel="sms"
    ).values_list("duration_ms", flat=True)
    out["(the Twilio call, request to answer)"] = [ms / 1000 for ms in durations if ms is not None]
    return out


def latencies(twilio: Fakes, due_at: dict[str, float]) -> list[float]:
    from notifications.models import Escalation

    codes = dict(Escalation.objects.filter(assessment_id__in=due_at).values_list("assessment_id", "case_code"))
    return [twilio.arrivals[codes[aid]] - due_at[str(aid)] for aid in codes if codes[aid] in twilio.arrivals]


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--rate", type=float, default=5.0, help="emergency cases per second")
    parser.add_argument("--celery-concurrency", type=int, default=2, help="as the Procfile's default")
    args = parser.parse_args(argv)

    fakes = Fakes()
    workdir = Path(tempfile.mkdtemp(prefix="bench-escalation-"))
    broker = f"redis://127.0.0.1:6379/{REDIS_DB}"
    extra_env = {
        "SMS_BACKEND": "twilio", "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM_NUMBER": "+15005550006", "TWILIO_API_BASE_URL": fakes.twilio_url,
        "EMAIL_URL": f"smtp://127.0.0.1:{fakes.smtp_port}", "ESCALATION_ACK_TIMEOUT_SECONDS": "3600",
        "CELERY_RESULT_BACKEND": broker,  # for the no-op round trip only
        "VAR_DIR": str(workdir), "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
    }
    load_before = os.getloadavg()[0]
    try:
        stack = Stack("escalation", redis_db=REDIS_DB, celery_concurrency=args.celery_concurrency,
                      extra_env=extra_env)
        stack.env["PUBLIC_BASE_URL"] = stack.base_url  # its port is chosen on construction
        with stack:
            start_beat(stack, workdir)
            patients = setup_cases(stack, WARMUP_CASES + args.cases)
            print(f"stack up: gunicorn {stack.web}, Celery worker prefork x{stack.celery_concurrency}, beat; "
                  f"{args.cases} emergency cases at {args.rate:g}/s after {WARMUP_CASES} to warm up, "
                  f"from {len(stack.tokens)} users", flush=True)

            warm, _ = send_cases(stack, patients[:WARMUP_CASES], rate=args.rate)
            wait_for_sms(fakes, len(warm), SMS_WAIT_SECONDS)
            idle = NoopProbe(0)
            idle_samples = [idle.once() for _ in range(50)]

            probe = NoopProbe(interval=0.1)
            probe.start()
            due_at, failures = send_cases(stack, patients[WARMUP_CASES:], rate=args.rate)
            probe.stopping.set()
            probe.join()
            wait_for_sms(fakes, len(warm) + len(due_at), SMS_WAIT_SECONDS)

            measured = latencies(fakes, due_at)
            breakdown = stages(fakes, due_at)
            report(args, stack, measured, len(due_at), failures, probe, idle_samples, breakdown,
                   fakes.received.value, load_before)
    finally:
        fakes.stop()
    return 0


def report(args, stack, measured, accepted, failures, probe, idle_samples, breakdown, emails, load_before) -> None:
    p50, p99 = percentile(measured, 50) * 1000, percentile(measured, 99) * 1000
    noop50, noop99 = percentile(probe.samples, 50) * 1000, percentile(probe.samples, 99) * 1000
    idle50 = percentile(idle_samples, 50) * 1000
    limit = TARGET_FLOOR_MULTIPLE * 2 * noop50
    print()
    print(f"machine: {machine()}; load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after "
          f"(everything else running on this machine shares its CPUs)")
    print(f"cases: {args.cases} sent at {args.rate:g}/s, {accepted} accepted, {failures} refused; "
          f"SMS arrived for {len(measured)}; emails received {emails}")
    print(f"no-op Celery round trip (celery.accumulate, Redis broker + result backend), during the load: "
          f"p50 {noop50:.1f} ms, p99 {noop99:.1f} ms over {len(probe.samples)} ({probe.errors} lost); "
          f"idle: p50 {idle50:.1f} ms")
    for name, values in breakdown.items():
        print(f"  stage {name:44} p50 {percentile(values, 50) * 1000:6.1f} ms  "
              f"p99 {percentile(values, 99) * 1000:6.1f} ms")
    if not measured:
        print("MISS: no SMS arrived: nothing to measure (see var/bench-logs/escalation-*.log)")
        return
    print(f"POST due -> SMS at Twilio: p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {max(measured) * 1000:.1f} ms, "
          f"mean {statistics.fmean(measured) * 1000:.1f} ms")
    print(f"p99 {p99:.1f} ms (target < {TARGET_P99_MS:g} ms): {verdict(p99 < TARGET_P99_MS)}")
    print(f"p50 {p50:.1f} ms (target <= {TARGET_FLOOR_MULTIPLE:g} x 2 no-op round trips = {limit:.1f} ms): "
          f"{verdict(p50 <= limit)}")
    if len(measured) < accepted:
        print(f"MISS: {accepted - len(measured)} accepted case(s) got no SMS within {SMS_WAIT_SECONDS} s")


if __name__ == "__main__":
    sys.exit(main())
