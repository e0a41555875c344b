import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection
from django.test import override_settings

from services.celery_app import app as celery_app

PRODUCTION = "services.settings.production"
ROOT = Path(__file__).resolve().parents[2]


def test_healthz_answers_while_the_process_lives(client):
    assert client.get("/healthz").json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_is_200_when_database_and_broker_answer(client):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "broker": "ok"}


@pytest.mark.django_db
def test_readyz_is_503_naming_the_broker_when_it_does_not_answer(client):
    original = celery_app.conf.broker_url, celery_app.conf.broker_write_url
    celery_app.conf.broker_url = celery_app.conf.broker_write_url = "redis://127.0.0.1:1/0"
    try:
        response = client.get("/readyz")
    finally:
        celery_app.conf.broker_url, celery_app.conf.broker_write_url = original

    assert response.status_code == 503
    assert response.json()["failed"] == ["broker"]


@pytest.mark.django_db
def test_readyz_is_503_naming_the_database_when_it_does_not_answer(client, monkeypatch):
    def refuse(*args, **kwargs):
        raise ConnectionError("database down")

    monkeypatch.setattr(connection, "cursor", refuse)

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["failed"] == ["database"]


def run_with_settings(env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": PRODUCTION, **env},
        capture_output=True, text=True, timeout=60, check=False,
    )


def test_production_settings_refuse_the_development_secret_key():
    result = run_with_settings({})

    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_settings_refuse_debug():
    result = run_with_settings({"SECRET_KEY": "x" * 60, "DEBUG": "true"})

    assert result.returncode != 0
    assert "DEBUG" in result.stderr


def test_production_settings_start_with_a_real_secret():
    result = run_with_settings({"SECRET_KEY": "k" * 60, "ALLOWED_HOSTS": "triage.example.org"})

    assert result.returncode == 0, result.stderr


@pytest.mark.django_db
def test_the_openapi_schema_builds_and_describes_the_contract(client):
    response = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json")

    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in ["/api/v1/auth/token/", "/api/v1/auth/register/", "/api/v1/patients/", "/api/v1/patients/me/",
                 "/api/v1/findings/", "/api/v1/assessments/", "/api/v1/assessments/{id}/"]:
        assert path in paths


@override_settings(DEBUG=False)
def test_the_docs_page_is_served(client):
    assert client.get("/api/v1/docs/").status_code == 200


@pytest.mark.skipif(not shutil.which("docker-compose"), reason="Debian's docker-compose is not installed")
def test_docker_compose_file_is_valid():
    result = subprocess.run(["docker-compose", "config", "-q"], cwd=ROOT, capture_output=True, text=True,
                            timeout=60, check=False)

    assert result.returncode == 0, result.stderr
