"""Resident memory of a gunicorn web worker and of the Celery worker over 20,000 requests.

    .venv/bin/python -m bench.memory.run [--requests 20000] [--connections 6] [--max-seconds 200]

The stack is started as for bench/intake (bench/harness.py): gunicorn with
`services.settings.production` (DEBUG off: with DEBUG on, Django keeps every
query of a request in memory), a Celery worker, its own PostgreSQL database
`footdrop_bench_memory` and Redis db 13. A closed-loop client keeps a few
connections busy with what the clinic's apps send, as 64 users in turn:

* 10% POST /api/v1/assessments/ (the public vignettes' answers, a fresh patient
  each, with an Idempotency-Key), so that the Celery worker triages, proposes
  referrals and opens escalations all along (about 1,000 per 10,000 requests);
* 75% GET /api/v1/assessments/<id>/ of an assessment submitted earlier (the
  app polls its assessment until it is triaged);
* 15% GET /api/v1/assessments/ pages of 10, filtered as the dashboard does.

Every 1,000 requests the load pauses until the Celery worker has emptied its
queue, and resident memory (VmRSS in /proc/<pid>/status) is read, at rest:

* web: each gunicorn worker (the master only supervises; it serves nothing);
* celery: the main process plus its prefork pool children, summed (and each
  part). Summing RSS counts the pages they share (copy-on-write from the
  fork) once per process; the PSS sum, which divides shared pages among their
  sharers, is printed beside it.

The load stops after --max-seconds (default 200 s, so that the whole run
stays under 4 minutes) whatever it has reached, and then says so and compares
the halves of what it sent. 20,000 requests need about 370 CPU-seconds on the
machine of docs/performance.md (about 3 minutes on its two cores if nothing
else runs there); where other processes take much of the CPU, raise it.

Target: no growth beyond noise over the second 10,000 requests. Noise is what
a steady process shows anyway (allocator arenas, caches filling): growth from
10k to 20k below 5% of the RSS at 10k. For scale: a leak of 1 KB per request
would be 10 MB over 10,000 requests. The growth from 5k to 10k is printed for
comparison. A missed target is reported, not failed; the exit status is
non-zero only when the benchmark could not run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time

from bench.harness import HttpClient, Stack, WebConfig, machine, pss_kib, rss_kib, vignette_answers

REDIS_DB = 13
TARGET_GROWTH = 0.05
CHECKPOINT_EVERY = 1000
DRAIN_TIMEOUT_SECONDS = 60
MAX_LOAD_SECONDS = 200  # with the stack's start and the report: under 4 minutes
MIX = (("post", 10), ("detail", 75), ("list", 15))
LIST_QUERIES = ("", "", "&urgency=emergency", "&urgency=urgent", "&status=triaged", "&status=pending")


class Load:
    """The clinic's mix, one request at a time, from a seeded generator."""

    def __init__(self, client: HttpClient, patients: list[str], tokens: list[str], seed: int = 20261121) -> None:
        self.client = client
        self.tokens = tokens
        self.patients = iter(patients)
        self.answers = vignette_answers()
        self.rng = random.Random(seed)
        self.submitted: list[str] = []
        self.statuses: dict[int, int] = {}
        self.sent = 0

    async def one(self) -> None:
        """One request of the mix, as one of the users in turn."""
        kind = self.rng.choices([kind for kind, _ in MIX], [weight for _, weight in MIX])[0]
        auth = {"Authorization": f"Bearer {self.tokens[self.sent % len(self.tokens)]}"}
        self.sent += 1
        if kind == "post" or not self.submitted:
            patient = next(self.patients)
            body = json.dumps({"patient": patient, "answers": self.rng.choice(self.answers)}).encode()
            status, payload = await self.client.request("POST", "/api/v1/assessments/", body,
                                                        {**auth, "Idempotency-Key": f"bench-{patient}"})
            if status == 202:
                self.submitted.append(json.loads(payload)["id"])
        elif kind == "detail":
            path = f"/api/v1/assessments/{self.rng.choice(self.submitted)}/"
            status, _ = await self.client.request("GET", path, headers=auth)
        else:
            query = self.rng.choice(LIST_QUERIES) or ("&page=2" if len(self.submitted) > 20 else "")
            status, _ = await self.client.request("GET", f"/api/v1/assessments/?page_size=10{query}", headers=auth)
        self.statuses[status] = self.statuses.get(status, 0) + 1


async def drive(load: Load, requests: int, connections: int) -> None:
    """`requests` requests, `connections` at a time, each loop sending its next one as soon as it is answered."""
    remaining = requests

    async def loop() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await load.one()

    await asyncio.gather(*(loop() for _ in range(connections)))


def snapshot(stack: Stack) -> dict:
    celery = stack.celery_pids()
    return {"web": {pid: rss_kib(pid) for pid in stack.web_worker_pids()},
            "celery": sum(rss_kib(pid) for pid in celery), "celery_pss": sum(pss_kib(pid) for pid in celery),
            "celery_main": rss_kib(celery[0]), "celery_pool": sum(rss_kib(pid) for pid in celery[1:]),
            "celery_processes": len(celery)}


