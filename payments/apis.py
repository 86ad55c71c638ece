"""HTTP endpoints of payments: validate input, call one service or selector, render output."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.core.exceptions import RequestDataTooBig
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from ledger.idempotency import Outcome
from ledger.idempotency_http import IDEMPOTENCY_PARAMETER, idempotent_post
from ledger.models import IdempotencyKey
from ledger.serializers import TransactionOutputSerializer
from payments import validators
from payments.deposits import deposit_create, deposit_fingerprint
from payments.exceptions import WebhookPayloadTooLarge
from payments.models import BankAccount
from payments.providers import get_provider
from payments.selectors import bank_account_list
from payments.serializers import (
    DepositInputSerializer,
    DepositOutputSerializer,
    WithdrawInputSerializer,
)
from payments.services import bank_account_create, bank_account_delete, stripe_event_receive
from payments.withdrawals import withdrawal_create, withdrawal_fingerprint
from vaultcore.openapi import error_responses
from wallets.serializers import CurrencyField


def _validated(normalize: Any, value: str, **kwargs: Any) -> str:
    try:
        return str(normalize(value, **kwargs))
    except validators.BankDetailsError as exc:
        raise serializers.ValidationError(str(exc), code=exc.code) from None


class BankAccountInputSerializer(serializers.Serializer):
    account_holder_name = serializers.CharField(max_length=140, trim_whitespace=True)
    bank_name = serializers.CharField(max_length=140, trim_whitespace=True)
    account_number = serializers.CharField(
        max_length=64, write_only=True, help_text="4-17 digits or an IBAN; spaces and hyphens are ignored."
    )
    routing_number = serializers.CharField(
        max_length=32, write_only=True, help_text="US: 9-digit ABA number; elsewhere sort code, BSB or BIC."
    )
    country = serializers.CharField(max_length=8, help_text="ISO 3166-1 alpha-2, e.g. US.")
    currency = CurrencyField()

    def validate_account_number(self, value: str) -> str:
        return _validated(validators.normalize_account_number, value)

    def validate_country(self, value: str) -> str:
        return _validated(validators.normalize_country, value)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        try:
            attrs["routing_number"] = validators.normalize_routing_number(
                attrs["routing_number"], country=attrs.get("country")
            )
        except validators.BankDetailsError as exc:
            raise serializers.ValidationError({"routing_number": [str(exc)]}, code=exc.code) from None
        return attrs


class BankAccountOutputSerializer(serializers.ModelSerializer):
    """Masked view: never the account holder, account number or routing number in full."""

    bank_name = serializers.SerializerMethodField()

    class Meta:
        model = BankAccount
        fields = ["id", "bank_name", "account_number_last4", "country", "currency", "created_at"]
        read_only_fields = fields

    def get_bank_name(self, obj: BankAccount) -> str:
        return obj.bank_name


class BankAccountListCreateApi(APIView):
    @extend_schema(
        operation_id="payments_bank_accounts_list",
        summary="List your bank accounts (masked)",
        responses={200: BankAccountOutputSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        accounts = bank_account_list(owner=request.user)  # type: ignore[arg-type]
        return Response(BankAccountOutputSerializer(accounts, many=True).data)

    @extend_schema(
        operation_id="payments_bank_accounts_create",
        summary="Add a bank account",
        description=(
            "Account holder, bank name, account number and routing number are stored encrypted "
            "(AES-256-GCM). The response shows only `account_number_last4`. An unknown or disabled "
            "currency is a 400 with code `unsupported_currency` on `currency`."
        ),
        request=BankAccountInputSerializer,
        responses={201: BankAccountOutputSerializer},
        examples=[
            OpenApiExample(
                "US checking account",
                request_only=True,
                value={
                    "account_holder_name": "Jane Doe",
                    "bank_name": "Example Bank",
                    "account_number": "000123456789",
                    "routing_number": "110000000",
                    "country": "US",
                    "currency": "USD",
                },
            )
        ],
    )
    def post(self, request: Request) -> Response:
        serializer = BankAccountInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        account = bank_account_create(owner=request.user, **serializer.validated_data)  # type: ignore[arg-type]
        return Response(BankAccountOutputSerializer(account).data, status=status.HTTP_201_CREATED)


class BankAccountDetailApi(APIView):
    @extend_schema(
        operation_id="payments_bank_accounts_delete",
        summary="Remove a bank account",
        description="Hides the account from its owner; the record is kept for withdrawals that used it. "
        "Someone else's or an unknown id is 404.",
        parameters=[OpenApiParameter("id", UUID, OpenApiParameter.PATH)],
        responses={204: None, **error_responses(404)},
    )
    def delete(self, request: Request, id: UUID) -> Response:
        bank_account_delete(bank_account_id=id, acting_user=request.user)  # type: ignore[arg-type]
        return Response(status=status.HTTP_204_NO_CONTENT)


class StripeWebhookApi(APIView):
    """Stripe calls this; it authenticates with the ``Stripe-Signature`` header, not a user."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes: list[Any] = []

    @extend_schema(
        operation_id="payments_stripe_webhook",
        summary="Stripe webhook endpoint",
        description=(
            "Verifies `Stripe-Signature` (HMAC-SHA256 with the endpoint secret, 300 s tolerance). "
            "A missing, forged or stale signature is a 400 (`invalid_signature`) and stores nothing. "
            "Each event id is stored once and processed asynchronously; a duplicate delivery answers "
            "200 with `duplicate: true` and changes nothing. 503 when no webhook secret is configured "
            "(Stripe retries)."
        ),
        auth=[],
        request={"application/json": {"type": "object", "description": "A Stripe Event, as sent by Stripe."}},
        parameters=[OpenApiParameter("Stripe-Signature", str, OpenApiParameter.HEADER, required=True)],
        responses={
            200: inline_serializer(
                "StripeWebhookAck",
                fields={"id": serializers.CharField(), "duplicate": serializers.BooleanField()},
            ),
            **error_responses(413, 503, s413="The body exceeds the upload size limit (`payload_too_large`)."),
        },
    )
    def post(self, request: Request) -> Response:
        try:
            payload = request.body
        except RequestDataTooBig:
            raise WebhookPayloadTooLarge() from None
        event, created = stripe_event_receive(payload=payload, signature=request.headers.get("Stripe-Signature"))
        return Response({"id": event.stripe_id, "duplicate": not created}, status=status.HTTP_200_OK)


