"""The one DRF exception handler: every error leaves as problem details."""

from __future__ import annotations

from django.db import InterfaceError, OperationalError
from drf_standardized_errors.formatter import ExceptionFormatter
from drf_standardized_errors.handler import ExceptionHandler
from drf_standardized_errors.handler import exception_handler as standardized_exception_handler
from rest_framework import exceptions, serializers

from .errors import ApplicationError


class ApplicationAPIException(exceptions.APIException):
    def __init__(self, error: ApplicationError) -> None:
        self.status_code = error.status_code
        detail = error.as_detail() if (error.field or error.details) else error.message
        super().__init__(detail=detail, code=error.code)


class ApplicationValidationError(exceptions.ValidationError):
    """A 400 from the business rules formats like a serializer's, fields named."""

    def __init__(self, error: ApplicationError) -> None:
        super().__init__(detail=error.as_detail(), code=error.code)


class DatabaseUnavailable(exceptions.APIException):
    """The database did not answer (down, restarting, unreachable): a 503 the client may retry, not a 500."""

    status_code = 503
    default_detail = "The database is unavailable at the moment; retry shortly."
    default_code = "database_unavailable"
    retry_after_seconds = 5


class ServiceExceptionHandler(ExceptionHandler):
    def convert_known_exceptions(self, exc: Exception) -> Exception:
        if isinstance(exc, ApplicationError):
            if exc.status_code == 400:
                return ApplicationValidationError(exc)
            return ApplicationAPIException(exc)
        if isinstance(exc, OperationalError | InterfaceError):
            return DatabaseUnavailable()
        return super().convert_known_exceptions(exc)

    def get_headers(self, exc: exceptions.APIException) -> dict:
        headers = super().get_headers(exc)
        if isinstance(exc, DatabaseUnavailable):
            headers["Retry-After"] = str(exc.retry_after_seconds)
        return headers


class ProblemDetailsFormatter(ExceptionFormatter):
    """drf-standardized-errors' shape plus the RFC 9457 `status` and `title`."""

    def format_error_response(self, error_response) -> dict:
        data = super().format_error_response(error_response)
        first = data["errors"][0] if data.get("errors") else {}
        data["status"] = self.exc.status_code
        data["title"] = first.get("detail") if data["type"] != "validation_error" else "Invalid input."
        return data


# The package's own function, not a wrapper: drf-standardized-errors documents the
# error responses (400, 401, 403, 404, 429…) in the schema only for views whose
# exception handler *is* its handler.
exception_handler = standardized_exception_handler


class ProblemSerializer(serializers.Serializer):
    code = serializers.CharField()
    detail = serializers.CharField()
    attr = serializers.CharField(allow_null=True, help_text="The offending field (dotted for nested ones), or null.")


class ProblemDetailsSerializer(serializers.Serializer):
    """Every error response: its status and title, and each problem with the field it concerns."""

    type = serializers.ChoiceField(choices=["validation_error", "client_error", "server_error"])
    errors = ProblemSerializer(many=True)
    status = serializers.IntegerField()
    title = serializers.CharField(allow_null=True)
