"""Three years of a clinic network in a database of its own, quickly: the data bench/scale measures.

    .venv/bin/python -m bench.scale.seed [--keep] [--database footdrop_bench_scale] [--assessments 1000000]
                                         [--patients 100000] [--referrals 200000]

The database is made afresh (dropped first if it exists), migrated, seeded,
vacuumed and analysed, and dropped at the end unless `--keep`. What it holds:

* 4 clinics (40/30/20/10 % of the patients), 3 staff and 8 clinicians each, a
  superuser, 5 on-call contacts on tiers 1-3, 6 partners: with the ORM;
* 100,000 patients, created over three years; each is assessed when created,
  then again now and then (about 10 assessments each on average);
* 1,000,000 assessments, each with its current evaluation: the real rules
  engine's results for a pool of plausible answers (bench/rules), 58 %
  routine, 30 % urgent, 12 % emergency; 1.5 % overridden by a clinician; the
  newest 25 still pending;
* an escalation per emergency (about 120,000): acknowledged at tier 1-3 within
  minutes, those of the last quarter of an hour still open, 0.3 % exhausted,
  with their events and notifications (an SMS and an email per contact per
  tier paged; staff alerts for the exhausted);
* 200,000 referrals (two per assessment for a tenth of the triaged ones, over
  the three years), in statuses by age: old ones mostly closed, 2 % left open
  past their SLA (overdue, marked by the sweep), recent ones on the move; one
  ReferralEvent per move (about 700,000).

How. Rows are generated in Python in time order (tables grow in time order in
production; the planner's correlation statistics depend on it), and ids are
UUIDs made here. As pg_restore does, the indexes, primary and unique keys and
foreign keys of the tables written are dropped first (their definitions read
from the catalogue as migrate made them); five forked processes then load
the tables at the same time, each table by one `COPY ... FREEZE` (psycopg 3
`cursor.copy()`, text format) in a transaction that first truncates it;
then every key and index is built (sorted, once, two sessions) and every
foreign key added back and checked by one join. FREEZE leaves the pages
all-visible, so index-only scans work at once; VACUUM ANALYZE follows, as
autovacuum would. Not written: django-simple-history's Historical* rows and
audit events (no page measured reads them), partner webhook events and
outbound deliveries.

Why a module under bench/ rather than `manage.py seed_scale`: it is benchmark
tooling that makes and drops a database of its own. As a management command
it would ship in the production image's `manage.py` beside the real commands,
aimed by default at DATABASE_URL: one command away from a million invented
patients in a clinic's database. It also writes past the apps' actions (COPY)
on purpose, which application code must never do.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import math
import os
import queue
import random
import secrets
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from bench.harness import PG, cpu_seconds, machine, machine_cpu_seconds

DATABASE = "footdrop_bench_scale"
DAY = 86400.0
YEAR = 365.25 * DAY
CHUNK_BYTES = 1 << 22


@dataclass(frozen=True)
class Plan:
    patients: int = 100_000
    assessments: int = 1_000_000
    referrals: int = 200_000
    years: float = 3.0
    clinic_shares: tuple[float, ...] = (0.40, 0.30, 0.20, 0.10)
    urgency_mix: tuple[tuple[str, float], ...] = (("routine", 0.58), ("urgent", 0.30), ("emergency", 0.12))
    override_share: float = 0.015
    pending: int = 25
    open_escalation_seconds: float = 900.0  # emergencies younger than this are still being paged
    exhausted_share: float = 0.003
    stale_open_share: float = 0.02  # referrals older than 120 days that nobody closed: overdue
    staff_per_clinic: int = 3
    clinicians_per_clinic: int = 8
    seed: int = 20261121


@dataclass
class SeedReport:
    rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    wall_seconds: float = 0.0
    cpu_postgres: float = 0.0
    cpu_python: float = 0.0
    machine_busy: float = 0.0  # CPU-seconds the whole machine spent meanwhile, ours and everyone else's
    machine_capacity: float = 0.0


# --------------------------------------------------------------------------- the database and Django


def django_environment(database: str) -> dict[str, str]:
    """Production settings (DEBUG off) on `database`, in this process; nothing reaches Redis or a mail server."""
    var = tempfile.mkdtemp(prefix="bench-scale-")
    os.makedirs(os.path.join(var, "static"))
    return {
        "DJANGO_SETTINGS_MODULE": "services.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "DEBUG": "false",
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_HSTS_SECONDS": "0",
        "ALLOWED_HOSTS": "testserver,127.0.0.1",
        "DATABASE_URL": f"postgres://{PG['user']}@{PG['host']}:{PG['port']}/{database}",
        "CELERY_BROKER_URL": "memory://",
        "EMAIL_URL": "memorymail://",
        # The bench asks far faster than people do: the throttle still runs, at rates it never reaches.
        "THROTTLE_USER": "1000000/min",
        "JWT_ACCESS_MINUTES": "60",
        "VAR_DIR": var,
    }


def _admin_sql(*statements: str) -> None:
    import psycopg

    with psycopg.connect(dbname="postgres", autocommit=True, connect_timeout=5, **PG) as connection:
        for statement in statements:
            connection.execute(statement)


def database_exists(name: str) -> bool:
    import psycopg

    with psycopg.connect(dbname="postgres", autocommit=True, connect_timeout=5, **PG) as connection:
        return connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def database_create(name: str) -> None:
    _admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')


def database_drop(name: str) -> None:
    from django.db import connections

    with contextlib.suppress(Exception):
        connections.close_all()
    _admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def django_setup(database: str, *, migrate: bool = True) -> None:
    os.environ.update(django_environment(database))
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)


# --------------------------------------------------------------------------- COPY text format


_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
NULL = "\\N"


def esc(value: str) -> str:
    return value.translate(_ESCAPES)


def jsonb(value: object) -> str:
    return esc(json.dumps(value, ensure_ascii=False, separators=(",", ":")))


TIMES_OF_DAY = [f"{hour:02d}:{minute:02d}:{second:02d}" for hour in range(24) for minute in range(60)
                for second in range(60)]


class Clock:
    """Epoch seconds as PostgreSQL timestamptz text, the date and time of day from tables (millions of calls)."""

    def __init__(self) -> None:
        self._days: dict[int, str] = {}

    def __call__(self, epoch: float | None) -> str:
        if epoch is None:
            return NULL
        whole = int(epoch)
        day = whole // 86400
        prefix = self._days.get(day)
        if prefix is None:
            prefix = self._days[day] = (date(1970, 1, 1) + timedelta(days=day)).isoformat()
        return f"{prefix} {TIMES_OF_DAY[whole - day * 86400]}.{int((epoch - whole) * 1e6):06d}+00"


def uuid_maker(rng: random.Random) -> Callable[[], str]:
    """Random (version 4) UUIDs as text, from the seeded generator: the same run makes the same ids."""
    getrandbits = rng.getrandbits
    version_mask = ~(0xF000 << 64) & ~(0xC000 << 48)
    version_bits = (0x4000 << 64) | (0x8000 << 48)

    def make() -> str:
        bits = f"{(getrandbits(128) & version_mask) | version_bits:032x}"
        return f"{bits[:8]}-{bits[8:12]}-{bits[12:16]}-{bits[16:20]}-{bits[20:]}"

    return make


def copy_rows(cursor, table: str, columns: tuple[str, ...], lines: Iterable[str], *, options: str = "") -> int:
    """COPY `lines` (tab-separated, newline-ended) into `table`; the number of rows."""
    count, buffer, size = 0, [], 0
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN{options}") as copy:
        for line in lines:
            buffer.append(line)
            size += len(line)
            count += 1
            if size >= CHUNK_BYTES:
                copy.write("".join(buffer))
                buffer, size = [], 0
        if buffer:
            copy.write("".join(buffer))
    return count


def check_columns(model, columns: tuple[str, ...]) -> None:
    """The columns written are exactly the model's: a migration that adds one makes this fail plainly."""
    expected = {field.column for field in model._meta.concrete_fields}
    if set(columns) != expected:
        raise SystemExit(f"{model._meta.db_table}: the seed writes {sorted(set(columns) ^ expected)} "
                         "differently from the model; update bench/scale/seed.py")


