"""Pages at a million assessments: each list page, filter and admin page, timed, counted and explained.

    .venv/bin/python -m bench.scale.run [--requests 5] [--warmup 1] [--keep] [--reuse]

The database `footdrop_bench_scale` is seeded by bench/scale/seed.py (about
4.3 million rows: 1,000,000 assessments with their evaluations, 125,000
escalations with 580,000 notifications, 200,000 referrals with 920,000 events,
100,000 patients in 4 clinics), and dropped at the end unless `--keep`.
`--reuse` takes a kept database as it is (migrating it first, so that a new
index applies) instead of seeding.

Requests go through Django's test client in this process, with production
settings (DEBUG off): the whole request and response (middleware, JWT or
session authentication, throttle, filters, pagination, serialisation or
template rendering, the audit trail's insert) without a socket or a WSGI
server, which keeps the figures about our code and the database rather than
the machine's scheduler. Each page is requested as a staff member of the
largest clinic (40 % of the rows, the worst case for the clinic's counts) and
as a superuser (every row); pages take turns, round after round, so that a
noisy neighbour slows them alike; the median and the 90th percentile of
`--requests` rounds after `--warmup` are printed with the target: 30 ms for an
API page, 200 ms for an admin page. Each round requests each page twice: once
making the list's count, once with it kept (common/pagination.py keeps the
count of a list of 10,000 rows or more for 30 s; the home page keeps its two
weeks' activity a minute). The target is judged on the second, a busy list's
page; the first is printed beside it.

For each page, also:
* the number of queries at 10 rows and at 100 rows per page (`?page_size=`
  for the API; `list_per_page`, the worklists' and the board's limits for the
  admin), which must be the same;
* EXPLAIN (ANALYZE, BUFFERS) of every SELECT the page ran, captured from one
  request: the verdict names any big table scanned sequentially to keep less
  than a fifth of its rows (an index's job: "SEQ SCAN"), and those read whole
  to keep more (a clinic's 40 % of the patients, hashed: "whole-table read"); and
  the plans of the page's main query and count are printed (the full text
  plans go to var/bench-logs/scale-plans.txt);
* the overdue sweep (referrals.actions.referrals_mark_overdue), with 0, N
  and 2N newly breached referrals among the 200,000, in a transaction rolled
  back: its cost follows the breaches, not the table.

A missed target is reported, not failed (as for every benchmark in bench/):
the exit status is non-zero only when the benchmark could not run. A page
whose query count depends on its rows is reported as a MISS (`DIFFER`).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import math
import os
import statistics
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit, urlunsplit

from bench.harness import LOG_DIR, machine
from bench.scale.seed import (
    DATABASE,
    Plan,
    database_create,
    database_drop,
    database_exists,
    django_setup,
    print_report,
    seed,
)

API_TARGET_MS = 30.0
ADMIN_TARGET_MS = 200.0
DEEP_PAGE = 50
BIG_TABLES = {"patients_patient", "triage_assessment", "triage_evaluation", "referrals_referral",
              "referrals_referralevent", "notifications_escalation", "notifications_notification",
              "audit_auditevent"}
WIDE_SCAN_SHARE = 0.2  # a sequential scan that keeps at least this share of its table's rows is not flagged
SWEEP_BREACHES = 200  # N; the sweep marks at most 500 a run, so 2N fits one run


@dataclass
class Page:
    url: str
    admin: bool = False
    main_table: str = ""  # the table the page lists: its page query and count are the ones printed
    count: int = 0  # rows in the list, for an API page
    number: int = 1

    @property
    def target_ms(self) -> float:
        return ADMIN_TARGET_MS if self.admin else API_TARGET_MS


@dataclass
class Measured:
    page: Page
    who: str
    samples: list[float] = field(default_factory=list)  # the list's count kept
    counted_samples: list[float] = field(default_factory=list)  # the count made by this request
    queries: dict[int, int] = field(default_factory=dict)
    verdict: str = ""
    plans: list[str] = field(default_factory=list)

    def percentile(self, q: float, samples: list[float] | None = None) -> float:
        ordered = sorted(self.samples if samples is None else samples)
        return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)] * 1000

    @property
    def passed(self) -> bool:
        return self.percentile(50) < self.page.target_ms

    @property
    def constant_queries(self) -> bool:
        return len(set(self.queries.values())) == 1


def with_query(url: str, **params) -> str:
    parts = urlsplit(url)
    query = "&".join(filter(None, [parts.query, urlencode(params)]))
    return urlunsplit(parts._replace(query=query))


# --------------------------------------------------------------------------- who asks, and what


class Visitor:
    """One user with a test client: a bearer token for the API, a session for the admin."""

    def __init__(self, user, label: str) -> None:
        from django.test import Client
        from rest_framework_simplejwt.tokens import RefreshToken

        self.user, self.label = user, label
        self.client = Client()
        self.client.force_login(user)
        self.api_headers = {"HTTP_AUTHORIZATION": f"Bearer {RefreshToken.for_user(user).access_token}"}

    def get(self, page: Page, url: str | None = None):
        response = self.client.get(url or page.url, **({} if page.admin else self.api_headers))
        if response.status_code != 200:
            raise SystemExit(f"{self.label}: GET {url or page.url} answered {response.status_code}")
        return response


def pages_for(visitor: Visitor) -> list[Page]:
    """Every list page and filter, page 1 and a deep page, as this visitor sees them."""
    from django.db.models import Count

    from triage.models import Assessment

    # The clinic's patient with the most assessments: the longest history a patient filter has to page through.
    patient = (Assessment.objects.filter(clinic_id=visitor.user.clinic_id).values("patient_id")
               .annotate(n=Count("id")).order_by("-n").values_list("patient_id", flat=True)[0])
    api = [
        ("/api/v1/assessments/", "triage_assessment"),
        ("/api/v1/assessments/?urgency=emergency", "triage_assessment"),
        ("/api/v1/assessments/?status=triaged", "triage_assessment"),
        ("/api/v1/assessments/?status=pending", "triage_assessment"),
        (f"/api/v1/assessments/?patient={patient}", "triage_assessment"),
        ("/api/v1/referrals/", "referrals_referral"),
        ("/api/v1/referrals/?status=sent", "referrals_referral"),
        ("/api/v1/referrals/?specialty=neurology", "referrals_referral"),
        ("/api/v1/referrals/?priority=emergency", "referrals_referral"),
        ("/api/v1/referrals/?overdue=true", "referrals_referral"),
        ("/api/v1/referrals/?needs_attention=true", "referrals_referral"),
        ("/api/v1/escalations/", "notifications_escalation"),
        ("/api/v1/escalations/?status=open", "notifications_escalation"),
        ("/api/v1/patients/", "patients_patient"),
    ]
    pages = []
    for url, table in api:
        first = Page(url, main_table=table)
        first.count = count = json.loads(visitor.get(first).content)["count"]
        pages.append(first)
        deep = min(DEEP_PAGE, max(1, math.ceil(count / 50)))
        if deep > 1 and "?" not in url:  # a deep page of each list; its filters' first pages
            pages.append(Page(with_query(url, page=deep), main_table=table, count=count, number=deep))
    admin = [
        ("/admin/", ""),
        ("/admin/referrals/referral/board/", "referrals_referral"),
        ("/admin/triage/assessment/", "triage_assessment"),
        ("/admin/triage/assessment/?urgency__exact=emergency", "triage_assessment"),
        (f"/admin/triage/assessment/?p={DEEP_PAGE}", "triage_assessment"),
        ("/admin/referrals/referral/", "referrals_referral"),
        ("/admin/referrals/referral/?overdue=yes", "referrals_referral"),
        (f"/admin/referrals/referral/?p={DEEP_PAGE}", "referrals_referral"),
    ]
    return pages + [Page(url, admin=True, main_table=table) for url, table in admin]


# --------------------------------------------------------------------------- rows per page, queries, plans


@contextlib.contextmanager
def rows_per_page(rows: int) -> Iterator[None]:
    """The admin's pages at `rows` rows: changelists' list_per_page, the home page's worklists, the board."""
    from django.contrib import admin

    from dashboard import selectors
    from referrals.models import Referral
    from triage.models import Assessment

    admins = [admin.site._registry[model] for model in (Assessment, Referral)]
    limits = [(selectors.escalations_unacknowledged, "limit"), (selectors.referrals_overdue_for, "limit"),
              (selectors.assessments_urgent_today, "limit"), (selectors.referrals_board, "per_column")]
    saved = [model_admin.list_per_page for model_admin in admins], [f.__kwdefaults__[k] for f, k in limits]
    try:
        for model_admin in admins:
            model_admin.list_per_page = rows
        for function, name in limits:
            function.__kwdefaults__[name] = rows
        yield
    finally:
        for model_admin, value in zip(admins, saved[0], strict=True):
            model_admin.list_per_page = value
        for (function, name), value in zip(limits, saved[1], strict=True):
            function.__kwdefaults__[name] = value


