"""HTTP endpoints of wallets: validate input, call one service or selector, render output."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from ledger.selectors import wallet_balance_as_of
from ledger.serializers import CurrencyField
from vaultcore.openapi import currency_schema, error_responses
from wallets.models import Wallet, WalletStatus
from wallets.money import format_amount
from wallets.selectors import wallet_get, wallet_list
from wallets.services import currency_validate, wallet_create

MONEY_SCHEMA = {"type": "string", "format": "decimal", "example": "10.50"}


def _user(request: Request) -> User:
    user: User = request.user  # type: ignore[assignment]
    return user


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


class WalletListCreateApi(APIView):
    @extend_schema(operation_id="wallets_list", responses={200: WalletOutputSerializer(many=True)})
    def get(self, request: Request) -> Response:
        wallets = wallet_list(user=_user(request))
        return Response(WalletOutputSerializer(wallets, many=True).data)

    @extend_schema(
        operation_id="wallets_create",
        request=WalletInputSerializer,
        responses={201: WalletOutputSerializer, **error_responses(409)},
        description="Open a wallet. A second wallet in the same currency: 409 `wallet_exists`.",
    )
    def post(self, request: Request) -> Response:
        serializer = WalletInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        wallet = wallet_create(user=_user(request), currency=serializer.validated_data["currency"])
        return Response(WalletOutputSerializer(wallet).data, status=status.HTTP_201_CREATED)


class WalletDetailApi(APIView):
    @extend_schema(
        operation_id="wallets_retrieve",
        parameters=[AsOfSerializer, OpenApiParameter("currency", currency_schema(), OpenApiParameter.PATH)],
        responses={200: WalletOutputSerializer, **error_responses(404)},
        description=(
            "Your wallet in `currency` (404 `wallet_not_found` if none). With `?as_of=` the balance "
            "and available balance at that instant, from the ledger's balance snapshots."
        ),
    )
    def get(self, request: Request, currency: str) -> Response:
        params = AsOfSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        wallet = wallet_get(user=_user(request), currency=currency_validate(currency=currency))
        context: dict[str, Any] = {}
        as_of = params.validated_data.get("as_of")
        if as_of is not None:
            context["balance_at"] = wallet_balance_as_of(wallet=wallet, as_of=as_of)
        return Response(WalletOutputSerializer(wallet, context=context).data)
