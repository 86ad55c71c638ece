"""One place that turns every error into the contract's shape.

``{"type": "validation_error" | "client_error" | "server_error",
   "errors": [{"code": ..., "detail": ..., "attr": ...}]}``

Domain errors are plain Python exceptions that subclass :class:`DomainError` in each app's
``exceptions.py``; each class names its HTTP status and error code, and this module is the only
code that maps them to responses. Nothing here ever echoes a stack trace, SQL or a secret.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import psycopg
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.db import Error as DjangoDatabaseError
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from drf_standardized_errors.formatter import ExceptionFormatter as BaseExceptionFormatter
from drf_standardized_errors.handler import ExceptionHandler as BaseExceptionHandler
from drf_standardized_errors.types import CLIENT_ERROR, SERVER_ERROR, VALIDATION_ERROR, Error, ErrorType
from rest_framework import exceptions, status

logger = logging.getLogger("vaultcore.errors")

# SQLSTATEs that mean "try again": deadlock detected, serialization failure.
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})
# SQLSTATEs that mean the database is unreachable or going away (the connection is lost, the
# server shuts down, restarts or is still starting, no connection slot is free) or is a standby
# after a failover (read-only). Class 08 (connection exceptions) counts too.
UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300", "25006"})


class DomainError(Exception):
    """Base of every business-rule error; subclasses set ``status_code`` and ``code``."""

    status_code: int = status.HTTP_400_BAD_REQUEST
    code: str = "invalid"
    default_detail: str = "The request could not be completed."
    # For 400s about one field; ``None`` means the rule is about the request as a whole.
    attr: str | None = None

    def __init__(self, detail: str | None = None, *, attr: str | None = None) -> None:
        self.detail = detail or self.default_detail
        if attr is not None:
            self.attr = attr
        super().__init__(self.detail)


class ServiceUnavailable(DomainError):
    """The operation could not be completed now (e.g. contention); nothing was changed."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    code = "service_unavailable"
    default_detail = "The service is busy; nothing was changed. Please retry."
    # Seconds a client should wait before retrying (the ``Retry-After`` header).
    retry_after: int = 1


class DatabaseUnavailable(ServiceUnavailable):
    """The database connection was lost or refused (a restart, a failover). Whatever the request
    had started either committed whole or not at all: retried with the same Idempotency-Key it
    is answered once."""

    default_detail = "The service is temporarily unavailable. Please retry with the same Idempotency-Key."
    retry_after = 5


def error_body(error_type: str, code: str, detail: str, attr: str | None = None) -> dict[str, Any]:
    """The contract's error body with a single error."""
    return {"type": error_type, "errors": [{"code": code, "detail": detail, "attr": attr}]}


def error_type_for(status_code: int) -> str:
    if status_code == status.HTTP_400_BAD_REQUEST:
        return VALIDATION_ERROR
    return SERVER_ERROR if status_code >= 500 else CLIENT_ERROR


def json_error(status_code: int, code: str, detail: str, attr: str | None = None) -> JsonResponse:
    """A plain Django response in the contract's shape, for code paths outside DRF views."""
    return JsonResponse(error_body(error_type_for(status_code), code, detail, attr), status=status_code)


def _is_retryable_db_error(exc: BaseException) -> bool:
    cause = exc.__cause__
    return isinstance(exc, OperationalError) and getattr(cause, "sqlstate", None) in RETRYABLE_SQLSTATES


def is_database_unavailable(exc: BaseException) -> bool:
    """True when ``exc`` means the database cannot be reached now, not that a statement is wrong:
    a lost or refused connection (psycopg gives it no SQLSTATE), a server shutting down or
    starting, no free connection slot, or a read-only standby after a failover."""
    if not isinstance(exc, DjangoDatabaseError | psycopg.Error):
        return False
    cause = exc if isinstance(exc, psycopg.Error) else exc.__cause__
    sqlstate = getattr(cause, "sqlstate", None)
    if sqlstate in RETRYABLE_SQLSTATES:
        return False
    if sqlstate is not None:
        return sqlstate.startswith("08") or sqlstate in UNAVAILABLE_SQLSTATES
    # No SQLSTATE: the connection itself failed (refused, reset, closed under us).
    return isinstance(exc, OperationalError | InterfaceError | psycopg.OperationalError | psycopg.InterfaceError)


def database_unavailable_response(exc: BaseException, request: HttpRequest | None = None) -> JsonResponse:
    """503 ``service_unavailable`` with ``Retry-After``, for code paths outside DRF views."""
    error = DatabaseUnavailable()
    logger.warning(
        "database unavailable on %s: %s",
        request.path if request is not None else "-",
        type(exc.__cause__ or exc).__name__,
    )
    response = json_error(error.status_code, error.code, error.detail)
    response["Retry-After"] = str(error.retry_after)
    return response


