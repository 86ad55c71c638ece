"""Input and output serializers of the ledger API (no business logic: services decide)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ledger.models import Direction, LedgerTransaction, TransactionStatus, TransactionType
from wallets.models import WalletKind
from wallets.money import AmountError, CurrencyError, format_amount, parse_amount, validate_currency
from wallets.serializers import CurrencyField, MoneyInputSerializer


class TransferInputSerializer(MoneyInputSerializer):
    recipient = serializers.CharField(max_length=254, help_text="The recipient's username or email address.")
    description = serializers.CharField(required=False, allow_blank=True, max_length=255, default="")


_TRANSFER_FIELDS = frozenset({"recipient", "currency", "amount", "description"})


def _plain_text(value: object, *, max_length: int, allow_blank: bool) -> str | None:
    """``value`` if DRF's ``CharField`` would accept it and return it unchanged, else None."""
    if type(value) is not str or len(value) > max_length or not value.isprintable() or value != value.strip():
        return None
    if not value and not allow_blank:
        return None
    return value


def _transfer_input_plain(data: Any) -> dict[str, Any] | None:
    """The validated transfer for well-formed input, or None for anything else."""
    if type(data) is not dict or not data.keys() <= _TRANSFER_FIELDS:
        return None
    recipient = _plain_text(data.get("recipient"), max_length=254, allow_blank=False)
    description = _plain_text(data.get("description", ""), max_length=255, allow_blank=True)
    if recipient is None or description is None:
        return None
    try:
        currency = validate_currency(data.get("currency"))
        amount = parse_amount(data.get("amount"), currency)
    except (CurrencyError, AmountError):
        return None
    return {"currency": currency, "amount": amount, "recipient": recipient, "description": description}


def transfer_input_validate(data: Any) -> dict[str, Any]:
    """``TransferInputSerializer``'s validated data.

    Well-formed input (the usual request) is checked directly: building the serializer costs more
    than the checks (DRF deep-copies every field per instance). Anything else goes through the
    serializer, which raises the 400. ``ledger/tests/test_serializers.py`` checks on generated
    input that the direct path never accepts what the serializer refuses nor returns other values.
    """
    plain = _transfer_input_plain(data)
    if plain is not None:
        return plain
    serializer = TransferInputSerializer(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class TransactionFilterSerializer(serializers.Serializer):
    currency = CurrencyField(required=False)
    type = serializers.ChoiceField(choices=TransactionType.choices, required=False)
    status = serializers.ChoiceField(choices=TransactionStatus.choices, required=False)
    created_after = serializers.DateTimeField(required=False, help_text="Inclusive.")
    created_before = serializers.DateTimeField(required=False, help_text="Exclusive.")


class StatementFilterSerializer(serializers.Serializer):
    currency = CurrencyField()
    created_after = serializers.DateTimeField(required=False, help_text="Inclusive.")
    created_before = serializers.DateTimeField(required=False, help_text="Exclusive.")


_DATETIME = serializers.DateTimeField()


class TransactionOutputSerializer(serializers.Serializer):
    """A transaction as seen from the caller's wallet (``context["user"]``).

    The declared fields are the contract (the OpenAPI schema is generated from them);
    ``to_representation`` writes the same dict out by hand, because DRF's field-by-field path
    deep-copies every field of the serializer on each call (~0.3 ms, a tenth of a transfer
    request's CPU). ``ledger/tests/test_serializers.py`` compares the two on every kind of
    transaction, so they cannot drift apart.
    """

    id = serializers.UUIDField(source="public_id")
    type = serializers.ChoiceField(choices=TransactionType.choices)
    status = serializers.ChoiceField(choices=TransactionStatus.choices)
    currency = CurrencyField()
    amount = serializers.SerializerMethodField()
    direction = serializers.SerializerMethodField()
    balance_after = serializers.SerializerMethodField()
    counterparty = serializers.SerializerMethodField()
    description = serializers.CharField()
    reference = serializers.CharField()
    created_at = serializers.DateTimeField()
    posted_at = serializers.DateTimeField(allow_null=True)

    def to_representation(self, instance: LedgerTransaction) -> dict[str, Any]:
        posted_at = instance.posted_at
        return {
            "id": str(instance.public_id),
            "type": str(instance.type),
            "status": str(instance.status),
            "currency": str(instance.currency),
            "amount": self.get_amount(instance),
            "direction": str(self.get_direction(instance)),
            "balance_after": self.get_balance_after(instance),
            "counterparty": self.get_counterparty(instance),
            "description": str(instance.description),
            "reference": str(instance.reference),
            "created_at": _DATETIME.to_representation(instance.created_at),
            "posted_at": None if posted_at is None else _DATETIME.to_representation(posted_at),
        }

    def _mine_is_debit(self, obj: LedgerTransaction) -> bool:
        return obj.debit_wallet.user_id == self.context["user"].pk

    @extend_schema_field({"type": "string", "format": "decimal", "example": "10.50"})
    def get_amount(self, obj: LedgerTransaction) -> str:
        return format_amount(obj.amount, obj.currency)

    @extend_schema_field({"type": "string", "enum": Direction.values})
    def get_direction(self, obj: LedgerTransaction) -> str:
        return Direction.DEBIT if self._mine_is_debit(obj) else Direction.CREDIT

    @extend_schema_field({"type": "string", "format": "decimal", "nullable": True, "description": "Null until posted."})
    def get_balance_after(self, obj: LedgerTransaction) -> str | None:
        value = getattr(obj, "my_balance_after", None)
        if value is None and obj.status == TransactionStatus.POSTED and "my_balance_after" not in obj.__dict__:
            mine = obj.debit_wallet_id if self._mine_is_debit(obj) else obj.credit_wallet_id
            # Just posted by a service: the legs' balances are known; otherwise read the entry.
            known: dict[int, Decimal] = getattr(obj, "leg_balances", {})
            value = known.get(mine)
            if value is None:
                value = obj.entries.filter(wallet_id=mine).values_list("balance_after", flat=True).first()
        return None if value is None else format_amount(value, obj.currency)

    @extend_schema_field(
        {"type": "string", "nullable": True, "description": "The other user's username for transfers, else null."}
    )
    def get_counterparty(self, obj: LedgerTransaction) -> str | None:
        other = obj.credit_wallet if self._mine_is_debit(obj) else obj.debit_wallet
        if other.kind != WalletKind.USER or other.user is None:
            return None
        return other.user.username
