"""Serializers of wallets, and the REST fields of money input: a currency and an amount,
parsed once (``wallets.money``)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from wallets.models import Wallet, WalletStatus
from wallets.money import AmountError, CurrencyError, format_amount, parse_amount, validate_currency

AMOUNT_HELP = (
    "Decimal string (or exact JSON number) with at most the currency's minor-unit digits "
    "(USD 2, JPY 0, KWD 3); > 0 and <= MAX_TRANSACTION_AMOUNT. Never rounded."
)


class CurrencyField(serializers.CharField):
    """An enabled ISO 4217 code (upper case); anything else is 400 ``unsupported_currency``."""

    default_error_messages = {"unsupported_currency": "Unsupported currency."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("help_text", "ISO 4217 code, upper case; one of the enabled currencies.")
        super().__init__(max_length=3, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        try:
            return validate_currency(data)
        except CurrencyError as exc:
            raise serializers.ValidationError(str(exc), code="unsupported_currency") from exc


@extend_schema_field({"type": "string", "format": "decimal", "example": "10.50"})
class AmountField(serializers.Field):
    """Keeps the raw JSON value; ``MoneyInputSerializer.validate`` parses it with the currency."""

    default_error_messages = {"invalid": "Invalid amount."}

    def to_internal_value(self, data: Any) -> Any:
        return data

    def to_representation(self, value: Any) -> Any:  # pragma: no cover - input only
        return str(value)


class MoneyInputSerializer(serializers.Serializer):
    """``currency`` and ``amount``; the amount comes out as a ``wallets.money.Amount``."""

    currency = CurrencyField()
    amount = AmountField(help_text=AMOUNT_HELP)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        try:
            attrs["amount"] = parse_amount(attrs["amount"], attrs["currency"])
        except AmountError as exc:
            raise serializers.ValidationError({"amount": [str(exc)]}, code="invalid") from exc
        return attrs


MONEY_SCHEMA = {"type": "string", "format": "decimal", "example": "10.50"}


class WalletInputSerializer(serializers.Serializer):
    currency = CurrencyField()


class WalletOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    currency = CurrencyField()
    balance = serializers.SerializerMethodField()
    available_balance = serializers.SerializerMethodField()
    status = serializers.ChoiceField(choices=WalletStatus.choices)
    created_at = serializers.DateTimeField()

    @extend_schema_field(MONEY_SCHEMA)
    def get_balance(self, obj: Wallet) -> str:
        at = self.context.get("balance_at")
        return format_amount(at.balance if at else obj.balance, obj.currency)

    @extend_schema_field({**MONEY_SCHEMA, "description": "balance minus funds held by pending withdrawals"})
    def get_available_balance(self, obj: Wallet) -> str:
        at = self.context.get("balance_at")
        return format_amount(at.available if at else obj.available, obj.currency)


class AsOfSerializer(serializers.Serializer):
    as_of = serializers.DateTimeField(required=False, help_text="ISO 8601 instant; entries posted at or before it.")
