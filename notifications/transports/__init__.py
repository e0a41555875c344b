"""One transport class per channel, behind one small interface, chosen from settings.

A transport sends one message and says what happened: `Sent` with the
provider's id, or raises `TemporaryFailure` (worth retrying: a timeout, a 5xx,
a refused connection) or `PermanentFailure` (retrying cannot help: a 4xx such
as an invalid number). Nothing here touches the database.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sent:
    provider_id: str
    status_code: int | None = None
    response: str = ""


class DeliveryFailure(Exception):
    permanent = False

    def __init__(self, error: str, *, status_code: int | None = None, response: str = "") -> None:
        super().__init__(error)
        self.error = error
        self.status_code = status_code
        self.response = response


class TemporaryFailure(DeliveryFailure):
    permanent = False


class PermanentFailure(DeliveryFailure):
    permanent = True


RESPONSE_EXCERPT_CHARS = 500


def excerpt(text: str, limit: int = RESPONSE_EXCERPT_CHARS) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