def captured_queries(visitor: Visitor, page: Page, url: str | None = None) -> list[str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with counts_made(), CaptureQueriesContext(connection) as context:  # every request measured here counts
        visitor.get(page, url)
    return [query["sql"] for query in context.captured_queries]


def count_queries(visitor: Visitor, page: Page) -> dict[int, int]:
    counts = {}
    for rows in (10, 100):
        if page.admin:
            with rows_per_page(rows):
                counts[rows] = len(captured_queries(visitor, page))
        else:  # the same page number, or the last one at this size
            number = min(page.number, max(1, math.ceil(page.count / rows)))
            url = with_query(page.url.replace(f"page={page.number}", f"page={number}"), page_size=rows)
            counts[rows] = len(captured_queries(visitor, page, url))
    return counts


def explain(visitor: Visitor, page: Page, log) -> tuple[str, list[str]]:
    """EXPLAIN (ANALYZE, BUFFERS) of each SELECT of one request: a verdict, and the main query's and count's plans."""
    from django.db import connection

    selects = [sql for sql in captured_queries(visitor, page) if sql.lstrip().upper().startswith("SELECT")]
    seq_scans, wide_scans, indexes, explained = set(), set(), set(), []
    with connection.cursor() as cursor:
        for sql in selects:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}")
            plan = _json(cursor.fetchone()[0])[0]
            nodes = list(_nodes(plan["Plan"]))
            for node in nodes:
                if (node["Node Type"] == "Seq Scan" and node.get("Relation Name") in BIG_TABLES
                        and node.get("Actual Loops", 0)):  # a subplan never run is no scan
                    kept = node.get("Actual Rows", 0) * node.get("Actual Loops", 1)
                    removed = node.get("Rows Removed by Filter", 0) * node.get("Actual Loops", 1)
                    share = kept / max(kept + removed, 1)
                    # Reading a whole table to keep most of it (a clinic's patients to hash, 40 %) is what an index
                    # would do worse; reading it to keep a few rows is the scan an index should have replaced.
                    (wide_scans if share >= WIDE_SCAN_SHARE else seq_scans).add(
                        f"{node['Relation Name']} ({share:.0%} kept)")
            indexes |= {node["Index Name"] for node in nodes if "Index Name" in node}
            explained.append((sql, plan))
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
            log.write(f"-- {visitor.label}: GET {page.url}\n{sql}\n")
            log.write("\n".join(row[0] for row in cursor.fetchall()) + "\n\n")
    slowest = sorted(explained, key=lambda item: -item[1]["Execution Time"])[:3]
    main = [item for item in explained if page.main_table and f'FROM "{page.main_table}"' in item[0]]
    shown = [item for item in explained if item in main[:2]] or slowest[:2]
    verdict = (f"SEQ SCAN on {', '.join(sorted(seq_scans))}" if seq_scans
               else f"indexes ({len(indexes)} used)")
    if wide_scans:
        verdict += f", whole-table read of {', '.join(sorted(wide_scans))}"
    slowest_ms = explained and max(plan["Execution Time"] for _, plan in explained)
    return f"{verdict}; slowest query {slowest_ms:.1f} ms", [_compact(sql, plan) for sql, plan in shown]


