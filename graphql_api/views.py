"""``/graphql/``: strawberry's Django view with the contract's transport rules: no batching, a
20 kB document limit, GraphiQL in DEBUG only, and every error mapped through
``vaultcore.errors.error_payload`` (the REST mapping) to ``extensions.code``/``attr``."""

from __future__ import annotations

import logging
import re
from typing import Any

from cross_web import HTTPException
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase, JsonResponse
from graphql import GraphQLError
from graphql.execution import ExecutionResult
from rest_framework.exceptions import APIException
from strawberry.django.views import GraphQLView

from graphql_api.schema import schema
from vaultcore.errors import (
    DatabaseUnavailable,
    DomainError,
    ServiceUnavailable,
    error_payload,
    is_database_unavailable,
)

logger = logging.getLogger("vaultcore.graphql")

MAX_DOCUMENT_BYTES = 20 * 1024
# The messages of strawberry's depth, alias and token limiters (graphql-core gives them no code).
_LIMIT_RE = re.compile(
    r"exceeds maximum operation depth|aliases found\. Allowed|Document contains more than \d+ tokens"
)


def _camel(name: str | None) -> str | None:
    if name is None:
        return None
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _too_complex(message: str) -> dict[str, Any]:
    return {"message": message, "extensions": {"code": "query_too_complex", "attr": None}}


def graphql_errors(error: GraphQLError) -> list[dict[str, Any]]:
    """One GraphQL error as the contract's errors: the REST code in ``extensions.code``."""
    locations = [{"line": loc.line, "column": loc.column} for loc in error.locations or []]
    if error.path is None:
        # The document or its variables: nothing was executed.
        code = "query_too_complex" if _LIMIT_RE.search(error.message) else "graphql_validation_failed"
        return [{"message": error.message, "locations": locations, "extensions": {"code": code, "attr": None}}]
    original = error.original_error if error.original_error is not None else error
    if is_database_unavailable(original):
        logger.warning("GraphQL field %s: database unavailable", ".".join(map(str, error.path)))
    elif not isinstance(original, DomainError | APIException):
        logger.error("GraphQL field %s failed: %s", ".".join(map(str, error.path)), type(original).__name__)
    status, body = error_payload(original)
    # The REST status's class, in the graphql-java/Apollo vocabulary generic clients (and
    # schemathesis) read: a refused request versus a failure of the server.
    classification = "BAD_REQUEST" if status < 500 else "INTERNAL_SERVER_ERROR"
    return [
        {
            "message": item["detail"],
            "locations": locations,
            "path": error.path,
            "extensions": {"code": item["code"], "attr": _camel(item["attr"]), "classification": classification},
        }
        for item in body["errors"]
    ]


def retry_after(errors: list[GraphQLError]) -> int | None:
    """Seconds to wait before retrying, when a field failed because the service was unavailable
    (the database restarting or failing over, contention): the ``Retry-After`` header."""
    seconds = [
        DatabaseUnavailable.retry_after
        if original is not None and is_database_unavailable(original)
        else original.retry_after
        if isinstance(original, ServiceUnavailable)
        else None
        for original in (error.original_error for error in errors)
    ]
    known = [s for s in seconds if s is not None]
    return max(known) if known else None


class _DocumentTooLarge(Exception):
    pass


class VaultGraphQLView(GraphQLView):
    schema = schema
    allow_queries_via_get = True

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            response = self.run(request=request)
            seconds = getattr(request, "_graphql_retry_after", None)
            if seconds is not None:
                response["Retry-After"] = str(seconds)
            return response
        except _DocumentTooLarge:
            body = {"data": None, "errors": [_too_complex(f"The document is larger than {MAX_DOCUMENT_BYTES} bytes.")]}
            return JsonResponse(body)
        except HTTPException as exc:
            code = "graphql_validation_failed" if exc.status_code == 400 else "method_not_allowed"
            error = {"message": exc.reason, "extensions": {"code": code, "attr": None}}
            return JsonResponse({"errors": [error]}, status=exc.status_code)

    def should_render_graphql_ide(self, request: Any) -> bool:
        return bool(settings.DEBUG) and super().should_render_graphql_ide(request)

    def parse_http_body(self, request: Any) -> Any:
        data = super().parse_http_body(request)
        if isinstance(data, list):  # pragma: no cover - batching is off: strawberry refuses it first
            raise HTTPException(400, "Batching is not enabled")
        if isinstance(data.query, str) and len(data.query.encode()) > MAX_DOCUMENT_BYTES:
            raise _DocumentTooLarge()
        return data

    def process_result(self, request: HttpRequest, result: ExecutionResult) -> Any:  # type: ignore[override]
        body: dict[str, Any] = {"data": result.data}
        if result.errors:
            body["errors"] = [item for error in result.errors for item in graphql_errors(error)]
            request._graphql_retry_after = retry_after(result.errors)  # type: ignore[attr-defined]
        return body
