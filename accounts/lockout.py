"""What a locked-out login gets (django-axes): a 429 problem-details body, never HTML."""

from __future__ import annotations

from axes.helpers import get_cool_off
from django.http import HttpRequest, JsonResponse
from rest_framework import exceptions, status

LOCKED_OUT_CODE = "locked_out"


class LoginLockedOut(exceptions.Throttled):
    default_detail = "Too many failed logins for this username from this address."
    default_code = LOCKED_OUT_CODE


def lockout_seconds(request: HttpRequest | None = None) -> int | None:
    cool_off = get_cool_off(request)
    return int(cool_off.total_seconds()) if cool_off else None


def lockout_error(request: HttpRequest | None = None) -> LoginLockedOut:
    return LoginLockedOut(wait=lockout_seconds(request))


def lockout_response(request: HttpRequest, original_response=None, credentials=None) -> JsonResponse:
    """AXES_LOCKOUT_CALLABLE: the admin login (and any non-DRF login) answers like the API does."""
    error = lockout_error(request)
    body = {
        "type": "client_error",
        "errors": [{"code": LOCKED_OUT_CODE, "detail": str(error.detail), "attr": None}],
        "status": status.HTTP_429_TOO_MANY_REQUESTS,
        "title": str(error.detail),
    }
    response = JsonResponse(body, status=status.HTTP_429_TOO_MANY_REQUESTS)
    if error.wait:
        response["Retry-After"] = str(int(error.wait))
    return response