# --------------------------------------------------------------------------- reference rows (ORM)


@dataclass
class People:
    clinic_ids: list[str]
    staff: list[list[int]]  # user ids per clinic
    staff_emails: list[list[str]]
    clinicians: list[list[int]]
    superuser_id: int
    contacts: dict[int, list[tuple[str, str, str, str]]]  # tier -> (id, phone, email, language)
    partners: dict[str, list[str]]  # specialty -> partner ids


CLINICS = [("North clinic", "north"), ("South clinic", "south"), ("Coast clinic", "coast")]
CONTACTS = [(1, "Dr. Alba Ruiz", "+34600100001", "es"), (1, "Dr. Ben Cole", "+34600100002", "en"),
            (2, "Dr. Carla Vidal", "+34600100003", "es"), (2, "Dr. Dan Moss", "+34600100004", "en"),
            (3, "Dr. Eva Soler", "+34600100005", "es")]
PARTNERS = [("General Hospital", "general", ["neurosurgery", "neurology", "orthopedics", "general_surgery"]),
            ("Spine Institute", "spine", ["neurosurgery", "orthopedics", "pain_management"]),
            ("Neuro Centre", "neuro", ["neurology"]),
            ("City Physio", "city-physio", ["physiotherapy"]),
            ("Coast Rehab", "coast-rehab", ["physiotherapy", "pain_management"]),
            ("Bone & Joint", "bone-joint", ["orthopedics", "general_surgery"])]


def people_create(plan: Plan) -> People:
    from accounts.actions import user_set_role
    from accounts.models import Clinic, Role, User
    from accounts.selectors import clinic_default
    from notifications.models import OnCallContact
    from referrals.actions import partner_create

    clinics = [clinic_default()] + [Clinic.objects.create(name=name, slug=slug) for name, slug in CLINICS]
    clinics = clinics[: len(plan.clinic_shares)]
    staff, staff_emails, clinicians = [], [], []
    for clinic in clinics:
        members = {Role.STAFF: [], Role.CLINICIAN: []}
        for role, count in ((Role.STAFF, plan.staff_per_clinic), (Role.CLINICIAN, plan.clinicians_per_clinic)):
            for n in range(count):
                user = User(username=f"{role}-{clinic.slug}-{n}", email=f"{role}.{n}@{clinic.slug}.example.org",
                            first_name=role.title(), last_name=f"{clinic.slug} {n}", clinic=clinic)
                user.set_unusable_password()
                user.save()
                members[role].append(user_set_role(user=user, role=role))
        staff.append([user.pk for user in members[Role.STAFF]])
        staff_emails.append([user.email for user in members[Role.STAFF]])
        clinicians.append([user.pk for user in members[Role.CLINICIAN]])
    superuser = User(username="scale-admin", email="admin@example.org", role=Role.STAFF, clinic=clinics[0],
                     is_superuser=True, is_staff=True)
    superuser.set_unusable_password()
    superuser.save()
    contacts: dict[int, list[tuple[str, str, str, str]]] = {}
    for tier, name, phone, language in CONTACTS:
        contact = OnCallContact.objects.create(name=name, phone=phone, email=f"{phone[1:]}@oncall.example.org",
                                               tier=tier, language=language)
        contacts.setdefault(tier, []).append((str(contact.pk), phone, contact.email, language))
    partners: dict[str, list[str]] = {}
    for name, slug, specialties in PARTNERS:
        partner, _ = partner_create(name=name, slug=slug, specialties=specialties)
        for specialty in specialties:
            partners.setdefault(specialty, []).append(str(partner.pk))
    return People(clinic_ids=[str(clinic.pk) for clinic in clinics], staff=staff, staff_emails=staff_emails,
                  clinicians=clinicians, superuser_id=superuser.pk, contacts=contacts, partners=partners)