def _json(value):
    return json.loads(value) if isinstance(value, str) else value


def _nodes(node: dict) -> Iterator[dict]:
    yield node
    for child in node.get("Plans", []):
        yield from _nodes(child)


def _compact(sql: str, plan: dict) -> str:
    kind = "count" if "COUNT(*)" in sql.upper() else "query"
    lines = [f"    {kind}: {plan['Execution Time']:.1f} ms"]

    def walk(node: dict, depth: int) -> None:
        what = node["Node Type"]
        if "Index Name" in node:
            what += f" using {node['Index Name']}"
        if "Relation Name" in node:
            what += f" on {node['Relation Name']}"
        rows = node.get("Actual Rows", 0) * node.get("Actual Loops", 1)
        extra = f", heap fetches {node['Heap Fetches']}" if "Heap Fetches" in node else ""
        buffers = node.get("Shared Hit Blocks", 0) + node.get("Shared Read Blocks", 0)
        lines.append(f"      {'  ' * depth}{what}  (rows {rows:,}, buffers {buffers:,}{extra})")
        for child in node.get("Plans", []):
            walk(child, depth + 1)

    walk(plan["Plan"], 0)
    return "\n".join(lines)


# --------------------------------------------------------------------------- timing


@contextlib.contextmanager
def counts_made():
    """Requests in here neither read nor keep what the service keeps a few seconds, as on a first view.

    A list's count makes its own (`common/pagination.py`), the home page computes its two weeks' activity
    (`dashboard.selectors.activity_last_days_kept`).
    """
    from unittest import mock

    from django.core.cache.backends.dummy import DummyCache

    from common import kept

    # Everything kept goes through common.kept: a cache that keeps nothing makes each request compute its own.
    with mock.patch.object(kept, "cache", DummyCache("first-view", {})):
        yield


