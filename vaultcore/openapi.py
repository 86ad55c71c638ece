"""OpenAPI helpers: document domain error responses in the contract's error shape.

drf-standardized-errors documents the generic statuses (400/401/403/404/405/415/429/500) by
itself; views add their domain statuses with ``error_responses(...)``, e.g.::

    @extend_schema(responses={201: TransactionSerializer, **error_responses(409, 422)})
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
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


# --- The generic error statuses, as the server sends them ---------------------------------------
# drf-standardized-errors' defaults drift from this API: every 400 here is a `validation_error`
# (parse errors included) whose codes come from serializers, domain rules and the request guards;
# 401s also carry simplejwt's codes; 403/404 carry domain codes; 500 says `server_error`.
# Wired in through DRF_STANDARDIZED_ERRORS["ERROR_SCHEMAS"] (settings).
CODES_400 = (
    "parse_error, required, null, blank, invalid, invalid_choice, max_length, min_length, "
    "max_value, min_value, max_digits, max_decimal_places, not_a_list, null_characters_not_allowed, "
    "too_many_fields, invalid_cursor, unsupported_currency, self_transfer, incorrect_password, "
    "password_invalid, password_too_short, password_too_common, password_entirely_numeric, "
    "password_too_similar, invalid_token, unique, invalid_signature, invalid_payload, ..."
)
CODES_401 = [
    "not_authenticated",
    "authentication_failed",
    "token_not_valid",
    "token_revoked",
    "bad_authorization_header",
]
CODES_403 = ["permission_denied", "email_not_verified"]
CODES_404 = ["not_found", "wallet_not_found", "recipient_not_found"]


def _error_response_serializer(name: str, error_type: str, codes: list[str] | None, help_text: str) -> type:
    # ``type`` and ``code`` enums are named in SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].
    code: serializers.Field = (
        serializers.ChoiceField(choices=codes, help_text=help_text)
        if codes
        else serializers.CharField(help_text=help_text)
    )
    error = type(
        f"{name}ErrorSerializer",
        (serializers.Serializer,),
        {
            "code": code,
            "detail": serializers.CharField(help_text="Human-readable explanation."),
            "attr": serializers.CharField(allow_null=True, help_text="The field at fault, or null."),
        },
    )
    return type(
        f"{name}ResponseSerializer",
        (serializers.Serializer,),
        {"type": serializers.ChoiceField(choices=[error_type]), "errors": error(many=True)},
    )


BadRequestResponseSerializer = _error_response_serializer(
    "BadRequest", "validation_error", None, f"Machine-readable code, for example: {CODES_400}"
)
UnauthorizedResponseSerializer = _error_response_serializer(
    "Unauthorized", "client_error", CODES_401, "No credentials, bad credentials, or an invalid or revoked token."
)
ForbiddenResponseSerializer = _error_response_serializer(
    "Forbidden", "client_error", CODES_403, "A role rule, a failed CSRF check, or an unverified email."
)
NotFoundResponseSerializer = _error_response_serializer("NotFound", "client_error", CODES_404, "What was not found.")
ServerErrorResponseSerializer = _error_response_serializer(
    "ServerError", "server_error", ["server_error"], "`server_error`: never a stack trace or SQL."
)


class CurrencyFieldExtension(OpenApiSerializerFieldExtension):
    """``CurrencyField``: an enum of the enabled currencies (``WALLET_CURRENCIES``)."""

    target_class = "wallets.serializers.CurrencyField"

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        return currency_schema()


def currency_schema() -> dict[str, Any]:
    return {"type": "string", "enum": list(settings.WALLET_CURRENCIES), "description": "Enabled ISO 4217 code."}


def add_uri_too_long(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Postprocessing hook: a request line over gunicorn's limit (4,094 bytes) is answered 414 by
    the HTTP server itself, before the API (so not in the error shape)."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            if isinstance(operation, dict) and "responses" in operation:
                operation["responses"].setdefault(
                    "414", {"description": "URI too long: answered by the HTTP server, not in the error shape."}
                )
    return result
