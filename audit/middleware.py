from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from . import context
from .models import Source

# Inbound callbacks from partners and Twilio (shared/api-contract.md §7, §9).
WEBHOOK_PATH_PREFIX = "/api/v1/webhooks/"
ADMIN_PATH_PREFIX = "/admin/"


def source_of_path(path: str) -> str:
    if path.startswith(ADMIN_PATH_PREFIX):
        return Source.ADMIN
    if path.startswith(WEBHOOK_PATH_PREFIX):
        return Source.WEBHOOK
    return Source.API


class AuditContextMiddleware:
    """Every request runs with its audit source (api, admin or webhook) and the request itself."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with context.audit_source(source_of_path(request.path_info), request=request):
            return self.get_response(request)
