"""The HTTP POST of an outbound webhook: a timeout, no redirects followed, a truncated reply."""

from __future__ import annotations

import http.client
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

RESPONSE_LIMIT = 2000


@dataclass(frozen=True)
class HttpReply:
    status_code: int | None  # None: no HTTP answer (refused, timed out, TLS failure...)
    body: str
    duration_ms: int
    error: str = ""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A webhook URL that redirects is misconfigured: report the 3xx instead of following it."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def http_post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> HttpReply:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 (http/https only)
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        with _opener.open(request, timeout=timeout) as response:
            return HttpReply(response.status, _text(response.read(RESPONSE_LIMIT)), elapsed())
    except urllib.error.HTTPError as error:
        try:
            payload = error.read(RESPONSE_LIMIT)
        except (OSError, http.client.HTTPException):
            payload = b""
        return HttpReply(error.code, _text(payload), elapsed(), f"HTTP {error.code}")
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as error:
        reason = getattr(error, "reason", None) or error
        return HttpReply(None, "", elapsed(), f"{type(error).__name__}: {reason}"[:500])


def _text(payload: bytes) -> str:
    return payload.decode("utf-8", "replace")[:RESPONSE_LIMIT]
