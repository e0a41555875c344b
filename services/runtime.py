"""Start-up tuning of the processes that serve: web workers and Celery's worker processes."""

import gc


def freeze_startup_heap() -> None:
    """Take everything loaded at start-up (Django, the apps, the URLconf) out of the collector's sight.

    A full collection otherwise walks every module, class and function of the
    project: 80-90 ms in a web worker, once every few hundred requests, during
    which none of its threads answers (bench/intake's p99). Frozen objects are
    never collected, which is what start-up objects are for anyway, and the
    memory a forked process shares with its parent stays shared.
    """
    gc.collect()
    gc.freeze()