# --------------------------------------------------------------------------- what triage says (a pool)


@dataclass(frozen=True)
class Triaged:
    """One plausible set of answers and the rules engine's result, as COPY text."""

    urgency: str
    answers: str
    red_flags: str
    likely_origin: str
    specialties: str
    tests: str
    rules_fired: str
    advice: dict[str, str]
    targets: tuple[str, ...]


def triage_pool(rng: random.Random, *, per_urgency: int = 400) -> tuple[str, dict[str, list[Triaged]]]:
    """Plausible answers (bench/rules' generator) evaluated once each, by urgency; and the ruleset version."""
    from bench.rules.run import plausible_answers
    from referrals.actions import referral_targets
    from triage.rules import CURRENT_RULESET, advice_text, evaluate, validate_answers

    on = date.today()
    pool: dict[str, list[Triaged]] = {"routine": [], "urgent": [], "emergency": []}
    for _ in range(200_000):
        if min(len(entries) for entries in pool.values()) >= per_urgency:
            break
        answers = plausible_answers(rng)
        if validate_answers(answers) or len(pool[(result := evaluate(answers, submitted_on=on)).urgency]) >= 4000:
            continue
        data = result.as_dict()
        pool[result.urgency].append(Triaged(
            urgency=result.urgency, answers=jsonb(answers), red_flags=jsonb(data["red_flags"]),
            likely_origin=jsonb(data["likely_origin"]), specialties=jsonb(data["recommended_specialties"]),
            tests=jsonb(data["recommended_tests"]), rules_fired=jsonb(data["rules_fired"]),
            advice={language: esc(advice_text(result, language)) for language in ("en", "es")},
            targets=tuple(referral_targets(data["recommended_specialties"])),
        ))
    if min(len(entries) for entries in pool.values()) == 0:
        raise SystemExit("the answer generator made no case of some urgency")
    return CURRENT_RULESET.version, pool


# --------------------------------------------------------------------------- the plan of every row


FIRST_NAMES = ["Ana", "Luis", "María", "José", "Carmen", "Javier", "Lucía", "David", "Elena", "Pablo", "Sara",
               "Jorge", "Laura", "Miguel", "Paula", "John", "Emma", "Oliver", "Sophie", "Harry", "Grace", "Amir"]
LAST_NAMES = ["García", "Martínez", "López", "Sánchez", "Pérez", "Gómez", "Martín", "Jiménez", "Ruiz", "Hernández",
              "Díaz", "Moreno", "Álvarez", "Romero", "Navarro", "Torres", "Smith", "Jones", "Taylor", "Brown",
              "Wilson", "Evans", "Thomas", "Roberts", "Walker", "Khan", "Silva", "Costa", "Rossi", "Novak"]


@dataclass
class Assessments:
    """Column-wise plan of every assessment, in time order (tens of MB, not hundreds)."""

    ids: list[str]
    evaluation_ids: list[str | None]
    at: list[float]
    patient: list[int]
    triage: list[int]  # index into the urgency's pool; -1 pending
    urgency: list[str]  # computed ("" pending)
    override: list[str]  # effective urgency when overridden, else ""


