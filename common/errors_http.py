"""Django's own error pages (no view matched, an error outside DRF) as problem details under /api/.

The API answers JSON even when DRF never saw the request: a path that matches
no route (`/api/v1/patients/not-a-uuid/`), a failure in a middleware. The
admin and other pages keep Django's HTML pages.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

API_PREFIX = "/api/"


def problem(status: int, code: str, detail: str, *, error_type: str = "client_error") -> JsonResponse:
    return JsonResponse(
        {
            "type": error_type,
            "errors": [{"code": code, "detail": detail, "attr": None}],
            "status": status,
            "title": detail,
        },
        status=status,
    )


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return problem(400, "bad_request", "Bad request.")
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return problem(403, "permission_denied", "You do not have permission to perform this action.")
    return defaults.permission_denied(request, exception)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return problem(404, "not_found", "Not found.")
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return problem(500, "error", "A server error occurred.", error_type="server_error")
    return defaults.server_error(request)