class RequestTooLarge(DomainError):
    """The request body is larger than this API accepts."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    code = "request_too_large"
    default_detail = "The request body is too large."


class TooManyFields(DomainError):
    """A form body with more fields (or files) than Django accepts."""

    code = "too_many_fields"
    default_detail = "The request has too many fields."


class _DomainAPIException(exceptions.APIException):
    def __init__(self, exc: DomainError) -> None:
        self.status_code = exc.status_code
        self.attr = exc.attr
        self.retry_after = getattr(exc, "retry_after", None)
        super().__init__(detail=exc.detail, code=exc.code)


class ExceptionHandler(BaseExceptionHandler):
    """drf-standardized-errors' handler, taught about our domain errors and JWT errors."""

    def convert_known_exceptions(self, exc: Exception) -> Exception:
        if isinstance(exc, RequestDataTooBig):
            exc = RequestTooLarge()
        elif isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
            exc = TooManyFields()
        if isinstance(exc, DomainError):
            return _DomainAPIException(exc)
        if _is_retryable_db_error(exc):
            # Services retry these; one that still escapes changed nothing (the atomic block
            # rolled back), so the client may safely retry.
            return _DomainAPIException(ServiceUnavailable())
        if is_database_unavailable(exc):
            logger.warning("database unavailable: %s", type(exc.__cause__ or exc).__name__)
            return _DomainAPIException(DatabaseUnavailable())
        return super().convert_known_exceptions(exc)

    def convert_unhandled_exceptions(self, exc: Exception) -> exceptions.APIException:
        if not isinstance(exc, exceptions.APIException):
            return exceptions.APIException(detail="A server error occurred.", code="server_error")
        return exc

    def report_exception(self, exc: exceptions.APIException, response: Any) -> None:
        """A 503 (contention, the database restarting or failing over) is an expected, retryable
        condition, not a bug: it is logged (here and by Django's request log), but not signalled
        as an unhandled exception to error trackers the way a 500 is."""
        if exc.status_code == status.HTTP_503_SERVICE_UNAVAILABLE:
            return
        super().report_exception(exc, response)

    def get_headers(self, exc: exceptions.APIException) -> dict[str, str]:
        headers = super().get_headers(exc)
        if exc.status_code == status.HTTP_503_SERVICE_UNAVAILABLE:
            headers.setdefault("Retry-After", str(getattr(exc, "retry_after", None) or 1))
        return headers


class ExceptionFormatter(BaseExceptionFormatter):
    """Contract rules on top of the library's formatter.

    - every 400 is a ``validation_error``; request-wide errors have ``attr: null``;
    - non-validation errors carry exactly one error, even when the exception's detail is a dict
      (simplejwt's ``InvalidToken`` puts ``detail``/``code``/``messages`` there).
    """

    def get_error_type(self) -> ErrorType:
        if self.exc.status_code == status.HTTP_400_BAD_REQUEST:
            return VALIDATION_ERROR
        return super().get_error_type()

    def get_errors(self) -> list[Any]:
        detail = self.exc.detail
        if isinstance(self.exc, _DomainAPIException):
            return [Error(str(detail.code), str(detail), self.exc.attr)]  # type: ignore[union-attr]
        if not isinstance(self.exc, exceptions.ValidationError) and isinstance(detail, dict):
            code = str(detail.get("code") or self.exc.default_code)
            text = str(detail.get("detail") or self.exc.default_detail)
            return [Error(code, text, None)]
        errors = super().get_errors()
        for error in errors:
            if error.attr in ("non_field_errors", "detail"):
                error.attr = None
        return errors


def error_payload(exc: Exception) -> tuple[int, dict[str, Any]]:
    """The HTTP status and contract body that REST answers for ``exc`` (any exception: a domain
    error, a DRF validation or auth error, or an unexpected one as a bare ``server_error``).
    Other transports (GraphQL) render errors from this, so every code is mapped here only."""
    handler = ExceptionHandler(exc, {"view": None, "args": (), "kwargs": {}, "request": None})  # type: ignore[typeddict-item]
    converted = handler.convert_unhandled_exceptions(handler.convert_known_exceptions(exc))
    return converted.status_code, handler.format_exception(converted)


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: Django calls it while handling an exception no view or middleware turned
    into a response (a middleware's own query, the admin). A lost database answers 503 with
    ``Retry-After``; anything else Django's 500 (JsonErrorMiddleware gives it the contract's shape
    outside the admin)."""
    exc = sys.exc_info()[1]
    if exc is not None and is_database_unavailable(exc):
        return database_unavailable_response(exc, request)
    return defaults.server_error(request)


def csrf_failure(request: HttpRequest, reason: str = "") -> JsonResponse:
    """CSRF failures outside DRF views (DRF views raise PermissionDenied themselves)."""
    return json_error(status.HTTP_403_FORBIDDEN, "permission_denied", "CSRF verification failed.")
