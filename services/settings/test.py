"""Test settings: a real PostgreSQL and a real Redis, as in production.

Every test run gets its own database and its own Redis key prefix (by
`TEST_RUN_ID`, inherited by the worker subprocesses it starts), so that runs
on one machine never see each other's data or tasks.
"""

import os

TEST_RUN_ID = os.environ.setdefault("TEST_RUN_ID", str(os.getpid()))
os.environ.setdefault("DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/footdrop_{TEST_RUN_ID}")
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/15")

from .base import *  # noqa: E402, F403
from .base import CELERY_BROKER_TRANSPORT_OPTIONS, REST_FRAMEWORK  # noqa: E402

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
if "EMAIL_URL" not in os.environ:
    EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Tests log in and register far more often than people do: every scope is lifted
# (tests/security sets real rates with override_settings).
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {scope: "100000/min" for scope in REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]},
}
# Off for the same reason; the lockout tests switch it on with override_settings.
AXES_ENABLED = False
# pytest-xdist's processes share TEST_RUN_ID's parent but not a database: each gets its own prefix too.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
BROKER_KEY_PREFIX = f"test-{TEST_RUN_ID}{'-' + XDIST_WORKER if XDIST_WORKER else ''}:"
CELERY_BROKER_TRANSPORT_OPTIONS = {**CELERY_BROKER_TRANSPORT_OPTIONS, "global_keyprefix": BROKER_KEY_PREFIX}
