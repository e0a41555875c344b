"""What a serving process loaded at start-up is frozen, out of the garbage collector's full passes."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Django, every app and the admin: far more objects than a bare interpreter holds (about 30,000).
STARTUP_OBJECTS_AT_LEAST = 100_000


def frozen_after(code: str) -> int:
    result = subprocess.run(
        [sys.executable, "-c", f"import gc; {code}; print(gc.get_freeze_count())"],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "services.settings.test"}, cwd=ROOT,
        capture_output=True, text=True, timeout=60, check=True,
    )
    return int(result.stdout.split()[-1])


def test_nothing_is_frozen_by_merely_importing_django():
    assert frozen_after("import django; django.setup()") == 0


def test_a_web_worker_freezes_django_the_apps_and_the_urlconf_once_loaded():
    # The collector no longer lists frozen objects: the URL patterns must be out of its sight, so loaded before.
    code = ("import sys, services.wsgi; from django.urls import get_resolver; "
            "assert 'services.urls' in sys.modules and 'triage.api.views' in sys.modules; "
            "patterns = get_resolver().url_patterns; assert not any(o is patterns for o in gc.get_objects())")

    assert frozen_after(code) >= STARTUP_OBJECTS_AT_LEAST


def test_the_celery_worker_freezes_its_heap_before_it_forks_its_pool():
    code = ("import django; django.setup(); from services.celery_app import app; "
            "from celery.signals import worker_init; worker_init.send(sender=None)")

    assert frozen_after(code) >= STARTUP_OBJECTS_AT_LEAST


def test_a_pool_process_freezes_what_it_inherited_without_a_collection():
    code = ("import django; django.setup(); from services.celery_app import app; "
            "from celery.signals import worker_process_init; collections = []; "
            "gc.disable(); gc.callbacks.append(lambda phase, info: collections.append(info)); "
            "worker_process_init.send(sender=None); assert collections == [], collections")

    assert frozen_after(code) >= STARTUP_OBJECTS_AT_LEAST
