"""Serializers of the deposit and withdrawal endpoints."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ledger.models import LedgerTransaction
from ledger.serializers import TransactionOutputSerializer
from wallets.serializers import MoneyInputSerializer


class DepositInputSerializer(MoneyInputSerializer):
    pass


class WithdrawInputSerializer(MoneyInputSerializer):
    bank_account_id = serializers.CharField(
        required=False, allow_null=True, max_length=64, help_text="One of your bank accounts (payments API)."
    )


class PaymentSerializer(serializers.Serializer):
    provider = serializers.CharField()
    client_secret = serializers.CharField(allow_null=True)


class DepositOutputSerializer(TransactionOutputSerializer):
    payment = serializers.SerializerMethodField()

    @extend_schema_field(PaymentSerializer)
    def get_payment(self, obj: LedgerTransaction) -> dict[str, Any]:
        return self.context["payment"]

    def to_representation(self, instance: LedgerTransaction) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["payment"] = self.get_payment(instance)
        return data
