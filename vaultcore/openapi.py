"""OpenAPI helpers: document domain error responses in the contract's error shape.

drf-standardized-errors documents the generic statuses (400/401/403/404/405/415/429/500) by
itself; views add their domain statuses with ``error_responses(...)``, e.g.::

    @extend_schema(responses={201: TransactionSerializer, **error_responses(409, 422)})
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Machine-readable error code, e.g. `insufficient_funds`.")
    detail = serializers.CharField(help_text="Human-readable explanation.")
    attr = serializers.CharField(allow_null=True, help_text="The field at fault, or null for the whole request.")


class ErrorResponseSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["validation_error", "client_error", "server_error"])
    errors = ErrorSerializer(many=True)  # type: ignore[assignment]  # the field, not Serializer.errors


_DESCRIPTIONS = {
    400: "Invalid input (`validation_error`); nothing was changed.",
    401: "Not authenticated, or the credentials/token are invalid or revoked.",
    403: "Forbidden (a role rule, a failed CSRF check, or a business rule such as `email_not_verified`).",
    404: "Not found.",
    409: "Conflict: the resource exists, or an idempotent request with this key is still running.",
    422: "A business rule refused the request (e.g. `insufficient_funds`); nothing was changed.",
    423: "The wallet is frozen (`wallet_frozen`).",
    503: "Temporarily unavailable; nothing was changed. Retry after the `Retry-After` delay.",
}


def error_responses(*status_codes: int, **descriptions: str) -> dict[int, OpenApiResponse]:
    """``{status: OpenApiResponse(ErrorResponseSerializer)}`` for the given statuses."""
    return {
        code: OpenApiResponse(
            response=ErrorResponseSerializer,
            description=descriptions.get(f"s{code}", _DESCRIPTIONS.get(code, "Error.")),
        )
        for code in status_codes
    }
