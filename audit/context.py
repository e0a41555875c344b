"""Where the code runs, for the audit trail: api, admin, webhook, worker or system.

The middleware sets it (with the request) for every HTTP request, a Celery
signal sets "worker" around every task, and code elsewhere can say it itself:

    with audit_source("webhook"):
        ...
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token

from django.http import HttpRequest

from .models import Source

_source: ContextVar[str | None] = ContextVar("audit_source", default=None)
_request: ContextVar[HttpRequest | None] = ContextVar("audit_request", default=None)


Tokens = tuple[Token, Token]


@contextmanager
def audit_source(source: str, *, request: HttpRequest | None = None) -> Iterator[None]:
    tokens = enter(source, request=request)
    try:
        yield
    finally:
        leave(tokens)


def enter(source: str, *, request: HttpRequest | None = None) -> Tokens:
    """Where the code runs from now on (and the request it serves, if any); `leave` undoes it."""
    if source not in Source.values:
        raise ValueError(f"Unknown audit source {source!r}; one of {Source.values}.")
    return _source.set(source), _request.set(request)


def leave(tokens: Tokens) -> None:
    source_token, request_token = tokens
    _request.reset(request_token)
    _source.reset(source_token)


def current_source() -> str:
    return _source.get() or Source.SYSTEM


def current_request() -> HttpRequest | None:
    return _request.get()
