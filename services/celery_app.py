import os

from celery import Celery
from celery.signals import task_postrun, task_prerun, worker_init, worker_process_init
from django.db import close_old_connections

from services.runtime import freeze_inherited_heap, freeze_startup_heap

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "services.settings.local")

app = Celery("services")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


# Celery's Django fixup closes every database connection around every task
# unless CELERY_DB_REUSE_MAX is set (it is), which would make each task open a
# new PostgreSQL session: a backend start and its round trips on the path of
# every page. A worker instead treats a task as Django treats a request, so
# CONN_MAX_AGE and CONN_HEALTH_CHECKS apply: a connection that broke (the
# database restarted) or grew too old is replaced before the task uses it.
# An eager task runs inside its caller's request or transaction: left alone.
@task_prerun.connect(weak=False, dispatch_uid="services.db_connections_before_task")
@task_postrun.connect(weak=False, dispatch_uid="services.db_connections_after_task")
def _database_connections_around_task(task=None, **kwargs) -> None:
    if task is not None and not getattr(task.request, "is_eager", False):
        close_old_connections()


# The worker's main process freezes what it loaded before it forks the pool; each pool process then
# freezes what it inherited, without a collection that would unshare the pages.
@worker_init.connect(weak=False, dispatch_uid="services.freeze_startup_heap")
def _freeze_startup_heap(**kwargs) -> None:
    freeze_startup_heap()


@worker_process_init.connect(weak=False, dispatch_uid="services.freeze_inherited_heap")
def _freeze_inherited_heap(**kwargs) -> None:
    freeze_inherited_heap()
