"""Values kept a few seconds in the cache (a huge list's count, the dashboard's two weeks), never needed from it.

With the cache down, a page still answers with a value computed for it: being
kept is an economy, not a dependency.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from django.core.cache import cache

logger = logging.getLogger(__name__)

Value = TypeVar("Value")


def kept(key: str, *, seconds: float, compute: Callable[[], Value],
         worth_keeping: Callable[[Value], bool] = lambda value: True) -> Value:
    """The value kept under `key`, or `compute()`'s, kept `seconds` when it is worth keeping."""
    try:
        value = cache.get(key)
    except Exception:  # the cache is down: compute, and keep nothing
        logger.warning("cache unavailable; computing", extra={"key": key}, exc_info=True)
        return compute()
    if value is not None:
        return value
    value = compute()
    if worth_keeping(value):
        try:
            cache.set(key, value, seconds)
        except Exception:
            logger.warning("cache unavailable; not kept", extra={"key": key}, exc_info=True)
    return value
