"""Start-up tuning of the processes that serve: web workers and Celery's worker processes."""

import gc


def freeze_startup_heap() -> None:
    """Take everything loaded at start-up (Django, the apps, the URLconf) out of the collector's sight.

    A full collection otherwise walks every module, class and function of the
    project: 80-90 ms in a web worker, once every few hundred requests, during
    which none of its threads answers (bench/intake's p99). Frozen objects are
    never collected; start-up objects live as long as the process anyway.
    """
    gc.collect()
    gc.freeze()


def freeze_inherited_heap() -> None:
    """In a process forked from one that froze its start-up heap: freeze what came since, without collecting.

    A collection here would write to every object inherited from the parent,
    and so copy the memory pages the two processes share.
    """
    gc.freeze()
