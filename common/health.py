"""Liveness and readiness: is the process up, and can it reach its database and broker."""

from __future__ import annotations

from django.db import connection
from django.http import JsonResponse

from services.celery_app import app as celery_app

BROKER_TIMEOUT_SECONDS = 2


def database_problem() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as error:  # any driver error means "not ready"
        return type(error).__name__
    return None


def broker_problem() -> str | None:
    try:
        with celery_app.connection_for_write() as broker:
            broker.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT_SECONDS)
    except Exception as error:  # kombu raises a variety of transport errors
        return type(error).__name__
    return None


def healthz(request):
    return JsonResponse({"status": "ok"})


def readyz(request):
    checks = {"database": database_problem(), "broker": broker_problem()}
    failed = sorted(name for name, problem in checks.items() if problem)
    body = {
        "status": "ok" if not failed else "unavailable",
        "checks": {name: ("ok" if problem is None else f"failed: {problem}") for name, problem in checks.items()},
    }
    if failed:
        body["failed"] = failed
        body["detail"] = f"not ready: {', '.join(failed)} did not answer"
    return JsonResponse(body, status=503 if failed else 200)
