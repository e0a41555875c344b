"""The one application error type: actions raise these, the API maps them."""

from __future__ import annotations


class ApplicationError(Exception):
    """A refusal by the business rules, with a code and, where it helps, a field."""

    status_code = 400
    default_code = "invalid"

    def __init__(
        self, message: str, *, code: str | None = None, field: str | None = None,
        details: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.field = field
        self.details = details

    def as_detail(self) -> object:
        """The error as DRF detail: every offending field named, nested under `field` when both are set."""
        if self.details:
            named = {name: [message] for name, message in self.details.items()}
            return {self.field: named} if self.field else named
        return {self.field: [self.message]} if self.field else [self.message]


class TransitionNotAllowed(ApplicationError):
    """The state machine does not allow this move from the current state."""

    status_code = 409
    default_code = "transition_not_allowed"


class Conflict(ApplicationError):
    status_code = 409
    default_code = "conflict"


class Unprocessable(ApplicationError):
    status_code = 422
    default_code = "unprocessable"


class NotFound(ApplicationError):
    status_code = 404
    default_code = "not_found"