def time_pages(measured: list[Measured], visitors: dict[str, Visitor], *, requests: int, warmup: int) -> None:
    """Round after round, every page twice: a noisy neighbour slows them all alike.

    Each round is two passes over every page: one making each list's count (a list's first view,
    and any list under `LARGE_LIST_ROWS`, whose count is never kept), then one with the counts
    kept (a list someone viewed in the last `COUNT_KEPT_SECONDS`: a busy list). A list whose
    filter puts the clock in its query (`?overdue=`, `?needs_attention=`) never finds its count
    kept: both passes count.
    """
    from common import pagination
    from dashboard import selectors

    kept_for = pagination.COUNT_KEPT_SECONDS, selectors.ACTIVITY_KEPT_SECONDS
    # Nothing kept by one round expires before the next.
    pagination.COUNT_KEPT_SECONDS = selectors.ACTIVITY_KEPT_SECONDS = 3600
    try:
        for round_number in range(warmup + requests):
            for making_counts in (True, False):
                for item in measured:
                    visitor = visitors[item.who]
                    with counts_made() if making_counts else contextlib.nullcontext():
                        began = time.perf_counter()
                        _ = visitor.get(item.page).content
                    if round_number >= warmup:
                        (item.counted_samples if making_counts else item.samples).append(time.perf_counter() - began)
    finally:
        pagination.COUNT_KEPT_SECONDS, selectors.ACTIVITY_KEPT_SECONDS = kept_for


# --------------------------------------------------------------------------- the overdue sweep