# --- Money in and out (mounted under /api/v1/transactions/) ------------------------------------
def _user(request: Request) -> User:
    user: User = request.user  # type: ignore[assignment]
    return user


class DepositApi(APIView):
    @extend_schema(
        operation_id="transactions_deposit",
        request=DepositInputSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={201: DepositOutputSerializer, **error_responses(404, 409, 422, 423, 503)},
        description=(
            "Deposit into your wallet. Sandbox provider: `posted` at once. Stripe: `pending` plus "
            "`payment.client_secret`; credited when Stripe confirms. No wallet in that currency: 404 "
            "`wallet_not_found`; frozen wallet: 423 `wallet_frozen`."
        ),
    )
    def post(self, request: Request) -> Response:
        serializer = DepositInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = _user(request)

        def run(key: IdempotencyKey | None) -> Outcome:
            txn, result = deposit_create(
                user=user, currency=data["currency"], amount=data["amount"], idempotency_key=key
            )
            payment = {"provider": get_provider().name, "client_secret": result.client_secret}
            return Outcome(transactions=[txn], result={"payment": payment})

        def render(outcome: Outcome) -> Response:
            context = {"user": user, "payment": outcome.result["payment"]}
            body = DepositOutputSerializer(outcome.transactions[0], context=context).data
            return Response(body, status=status.HTTP_201_CREATED)

        params = deposit_fingerprint(data)
        return idempotent_post(request, operation="deposit", params=params, run=run, render=render)


class WithdrawApi(APIView):
    @extend_schema(
        operation_id="transactions_withdraw",
        request=WithdrawInputSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={201: TransactionOutputSerializer, **error_responses(403, 404, 409, 422, 423, 503)},
        description=(
            "Withdraw to a bank account. The amount is held at once (`available_balance` drops); the "
            "transaction is `posted` when the payout is paid, `voided` (hold released) if it fails. "
            "Errors: 403 `email_not_verified`, 404 `wallet_not_found`, 422 `insufficient_funds` / "
            "`limit_exceeded`, 423 `wallet_frozen`."
        ),
    )
    def post(self, request: Request) -> Response:
        serializer = WithdrawInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = _user(request)

        def run(key: IdempotencyKey | None) -> Outcome:
            txn = withdrawal_create(
                user=user,
                currency=data["currency"],
                amount=data["amount"],
                bank_account_id=data.get("bank_account_id"),
                idempotency_key=key,
            )
            return Outcome(transactions=[txn])

        def render(outcome: Outcome) -> Response:
            body = TransactionOutputSerializer(outcome.transactions[0], context={"user": user}).data
            return Response(body, status=status.HTTP_201_CREATED)

        params = withdrawal_fingerprint(data)
        return idempotent_post(request, operation="withdraw", params=params, run=run, render=render)