class Seeder:
    def __init__(self, plan: Plan, people: People, ruleset_version: str, pool: dict[str, list[Triaged]]) -> None:
        self.plan, self.people, self.version, self.pool = plan, people, ruleset_version, pool
        self.rng = random.Random(plan.seed)
        self.uuid = uuid_maker(self.rng)
        self.ts = Clock()
        self.now = time.time()
        self.start = self.now - plan.years * YEAR
        self._plan_patients()
        self._plan_assessments()

    # -- patients

    def _plan_patients(self) -> None:
        rng, plan = self.rng, self.plan
        span = self.now - self.start - 3600
        self.patient_ids = [self.uuid() for _ in range(plan.patients)]
        self.patient_created = [self.start + (n + rng.random()) * span / plan.patients for n in range(plan.patients)]
        self.patient_clinic = rng.choices(range(len(plan.clinic_shares)), plan.clinic_shares, k=plan.patients)
        self.patient_language = ["es" if rng.random() < 0.3 else "en" for _ in range(plan.patients)]

    def patients(self) -> Iterator[str]:
        rng, ts = self.rng, self.ts
        clinics = self.people.clinic_ids
        for n, patient_id in enumerate(self.patient_ids):
            created = ts(self.patient_created[n])
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            born = date(1935, 1, 1) + timedelta(days=rng.randrange(365 * 70))
            external = f"MRN-{n:07d}" if rng.random() < 0.6 else ""
            yield (f"{patient_id}\t{created}\t{created}\t{first}\t{last} {n}\t{born.isoformat()}\t"
                   f"+3461{n:07d}\tpatient{n}@example.org\t{self.patient_language[n]}\t{external}\t"
                   f"{clinics[self.patient_clinic[n]]}\t{NULL}\t{NULL}\n")

    PATIENT_COLUMNS = ("id", "created_at", "updated_at", "first_name", "last_name", "date_of_birth", "phone",
                       "email", "language", "external_id", "clinic_id", "created_by_id", "user_id")

    # -- assessments and evaluations

    def _plan_assessments(self) -> None:
        rng, plan, now = self.rng, self.plan, self.now
        # Each patient is assessed when created, then again now and then: more often the longer they have been
        # patients and the more active they are.
        weights = [(now - created) * rng.lognormvariate(0, 0.8) for created in self.patient_created]
        extra, total = plan.assessments - plan.patients, sum(weights)
        times: list[tuple[float, int]] = []
        for patient, created in enumerate(self.patient_created):
            times.append((created, patient))
            expected = extra * weights[patient] / total
            for _ in range(int(expected) + (rng.random() < expected - int(expected))):
                times.append((rng.uniform(created, now - 60), patient))
        while len(times) > plan.assessments:
            times.pop(rng.randrange(len(times)))
        while len(times) < plan.assessments:
            patient = rng.randrange(plan.patients)
            times.append((rng.uniform(self.patient_created[patient], now - 60), patient))
        times.sort()
        for n in range(plan.pending):  # the newest few have not been triaged yet
            index = len(times) - plan.pending + n
            times[index] = (now - 20 + 20 * n / plan.pending, times[index][1])
        urgencies = [urgency for urgency, _ in plan.urgency_mix]
        count, triaged = len(times), len(times) - plan.pending
        chosen = rng.choices(urgencies, [share for _, share in plan.urgency_mix], k=triaged)
        sizes = {urgency: len(entries) for urgency, entries in self.pool.items()}
        override = [""] * triaged
        for n in rng.sample(range(triaged), int(triaged * plan.override_share)):
            override[n] = rng.choice([other for other in urgencies if other != chosen[n]])
        pending = [None] * plan.pending
        self.a = Assessments(
            ids=[self.uuid() for _ in range(count)], evaluation_ids=[self.uuid() for _ in range(triaged)] + pending,
            at=[t for t, _ in times], patient=[p for _, p in times],
            triage=[int(rng.random() * sizes[urgency]) for urgency in chosen] + [-1] * plan.pending,
            urgency=chosen + [""] * plan.pending, override=override + [""] * plan.pending,
        )

    def effective_urgency(self, n: int) -> str:
        return self.a.override[n] or self.a.urgency[n]

    def triaged_at(self, n: int) -> float:
        return self.a.at[n] + 0.4 + (n % 7) * 0.1

    def clinic(self, n: int) -> str:
        """The clinic of assessment n's patient, copied onto it, its referrals and its escalation."""
        return self.people.clinic_ids[self.patient_clinic[self.a.patient[n]]]

    def submitter(self, n: int) -> int:
        clinicians = self.people.clinicians[self.patient_clinic[self.a.patient[n]]]
        return clinicians[n % len(clinicians)]

    ASSESSMENT_COLUMNS = ("id", "created_at", "updated_at", "submitted_at", "answers", "status", "triaged_at",
                          "urgency", "enqueue_attempts", "last_enqueued_at", "patient_id", "submitted_by_id",
                          "current_evaluation_id", "clinic_id", "queued_with_red_flags")

    def assessments(self, first: int, stop: int) -> Iterator[str]:
        a, ts, pool = self.a, self.ts, self.pool
        fallback = pool["routine"][0].answers
        for n in range(first, stop):
            assessment_id, submitted = a.ids[n], ts(a.at[n])
            patient = self.patient_ids[a.patient[n]]
            if a.triage[n] < 0:
                yield (f"{assessment_id}\t{submitted}\t{submitted}\t{submitted}\t{fallback}\tpending\t{NULL}\t\t1\t"
                       f"{submitted}\t{patient}\t{self.submitter(n)}\t{NULL}\t{self.clinic(n)}\tf\n")
                continue
            triaged = ts(self.triaged_at(n))
            answers = pool[a.urgency[n]][a.triage[n]].answers
            yield (f"{assessment_id}\t{submitted}\t{triaged}\t{submitted}\t{answers}\ttriaged\t{triaged}\t"
                   f"{self.effective_urgency(n)}\t1\t{submitted}\t{patient}\t{self.submitter(n)}\t"
                   f"{a.evaluation_ids[n]}\t{self.clinic(n)}\t{'t' if a.urgency[n] == 'emergency' else 'f'}\n")

    EVALUATION_COLUMNS = ("id", "created_at", "updated_at", "ruleset_version", "evaluated_at", "urgency", "red_flags",
                          "likely_origin", "recommended_specialties", "recommended_tests", "rules_fired", "advice",
                          "language", "override_urgency", "override_reason", "overridden_at", "assessment_id",
                          "overridden_by_id")

    def evaluations(self, first: int, stop: int) -> Iterator[str]:
        a, ts, pool, version = self.a, self.ts, self.pool, self.version
        for n in range(first, stop):
            if a.triage[n] < 0:
                continue
            assessment_id = a.ids[n]
            triage = pool[a.urgency[n]][a.triage[n]]
            at = self.triaged_at(n)
            evaluated = ts(at)
            language = self.patient_language[a.patient[n]]
            if a.override[n]:
                overridden = at + 600 + (n % 97) * 60
                override = (f"{a.override[n]}\tSeen in clinic: the urgency does not match the examination.\t"
                            f"{ts(overridden)}\t{assessment_id}\t{self.submitter(n)}")
                updated = ts(overridden)
            else:
                override, updated = f"\t\t{NULL}\t{assessment_id}\t{NULL}", evaluated
            yield (f"{a.evaluation_ids[n]}\t{evaluated}\t{updated}\t{version}\t{evaluated}\t{triage.urgency}\t"
                   f"{triage.red_flags}\t{triage.likely_origin}\t{triage.specialties}\t{triage.tests}\t"
                   f"{triage.rules_fired}\t{triage.advice[language]}\t{language}\t{override}\n")

    # -- escalations, their events and notifications

    ESCALATION_COLUMNS = ("id", "created_at", "updated_at", "status", "tier", "opened_at", "next_tier_due_at",
                          "acknowledged_at", "acknowledged_via", "case_code", "acknowledged_by_id", "assessment_id",
                          "acknowledged_by_contact_id", "exhausted_at", "clinic_id")
    NOTIFICATION_COLUMNS = ("id", "created_at", "updated_at", "kind", "tier", "channel", "recipient", "language",
                            "subject", "body", "status", "attempts", "queued_at", "next_attempt_at", "claimed_at",
                            "sent_at", "delivered_at", "failed_at", "provider_id", "provider_status", "last_error",
                            "contact_id", "escalation_id")

    def plan_escalations(self) -> None:
        """Decide each escalation once; the three tables are then written from these decisions."""
        rng, plan, now = self.rng, self.plan, self.now
        self.escalations: list[tuple] = []
        unacknowledged_codes: set[str] = set()
        last_tier = max(self.people.contacts)
        for n in range(len(self.a.ids)):
            if self.a.triage[n] < 0 or self.effective_urgency(n) != "emergency":
                continue
            opened = self.triaged_at(n)
            if now - opened < plan.open_escalation_seconds:
                status, tier = "open", min(1 + int((now - opened) // 300), last_tier)
            elif now - opened < YEAR and rng.random() < plan.exhausted_share:
                status, tier = "exhausted", last_tier
            else:
                status, tier = "acknowledged", rng.choices((1, 2, 3), (85, 13, 2))[0]
            code = f"{rng.randrange(1000, 10000)}"
            if status != "acknowledged":
                while code in unacknowledged_codes:
                    code = f"{rng.randrange(1000, 10000)}"
                unacknowledged_codes.add(code)
            acknowledged_at = by = contact = None
            via = ""
            if status == "acknowledged":
                acknowledged_at = opened + (tier - 1) * 300 + min(rng.lognormvariate(math.log(150), 0.6), 290)
                if rng.random() < 0.7:
                    by, via = self.submitter(n), rng.choice(("api", "admin"))
                else:
                    contact, via = rng.choice(self.people.contacts[tier])[0], rng.choice(("sms", "link"))
            self.escalations.append((self.uuid(), n, status, tier, opened, code, acknowledged_at, by, contact, via))

    def escalation_rows(self) -> Iterator[str]:
        ts = self.ts
        for escalation_id, n, status, tier, opened, code, acknowledged_at, by, contact, via in self.escalations:
            exhausted_at = opened + tier * 300 if status == "exhausted" else None
            next_due = opened + tier * 300 if status == "open" else None
            updated = acknowledged_at or exhausted_at or opened + (tier - 1) * 300
            yield (f"{escalation_id}\t{ts(opened)}\t{ts(updated)}\t{status}\t{tier}\t{ts(opened)}\t{ts(next_due)}\t"
                   f"{ts(acknowledged_at)}\t{via}\t{code}\t{by or NULL}\t{self.a.ids[n]}\t{contact or NULL}\t"
                   f"{ts(exhausted_at)}\t{self.clinic(n)}\n")

    def notification_rows(self) -> Iterator[str]:
        ts, uuid, rng = self.ts, self.uuid, self.rng
        texts = _page_texts()
        for escalation_id, n, status, tier, opened, code, *_ in self.escalations:
            patient = self.a.patient[n]
            for paged in range(1, tier + 1):
                queued = opened + (paged - 1) * 300
                for channel in ("sms", "email"):
                    for contact_id, phone, email, language in self.people.contacts[paged]:
                        subject, body = texts[channel, language]
                        body = body.replace("{code}", code).replace("{who}", f"Patient {patient}")
                        subject = subject.replace("{code}", code)
                        sent = queued + 0.8
                        if channel == "sms":
                            provider, delivered, state = f"SM{rng.getrandbits(128):032x}", ts(sent + 4), "delivered"
                        else:
                            provider, delivered, state = "", NULL, "sent"
                        yield (f"{uuid()}\t{ts(queued)}\t{ts(sent)}\tpage\t{paged}\t{channel}\t"
                               f"{phone if channel == 'sms' else email}\t{language}\t{subject}\t{body}\t{state}\t1\t"
                               f"{ts(queued)}\t{ts(queued)}\t{ts(queued + 0.1)}\t{ts(sent)}\t{delivered}\t{NULL}\t"
                               f"{provider}\t{state if provider else ''}\t\t{contact_id}\t{escalation_id}\n")
            if status == "exhausted":
                at = ts(opened + tier * 300)
                subject, body = texts["exhausted", "en"]
                for email in self.people.staff_emails[self.patient_clinic[patient]]:
                    yield (f"{uuid()}\t{at}\t{at}\texhausted_alert\t{tier}\temail\t{email}\ten\t"
                           f"{subject.replace('{code}', code)}\t{body.replace('{code}', code)}\tsent\t1\t{at}\t{at}\t"
                           f"{at}\t{at}\t{NULL}\t{NULL}\t\t\t\t{NULL}\t{escalation_id}\n")

    # -- referrals and their history

    REFERRAL_COLUMNS = ("id", "created_at", "updated_at", "specialty", "priority", "status", "due_by",
                        "appointment_at", "assessment_id", "partner_id", "patient_id", "cancel_reason",
                        "clock_started_at", "decline_reason", "decline_reason_code", "needs_resend", "outcome",
                        "overdue_notified_at", "overdue_since", "partner_reference", "resent_from_id", "sent_at",
                        "clinic_id")
    REFERRAL_EVENT_COLUMNS = ("id", "created_at", "updated_at", "from_status", "to_status", "at", "source", "note",
                              "by_id", "referral_id", "webhook_event_id")

    def plan_referrals(self) -> None:
        """Two referrals for each of a random tenth of the triaged assessments, in time order, and their moves."""
        from referrals.sla import sla_duration
        from referrals.state import clock_for

        rng, plan, durations = self.rng, self.plan, {}
        triaged = [n for n in range(len(self.a.ids)) if self.a.triage[n] >= 0]
        chosen = sorted(rng.sample(triaged, min(len(triaged), plan.referrals // 2 + plan.referrals // 20)))
        self.referrals: list[tuple] = []
        for n in chosen:
            for specialty in self.pool[self.a.urgency[n]][self.a.triage[n]].targets:
                if len(self.referrals) == plan.referrals:
                    return
                created, priority = self.triaged_at(n), self.effective_urgency(n)
                moves = self._moves(created, priority)
                status = moves[-1][0]
                clock = clock_for(status if status in OPEN_STATUSES else moves[-2][0])  # a final one keeps its last
                if (priority, clock) not in durations:
                    durations[priority, clock] = sla_duration(priority=priority, clock=clock)
                due_by = durations[priority, clock].after(datetime.fromtimestamp(created, UTC)).timestamp()
                self.referrals.append((self.uuid(), n, specialty, priority, moves, due_by, rng.random()))

    def _moves(self, created: float, priority: str) -> list[tuple[str, float]]:
        """The statuses a referral went through and when, as far as they happened before now."""
        rng, now = self.rng, self.now
        age = (now - created) / DAY
        if age < 1:
            path = rng.choices(("P", "PS", "PSA", "PC"), (45, 35, 15, 5))[0]
        elif age < 14:
            path = rng.choices(("P", "PS", "PSA", "PSAH", "PSAHM", "PSD", "PC", "PSAHN"),
                               (3, 12, 25, 35, 12, 5, 5, 3))[0]
        elif age < 120:
            path = rng.choices(("PS", "PSA", "PSAH", "PSAHM", "PSAHN", "PSAHNHM", "PSD", "PSAD", "PC"),
                               (2, 4, 15, 52, 3, 6, 5, 3, 10))[0]
        elif rng.random() < self.plan.stale_open_share:
            path = rng.choice(("P", "PS", "PSA", "PSAH", "PSAHN"))
        else:
            path = rng.choices(("PSAHM", "PSAHNHM", "PSD", "PSAD", "PC", "PSC"), (72, 6, 5, 3, 9, 3))[0]
        pace = {"emergency": 0.05, "urgent": 0.4, "routine": 1.0}[priority]
        moves, at = [("proposed", created)], created
        for step in path[1:]:
            low, high = STEP_DAYS[step]
            at += rng.uniform(low, high) * pace * DAY
            if at >= now:
                break
            moves.append((STATUS_OF_STEP[step], at))
        return moves

    def referral_rows(self) -> Iterator[str]:
        ts, now, partners = self.ts, self.now, self.people.partners
        for referral_id, n, specialty, priority, moves, due_by, roll in self.referrals:
            created, status, at = moves[0][1], moves[-1][0], dict(moves)
            sent = at.get("sent")
            partner = partners[specialty][int(roll * len(partners[specialty]))] if sent else NULL
            appointment = NULL
            if "scheduled" in at:
                appointment = ts(at["scheduled"] + (1 + roll * 20) * DAY * (0.1 if priority == "emergency" else 1))
            marked = ts(due_by + 30 + roll * 30) if status in OPEN_STATUSES and due_by < now - 60 else NULL
            declined = status == "declined"
            resend = "t" if declined and now - at["declined"] < 60 * DAY and roll < 0.5 else "f"
            yield (f"{referral_id}\t{ts(created)}\t{ts(moves[-1][1])}\t{specialty}\t{priority}\t{status}\t"
                   f"{ts(due_by)}\t{appointment}\t{self.a.ids[n]}\t{partner}\t{self.patient_ids[self.a.patient[n]]}\t"
                   f"{CANCEL_REASON if status == 'cancelled' else ''}\t{ts(created)}\t"
                   f"{'No capacity this month.' if declined else ''}\t{'no_capacity' if declined else ''}\t{resend}\t"
                   f"{'Seen; a plan was agreed.' if status == 'completed' else ''}\t{marked}\t{marked}\t"
                   f"{f'PR-{int(roll * 10**6):06d}' if 'accepted' in at else ''}\t{NULL}\t{ts(sent)}\t"
                   f"{self.clinic(n)}\n")

    def referral_event_rows(self) -> Iterator[str]:
        ts, uuid = self.ts, self.uuid
        for referral_id, n, _specialty, priority, moves, *_ in self.referrals:
            previous = ""
            for status, at in moves:
                stamp = ts(at)
                if status == "proposed":
                    source, by, note = "worker", NULL, f"Proposed by triage ({priority})."
                elif status in ("sent", "cancelled"):
                    source, by, note = "api", self.submitter(n), CANCEL_REASON if status == "cancelled" else ""
                else:
                    source, by, note = "webhook", NULL, ""
                yield (f"{uuid()}\t{stamp}\t{stamp}\t{previous}\t{status}\t{stamp}\t{source}\t{note}\t{by}\t"
                       f"{referral_id}\t{NULL}\n")
                previous = status


STATUS_OF_STEP = {"S": "sent", "A": "accepted", "H": "scheduled", "M": "completed", "N": "no_show",
                  "D": "declined", "C": "cancelled"}
STEP_DAYS = {"S": (0.02, 1.0), "A": (0.05, 2.0), "H": (0.5, 8.0), "M": (1.0, 20.0), "N": (1.0, 20.0),
             "D": (0.2, 4.0), "C": (0.1, 10.0)}  # how long after the previous move, for a routine referral
CANCEL_REASON = "Patient moved away."
OPEN_STATUSES = ("proposed", "sent", "accepted", "scheduled", "no_show")


def _page_texts() -> dict[tuple[str, str], tuple[str, str]]:
    """The real page and alert texts, with {code} and {who} left to fill per row."""
    from notifications.messages import page_message, staff_alert_message
    from patients.models import Patient

    who = Patient(first_name="{who}", last_name="")
    texts = {}
    for channel in ("sms", "email"):
        for language in ("en", "es"):
            message = page_message(channel=channel, language=language, patient=who, case_code="{code}",
                                   ack_url="https://triage.example.org/api/v1/escalations/ack/token/")
            texts[channel, language] = (esc(message.subject), esc(message.body))
    alert = staff_alert_message(kind="exhausted_alert", patient=who, case_code="{code}", tier=3,
                                escalation_id="00000000-0000-0000-0000-000000000000")
    texts["exhausted", "en"] = (esc(alert.subject), esc(alert.body))
    return texts


# --------------------------------------------------------------------------- the whole seed


@dataclass(frozen=True)
class Load:
    """Tables written by one process in one transaction that truncates them first, one `COPY ... FREEZE` each.

    FREEZE (allowed on a table truncated or created in the same transaction) writes the rows already frozen and
    their pages all-visible: index-only scans work at once, and no VACUUM has to rewrite the hint bits later.
    """

    name: str
    tables: tuple[tuple[type, tuple[str, ...], Callable[[], Iterable[str]]], ...]

    @property
    def table_names(self) -> list[str]:
        return [model._meta.db_table for model, _, _ in self.tables]


def load(part: Load, *, database: str, say: Callable[[str], None]) -> SeedReport:
    import psycopg

    report, python_started = SeedReport(), time.process_time()
    with psycopg.connect(dbname=database, connect_timeout=5, **PG) as connection:
        backend = connection.info.backend_pid
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")
            cursor.execute(f"TRUNCATE {', '.join(part.table_names)}")
            for model, columns, rows in part.tables:
                table, began = model._meta.db_table, time.perf_counter()
                report.rows[table] = copy_rows(cursor, table, columns, rows(), options=" WITH (FREEZE)")
                report.seconds[table] = time.perf_counter() - began
                say(f"  {part.name:<22} {table:<30} {report.rows[table]:>9,} rows in {report.seconds[table]:5.1f} s")
        connection.commit()
        report.cpu_postgres = cpu_seconds(backend)  # the backend is this connection's alone (same machine)
    report.cpu_python = time.process_time() - python_started
    return report


@dataclass
class Detached:
    """What `schema_detach` dropped, as the statements that put it back: keys and indexes, then foreign keys."""

    keys_and_indexes: dict[str, list[str]] = field(default_factory=dict)  # table -> statements
    foreign_keys: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # table -> (name, ALTER TABLE ...)


def schema_detach(tables: list[str], *, database: str) -> Detached:
    """Drop the tables' indexes, primary and unique keys, and every foreign key from or to them.

    What pg_restore does for a bulk load: a row at a time, nine indexes on a
    million random UUIDs and timestamps cost far more than building each once,
    sorted, afterwards; and foreign keys are checked afterwards in one join per
    key instead of one lookup per row. The definitions are read back from the
    catalogue as migrate made them, so what is rebuilt is exactly the schema.
    """
    import psycopg

    detached = Detached()
    with psycopg.connect(dbname=database, autocommit=True, connect_timeout=5, **PG) as connection:
        foreign = connection.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE contype = 'f' AND (conrelid = ANY(%(t)s::regclass[]) OR confrelid = ANY(%(t)s::regclass[])) "
            "ORDER BY 1, 2", {"t": tables}).fetchall()
        keys = connection.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE contype IN ('p', 'u') AND conrelid = ANY(%s::regclass[]) ORDER BY contype, 1, 2",
            [tables]).fetchall()
        indexes = connection.execute(
            "SELECT indrelid::regclass::text, indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index "
            "WHERE indrelid = ANY(%s::regclass[]) "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conindid = indexrelid) ORDER BY 1, 2",
            [tables]).fetchall()
        for table, name, definition in foreign:
            connection.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
            detached.foreign_keys.setdefault(table, []).append(
                (name, f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition} NOT VALID'))
        for table, name, definition in keys:
            connection.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
            detached.keys_and_indexes.setdefault(table, []).append(
                f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        for table, name, definition in indexes:
            connection.execute(f"DROP INDEX {name}")
            detached.keys_and_indexes.setdefault(table, []).append(definition)
    return detached


def _in_parallel(groups: list[list[str]], *, database: str, connections: int = 2,
                 before: tuple[str, ...] = ()) -> None:
    """Run each group's statements in order, the groups shared out over `connections` sessions (threads)."""
    import threading

    import psycopg

    pending, lock, errors = list(groups), threading.Lock(), []

    def work() -> None:
        with psycopg.connect(dbname=database, autocommit=True, connect_timeout=5, **PG) as connection:
            for statement in before:
                connection.execute(statement)
            while True:
                with lock:
                    if not pending or errors:
                        return
                    group = pending.pop(0)
                try:
                    for statement in group:
                        connection.execute(statement)
                except Exception as error:
                    errors.append(error)
                    return

    threads = [threading.Thread(target=work) for _ in range(min(connections, len(groups)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise SystemExit(f"seeding failed while rebuilding the schema: {errors[0]}")


def schema_restore(detached: Detached, *, database: str, say: Callable[[str], None]) -> dict[str, float]:
    """Keys and indexes (sorted builds, two sessions), then the foreign keys, each checked by one join."""
    seconds = {}
    began = time.perf_counter()
    largest_first = sorted(detached.keys_and_indexes.items(), key=lambda item: -len(item[1]))
    # The primary key first: the foreign keys need it, and each table's builds then read a heap already cached.
    _in_parallel([statements for _, statements in largest_first], database=database,
                 before=("SET maintenance_work_mem = '256MB'",))
    seconds["keys and indexes"] = time.perf_counter() - began
    say(f"  {'schema':<22} {sum(map(len, detached.keys_and_indexes.values()))} keys and indexes built in "
        f"{seconds['keys and indexes']:.1f} s")
    began = time.perf_counter()
    _in_parallel([[statement for _, statement in keys] for keys in detached.foreign_keys.values()],
                 database=database, connections=1)
    _in_parallel([[f'ALTER TABLE {table} VALIDATE CONSTRAINT "{name}"' for name, _ in keys]
                  for table, keys in detached.foreign_keys.items()],
                 database=database, before=("SET work_mem = '64MB'",))
    seconds["foreign keys"] = time.perf_counter() - began
    say(f"  {'schema':<22} {sum(map(len, detached.foreign_keys.values()))} foreign keys added and checked in "
        f"{seconds['foreign keys']:.1f} s")
    return seconds


def vacuum_analyze(tables: Iterable[str], *, database: str) -> float:
    """What autovacuum would do next: statistics (and the visibility map, already set by FREEZE), two sessions."""
    began = time.perf_counter()
    _in_parallel([[f"VACUUM (ANALYZE) {table}"] for table in tables], database=database)
    return time.perf_counter() - began


def _load_child(seeder: Seeder, index: int, part: Load, database: str, results) -> None:
    """A forked process: load one part and put its report on `results`."""
    seeder.rng.seed(seeder.plan.seed + 1 + index)  # a sequence of ids of its own, not a copy of its siblings'
    try:
        report = load(part, database=database, say=lambda line: print(line, flush=True))
    except BaseException as error:
        results.put(f"{part.name}: {type(error).__name__}: {error}")
        raise
    results.put(report)


def seed(plan: Plan, *, say: Callable[[str], None] = print) -> SeedReport:
    """Seed the migrated, empty database Django is set up on; vacuumed and analysed.

    The indexes, keys and foreign keys of the tables written are dropped (and
    their definitions kept), the tables loaded at the same time by forked
    processes (one per part, each in a transaction of its own), then the
    indexes and keys built and the foreign keys added and checked, as
    pg_restore does. A row that breaks a key or a constraint fails the seed.
    """
    import multiprocessing

    from django.db import connection, connections

    from notifications.models import Escalation, Notification
    from patients.models import Patient
    from referrals.models import Referral, ReferralEvent
    from triage.models import Assessment, Evaluation

    report = SeedReport()
    database = connection.settings_dict["NAME"]
    started, python_started, machine_before = time.perf_counter(), time.process_time(), machine_cpu_seconds()
    people = people_create(plan)
    version, pool = triage_pool(random.Random(plan.seed))
    seeder = Seeder(plan, people, version, pool)
    seeder.plan_escalations()
    seeder.plan_referrals()
    report.seconds["plan (Python)"] = time.perf_counter() - started
    say(f"  planned in {report.seconds['plan (Python)']:.1f} s: {len(seeder.a.ids):,} assessments, "
        f"{len(seeder.escalations):,} escalations, {len(seeder.referrals):,} referrals")

    count = len(seeder.a.ids)
    parts = [
        Load("assessments", tables=(
            (Assessment, seeder.ASSESSMENT_COLUMNS, functools.partial(seeder.assessments, 0, count)),)),
        Load("evaluations", tables=(
            (Evaluation, seeder.EVALUATION_COLUMNS, functools.partial(seeder.evaluations, 0, count)),)),
        Load("escalations", tables=(
            (Escalation, seeder.ESCALATION_COLUMNS, seeder.escalation_rows),
            (Notification, seeder.NOTIFICATION_COLUMNS, seeder.notification_rows),
        )),
        Load("referrals", tables=(
            (Referral, seeder.REFERRAL_COLUMNS, seeder.referral_rows),
            (ReferralEvent, seeder.REFERRAL_EVENT_COLUMNS, seeder.referral_event_rows),
        )),
        Load("patients", tables=((Patient, seeder.PATIENT_COLUMNS, seeder.patients),)),
    ]
    for part in parts:
        for model, columns, _ in part.tables:
            check_columns(model, columns)
    tables = [table for part in parts for table in part.table_names]
    connections.close_all()  # nothing of Django's connection may cross the forks below

    began = time.perf_counter()
    detached = schema_detach(tables, database=database)
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    children = [context.Process(target=_load_child, daemon=True, args=(seeder, index, part, database, results))
                for index, part in enumerate(parts)]
    for child in children:
        child.start()
    reports = []
    try:
        while len(reports) < len(parts):
            try:
                outcome = results.get(timeout=0.5)
            except queue.Empty:
                if any(child.exitcode not in (None, 0) for child in children):
                    raise SystemExit("seeding failed: a loading process died") from None
                continue
            if isinstance(outcome, str):
                raise SystemExit(f"seeding failed: {outcome}")
            reports.append(outcome)
    finally:
        for child in children:
            if child.is_alive() and len(reports) < len(parts):
                child.terminate()
            child.join()
    report.seconds["COPY (all parts)"] = time.perf_counter() - began
    say(f"  {'all parts':<22} loaded in {report.seconds['COPY (all parts)']:.1f} s")
    report.seconds.update(schema_restore(detached, database=database, say=say))
    report.seconds["vacuum analyze"] = seconds = vacuum_analyze(tables, database=database)
    say(f"  {'all tables':<22} VACUUM ANALYZE in {seconds:.1f} s")
    for part_report in reports:
        for table, rows in part_report.rows.items():
            report.rows[table] = report.rows.get(table, 0) + rows
        report.seconds.update(part_report.seconds)
        report.cpu_postgres += part_report.cpu_postgres
        report.cpu_python += part_report.cpu_python
    report.cpu_python += time.process_time() - python_started
    busy, capacity = machine_cpu_seconds()
    report.machine_busy, report.machine_capacity = busy - machine_before[0], capacity - machine_before[1]
    report.wall_seconds = time.perf_counter() - started
    return report


def print_report(report: SeedReport, say: Callable[[str], None] = print) -> None:
    rate = report.total_rows / report.wall_seconds
    say(f"seeded {report.total_rows:,} rows in {report.wall_seconds:.0f} s ({rate:,.0f} rows/s), "
        "vacuumed and analysed")
    ours = report.cpu_postgres + report.cpu_python
    say(f"  CPU: PostgreSQL {report.cpu_postgres:.0f} s + Python {report.cpu_python:.0f} s; meanwhile the machine was "
        f"busy {report.machine_busy:.0f} of {report.machine_capacity:.0f} CPU-seconds, "
        f"{max(report.machine_busy - ours, 0):.0f} of them others' work")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default=DATABASE)
    parser.add_argument("--keep", action="store_true", help="keep the database at the end")
    parser.add_argument("--patients", type=int, default=Plan.patients)
    parser.add_argument("--assessments", type=int, default=Plan.assessments)
    parser.add_argument("--referrals", type=int, default=Plan.referrals)
    args = parser.parse_args()
    plan = Plan(patients=args.patients, assessments=args.assessments, referrals=args.referrals)
    print(f"machine: {machine()}")
    print(f"seeding database {args.database}: {plan.patients:,} patients, {plan.assessments:,} assessments, "
          f"{plan.referrals:,} referrals", flush=True)
    database_create(args.database)
    try:
        began = time.perf_counter()
        django_setup(args.database)
        print(f"  created and migrated in {time.perf_counter() - began:.1f} s", flush=True)
        print_report(seed(plan, say=lambda line: print(line, flush=True)))
    finally:
        if not args.keep:
            database_drop(args.database)
    return 0


if __name__ == "__main__":
    sys.exit(main())