def sweep_figures(repeats: int = 5) -> list[tuple[str, float, int, str]]:
    """The sweep with 0, N and 2N referrals newly past their deadline; each run rolled back."""
    from django.db import connection, transaction
    from django.utils import timezone

    from referrals.actions import referrals_mark_overdue
    from referrals.models import Referral
    from referrals.selectors import referrals_newly_overdue

    now = timezone.now()
    overdue = list(Referral.objects.filter(overdue_since__isnull=False, due_by__lt=now,
                                           status__in=_open()).values_list("pk", flat=True)[: 2 * SWEEP_BREACHES])
    rows = []
    for breaches in (0, SWEEP_BREACHES, 2 * SWEEP_BREACHES):
        samples, marked, plan = [], 0, ""
        for _ in range(repeats):
            with transaction.atomic():
                Referral.objects.filter(pk__in=overdue[:breaches]).update(overdue_since=None, overdue_notified_at=None)
                if not plan:
                    query = referrals_newly_overdue(now=now).values_list("pk", flat=True)[:500]
                    sql, params = query.query.sql_with_params()
                    with connection.cursor() as cursor:
                        cursor.execute(f"EXPLAIN (ANALYZE) {sql}", params)
                        plan = "; ".join(line.strip() for (line,) in cursor.fetchall()[:3])
                began = time.perf_counter()
                marked = referrals_mark_overdue(now=now)
                samples.append(time.perf_counter() - began)
                transaction.set_rollback(True)
        rows.append((f"{breaches} newly overdue", statistics.median(samples) * 1000, marked, plan))
    return rows


def clinic_count_figures(repeats: int = 5) -> list[tuple[str, str, int, float]]:
    """Each clinic's staff counting their three lists (as a list's first page does): median of `repeats`."""
    from accounts.models import Clinic, Role, User
    from notifications.selectors import escalations_visible_to
    from referrals.selectors import referrals_visible_to
    from triage.selectors import assessments_visible_to

    lists = (("assessments", assessments_visible_to), ("referrals", referrals_visible_to),
             ("escalations", escalations_visible_to))
    staff = [User.objects.filter(role=Role.STAFF, is_superuser=False, clinic=clinic).order_by("username").first()
             for clinic in Clinic.objects.all()]
    rows = []
    for user in filter(None, staff):
        for name, visible_to in lists:
            samples, counted = [], 0
            for _ in range(repeats):
                began = time.perf_counter()
                counted = visible_to(user=user).count()
                samples.append(time.perf_counter() - began)
            rows.append((user.clinic.name, name, counted, statistics.median(samples) * 1000))
    return sorted(rows, key=lambda row: (row[1], row[2]))


def _open():
    from referrals.state import OPEN_STATUSES

    return OPEN_STATUSES


# --------------------------------------------------------------------------- the report