async def session(stack: Stack, requests: int, connections: int, patients: list[str],
                  max_seconds: float) -> tuple[dict, Load]:
    """Drive the load in steps of CHECKPOINT_EVERY requests; after each, let the Celery worker empty its queue
    and read the memory of both at rest. Stops early, saying so, after `max_seconds`."""
    client = HttpClient("127.0.0.1", stack.port, {"Content-Type": "application/json"})
    load = Load(client, patients, stack.tokens)
    readings = {0: snapshot(stack)}
    started = time.monotonic()
    try:
        for mark in range(CHECKPOINT_EVERY, requests + 1, CHECKPOINT_EVERY):
            await drive(load, CHECKPOINT_EVERY, connections)
            rate = mark / (time.monotonic() - started)
            drained = await asyncio.to_thread(stack.wait_until_idle, DRAIN_TIMEOUT_SECONDS)
            readings[mark] = snapshot(stack)
            web = readings[mark]["web"]
            print(f"  {mark:6} requests ({rate:5.1f}/s): web workers {', '.join(mb(v) for v in web.values())}; "
                  f"celery {mb(readings[mark]['celery'])} ({readings[mark]['celery_processes']} processes)"
                  + ("" if drained is not None else "; the worker did not empty its queue in time"), flush=True)
            if time.monotonic() - started > max_seconds and mark < requests:
                print(f"  stopped after {max_seconds:.0f} s, at {mark} of {requests} requests: the comparison "
                      f"below is between the halves of what was sent (--max-seconds to go on longer)", flush=True)
                break
    finally:
        client.close()
    return readings, load


def reported_marks(readings: dict) -> tuple[int, ...]:
    """0, a quarter, half, three quarters and all of the requests sent, on checkpoints."""
    reached = max(readings) // (4 * CHECKPOINT_EVERY) * 4 * CHECKPOINT_EVERY
    return tuple(reached * n // 4 for n in range(5))


def mb(kib: float) -> str:
    return f"{kib / 1024:.1f} MB"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def report(stack: Stack, readings: dict, load: Load) -> bool:
    _, q1, half, q3, end = reported_marks(readings)
    if not end:
        print("too few requests were sent to compare halves")
        return False
    print()
    print(f"machine: {machine()}")
    print(f"gunicorn {stack.web}; Celery worker prefork, concurrency {stack.celery_concurrency}; "
          f"answers: {', '.join(f'{n} x {status}' for status, n in sorted(load.statuses.items()))}; "
          f"assessments submitted {len(load.submitted)}")
    print(f"{'requests':24}{'start':>10}{q1:>10}{half:>10}{q3:>10}{end:>10}{f'growth {q1}-{half}':>20}"
          f"{f'growth {half}-{end}':>20}")
    rows = [(f"web worker {n + 1} (pid {pid})", {mark: readings[mark]["web"].get(pid, 0) for mark in readings})
            for n, pid in enumerate(readings[0]["web"])]
    rows.append(("celery RSS (main + pool)", {mark: readings[mark]["celery"] for mark in readings}))
    rows.append(("  of which main process", {mark: readings[mark]["celery_main"] for mark in readings}))
    rows.append(("  of which pool children", {mark: readings[mark]["celery_pool"] for mark in readings}))
    rows.append(("celery PSS (main + pool)", {mark: readings[mark]["celery_pss"] for mark in readings}))
    ok = True
    verdicts = []
    for name, values in rows:
        first, second = values[half] - values[q1], values[end] - values[half]
        print(f"{name:24}" + "".join(f"{values[mark] / 1024:>10.1f}" for mark in (0, q1, half, q3, end))
              + f"{first / 1024:>17.1f} MB{second / 1024:>17.1f} MB")
        if not name.startswith(("celery PSS", "  of which")):
            limit = TARGET_GROWTH * values[half]
            passed = second < limit
            ok &= passed
            verdicts.append(
                f"{name:24} growth over requests {half}-{end}: {second / 1024:5.1f} MB "
                f"({second / max(1, values[half]):+.1%}, {second * 1024 / (end - half):+.0f} B/request)   "
                f"target < {TARGET_GROWTH:.0%} of the RSS at {half} (< {limit / 1024:.1f} MB)   {verdict(passed)}"
            )
    print("(RSS and PSS in MB)")
    print()
    print("\n".join(verdicts))
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=20_000, help="a multiple of 4,000 (default 20,000)")
    parser.add_argument("--connections", type=int, default=6)
    parser.add_argument("--max-seconds", type=float, default=MAX_LOAD_SECONDS,
                        help=f"stop the load after this long, whatever it has reached (default {MAX_LOAD_SECONDS})")
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--web-threads", type=int, default=4)
    parser.add_argument("--celery-concurrency", type=int, default=2)
    args = parser.parse_args(argv)
    if args.requests % (4 * CHECKPOINT_EVERY):
        parser.error("--requests must be a multiple of 4,000")
    started = time.monotonic()
    web = WebConfig(args.web_workers, args.web_threads)
    with Stack("memory", redis_db=REDIS_DB, web=web, celery_concurrency=args.celery_concurrency) as stack:
        patients = stack.patients(args.requests // 5 + 100)
        print(f"stack up in {time.monotonic() - started:.0f} s: {args.requests} requests over "
              f"{args.connections} connections", flush=True)
        meter = stack.cpu_meter().start()
        readings, load = asyncio.run(session(stack, args.requests, args.connections, patients, args.max_seconds))
        cpu = meter.stop()
        report(stack, readings, load)
        print(f"CPU during the load: machine busy {cpu['machine'] / cpu['capacity']:.0%}, of which outside the "
              f"stack (the load generator, Redis, other tenants) {cpu['others'] / cpu['capacity']:.0%}")
    print(f"(stack stopped, database dropped; {time.monotonic() - started:.0f} s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
