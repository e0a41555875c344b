"""`make run` with nothing set runs on SQLite: every staff page and API list must work there too.

The rest of the suite runs on PostgreSQL, where some selectors take
PostgreSQL-only forms (`= ANY(ARRAY(...))`, UNIONs of `LIMIT 1` reads);
this runs the pages in a process of its own on a fresh SQLite file.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_staff_page_and_api_list_answers_on_sqlite(tmp_path):
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("DATABASE_", "CELERY_"))}
    result = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "services" / "sqlite_pages.py")],
        cwd=ROOT, capture_output=True, text=True, timeout=180, check=False,
        env={**environment, "DJANGO_SETTINGS_MODULE": "services.settings.local",
             "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
             "CELERY_BROKER_URL": "memory://",  # the triage tasks it enqueues stay in this process
             "PYTHONPATH": str(ROOT)},
    )

    assert result.returncode == 0, result.stderr[-3000:]
    statuses = json.loads(result.stdout.strip().splitlines()[-1])
    assert statuses == dict.fromkeys(statuses, 200), statuses