def print_table(title: str, measured: list[Measured]) -> None:
    print(f"\n{title}")
    print(f"  {'page':<62} {'p50':>8} {'p90':>8}  {'target':<12} {'count made p50':>14}  {'queries 10/100':<16} plan")
    for item in measured:
        p50, p90 = item.percentile(50), item.percentile(90)
        verdict = "PASS" if item.passed else "MISS"
        counted = f"{item.percentile(50, item.counted_samples):6.1f} ms"
        queries = f"{item.queries[10]} / {item.queries[100]}" + ("" if item.constant_queries else " DIFFER")
        print(f"  {item.page.url[:62]:<62} {p50:6.1f} ms {p90:5.1f} ms  <{item.page.target_ms:.0f} ms {verdict:<5} "
              f"{counted:>14}  {queries:<16} {item.verdict}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    # 5 rounds after 1, two requests a page each: the whole benchmark, seeding included, in about 5 minutes.
    parser.add_argument("--requests", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the database at the end")
    parser.add_argument("--reuse", action="store_true", help="use a kept database instead of seeding")
    args = parser.parse_args()
    started = time.perf_counter()
    print(f"machine: {machine()}; load average {' '.join(f'{load:.2f}' for load in os.getloadavg())}")
    reuse = args.reuse and database_exists(DATABASE)
    if not reuse:
        database_create(DATABASE)
    try:
        django_setup(DATABASE)
        if reuse:
            print(f"reusing database {DATABASE} (migrated)")
        else:
            plan = Plan()
            print(f"seeding database {DATABASE}: {plan.patients:,} patients, {plan.assessments:,} assessments, "
                  f"{plan.referrals:,} referrals", flush=True)
            print_report(seed(plan, say=lambda line: print(line, flush=True)))
        return measure(args)
    finally:
        if not (args.keep or reuse):
            database_drop(DATABASE)
        print(f"\nbench/scale took {time.perf_counter() - started:.0f} s")


def measure(args) -> int:
    from accounts.models import User

    visitors = {
        "staff": Visitor(User.objects.get(username="staff-main-0"), "staff (largest clinic, 40 % of the rows)"),
        "superuser": Visitor(User.objects.get(username="scale-admin"), "superuser (every row)"),
    }
    measured = [Measured(page, who) for who, visitor in visitors.items() for page in pages_for(visitor)]
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    with (LOG_DIR / "scale-plans.txt").open("w") as log:
        for item in measured:
            visitor = visitors[item.who]
            item.queries = count_queries(visitor, item.page)
            item.verdict, item.plans = explain(visitor, item.page, log)
    print(f"{len(measured)} pages: queries counted and plans explained in {time.perf_counter() - began:.0f} s",
          flush=True)
    began = time.perf_counter()
    # What the benchmark itself holds (the seed's leftovers, the plans above) goes to the permanent generation:
    # otherwise the collector's full passes over it land, round after round, on whichever page happens to
    # trigger them (a steady 150 ms on one page).
    gc.collect()
    gc.freeze()
    load_before = os.getloadavg()[0]
    time_pages(measured, visitors, requests=args.requests, warmup=args.warmup)
    print(f"timed in {time.perf_counter() - began:.0f} s; load average (1 min) {load_before:.2f} before, "
          f"{os.getloadavg()[0]:.2f} after", flush=True)

    for who, visitor in visitors.items():
        print_table(f"API and admin pages as {visitor.label}: p50 and p90 of {args.requests} requests with the "
                    f"list's count kept (common/pagination.py), and p50 of {args.requests} that make it "
                    "(in-process test client)", [item for item in measured if item.who == who])
    print("\nOverdue sweep (referrals_mark_overdue, 200,000 referrals; median of 5, rolled back):")
    for label, ms, marked, plan in sweep_figures():
        print(f"  {label:<20} {ms:7.1f} ms  marked {marked:>4}   {plan}")
    print("\nA clinic's counts (made, not kept: each clinic's staff; median of 5), by the clinic's size:")
    for clinic, name, counted, ms in clinic_count_figures():
        print(f"  {name:<12} {clinic:<20} {counted:>9,} rows  {ms:7.1f} ms")
    print("\nPlans of each page's main query and count (EXPLAIN ANALYZE; full text in "
          f"{LOG_DIR / 'scale-plans.txt'}):")
    for item in measured:
        print(f"  {item.who}: GET {item.page.url}")
        for plan in item.plans:
            print(plan)
    missed = [item for item in measured if not item.passed]
    varying = [item for item in measured if not item.constant_queries]
    print(f"\nAPI pages within {API_TARGET_MS:.0f} ms: "
          f"{sum(item.passed for item in measured if not item.page.admin)} of "
          f"{sum(not item.page.admin for item in measured)}; admin pages within {ADMIN_TARGET_MS:.0f} ms: "
          f"{sum(item.passed for item in measured if item.page.admin)} of {sum(item.page.admin for item in measured)}")
    print(f"{len(measured) - len(missed)} of {len(measured)} pages within target; "
          f"{len(measured) - len(varying)} of {len(measured)} with the same queries at 10 and 100 rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
