"""PostgreSQL timestamps parsed by psycopg's compiled loader instead of Django's pure-Python one.

For every psycopg 3 connection Django registers a `timestamptz` loader that
subclasses psycopg's pure-Python loader, only to set the tzinfo it wants
(django/db/backends/postgresql/psycopg_any.py); psycopg's compiled loader
(psycopg[binary]) cannot be subclassed. A page of 50 escalations with their
events and notifications reads about 2,000 timestamps: about 3.5 µs each
went to parsing text in Python (bench/scale).

The loader here wraps the compiled one and sets the tzinfo exactly as
Django's does. It carries Django's `timezone` attribute, which
`DatabaseWrapper.create_cursor` compares with the connection's before
registering a loader of its own. Without the compiled loader (pure-Python
psycopg) or on another database, nothing changes.
"""

from __future__ import annotations

import datetime
from functools import lru_cache

from django.db.backends.signals import connection_created

try:
    from psycopg import adapt, adapters
    from psycopg.postgres import types as postgres_types
    from psycopg.pq import Format
except ImportError:  # psycopg 2 or no PostgreSQL driver: Django's own loaders are the only ones
    adapters = None

TIMESTAMPTZ = "timestamptz"


def _compiled_loader() -> type | None:
    if adapters is None:
        return None
    loader = adapters.get_loader(postgres_types[TIMESTAMPTZ].oid, Format.TEXT)
    # The pure-Python loader lives in psycopg itself; the compiled one in psycopg_binary or psycopg_c.
    return None if loader is None or loader.__module__.startswith("psycopg.") else loader


@lru_cache
def compiled_timestamptz_loader(timezone: datetime.tzinfo | None) -> type | None:
    """A loader class for connections whose Django timezone is `timezone`, or None without the compiled one."""
    compiled = _compiled_loader()
    if compiled is None:
        return None

    class CompiledTimestamptzLoader(adapt.Loader):
        def __init__(self, oid: int, context=None) -> None:
            super().__init__(oid, context)
            self._load = compiled(oid, context).load

        def load(self, data):
            # As Django's loader: the value comes in the session's time zone, which Django sets to its own.
            return self._load(data).replace(tzinfo=self.timezone)

    CompiledTimestamptzLoader.timezone = timezone
    return CompiledTimestamptzLoader


def use_compiled_timestamp_loader(sender, connection, **kwargs) -> None:
    if connection.vendor != "postgresql":
        return
    loader = compiled_timestamptz_loader(connection.timezone)
    if loader is not None:
        connection.connection.adapters.register_loader(TIMESTAMPTZ, loader)


def install() -> None:
    connection_created.connect(use_compiled_timestamp_loader, dispatch_uid="common.postgres_timestamps")
