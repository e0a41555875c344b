"""Cross-cutting hooks of the audit trail (no business flow here).

* Every historical record django-simple-history writes for an audited model
  (create, update, delete) also becomes an audit event, in the same transaction.
* Every Celery task runs with the audit source "worker".
"""

from __future__ import annotations

from celery.signals import task_postrun, task_prerun
from simple_history.signals import post_create_historical_record

from . import context
from .actions import audit_record
from .models import Action, Source
from .registry import is_audited

ACTION_OF_HISTORY_TYPE = {"+": Action.CREATE, "~": Action.UPDATE, "-": Action.DELETE}

_task_tokens: dict[str, context.Tokens] = {}


def record_historical_write(sender, instance, history_instance, history_user, **kwargs) -> None:
    if not is_audited(type(instance)):
        return
    audit_record(
        action=ACTION_OF_HISTORY_TYPE[history_instance.history_type],
        actor=history_user,
        objects=[instance],
        history_id=history_instance.pk,
    )


def enter_worker(task_id=None, **kwargs) -> None:
    _task_tokens[task_id] = context.enter(Source.WORKER)


def leave_worker(task_id=None, **kwargs) -> None:
    tokens = _task_tokens.pop(task_id, None)
    if tokens is not None:
        context.leave(tokens)


def connect() -> None:
    post_create_historical_record.connect(record_historical_write, dispatch_uid="audit.historical_write")
    task_prerun.connect(enter_worker, weak=False, dispatch_uid="audit.enter_worker")
    task_postrun.connect(leave_worker, weak=False, dispatch_uid="audit.leave_worker")
