"""The GraphQL schema (contract: ``shared/GRAPHQL.md``). Resolvers are thin: they validate input
with the REST serializers, call the same services and selectors as the REST views, and render
through the REST representation; idempotency is ``ledger.idempotency.idempotent``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, NewType

import strawberry
import strawberry_django
from django.conf import settings
from django.http import HttpRequest
from graphql import (
    FloatValueNode,
    IntValueNode,
    NoSchemaIntrospectionCustomRule,
    StringValueNode,
    ValueNode,
)
from rest_framework import exceptions
from rest_framework import serializers as drf_serializers
from rest_framework.request import Request
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.scalars import JSON
from strawberry.schema.config import StrawberryConfig
from strawberry.types import Info

from accounts.authentication import JWTCookieAuthentication
from accounts.models import User
from accounts.serializers import UserSerializer
from accounts.throttles import UserRateThrottle
from ledger import selectors
from ledger.exceptions import TransactionNotFound
from ledger.idempotency import Outcome, idempotent
from ledger.idempotency_http import idempotency_key_check, idempotency_key_from_request
from ledger.models import IdempotencyKey, LedgerTransaction, TransactionType
from ledger.serializers import TransactionOutputSerializer, transfer_input_validate
from ledger.services import transfers
from payments.deposits import deposit_create, deposit_fingerprint
from payments.providers import get_provider
from payments.serializers import DepositInputSerializer, WithdrawInputSerializer
from payments.withdrawals import withdrawal_create, withdrawal_fingerprint
from wallets.models import Wallet as WalletModel
from wallets.models import WalletStatus
from wallets.selectors import wallet_get_by_id, wallet_list
from wallets.serializers import WalletOutputSerializer
from wallets.services import wallet_create

MAX_DEPTH = 10
MAX_ALIASES = 15
MAX_TOKENS = 5000
HISTORY_MAX_LIMIT = 200


# --- Scalars -----------------------------------------------------------------------------------
class FloatLiteral(float):
    """A float literal in the document: refused on ``amount`` (it may need rounding)."""


def _parse_money_literal(node: ValueNode, variables: dict[str, Any] | None = None) -> object:
    if isinstance(node, StringValueNode):
        return node.value
    if isinstance(node, IntValueNode):
        return int(node.value)
    if isinstance(node, FloatValueNode):
        return FloatLiteral(node.value)
    raise ValueError("Decimal must be a string.")


# What a ``Decimal`` field holds: a string (output), or the raw literal/variable (input, checked by
# the serializers). The GraphQL scalar itself is defined in the schema's ``scalar_map`` below.
Money = NewType("Money", object)
MONEY_SCALAR = strawberry.scalar(
    name="Decimal",
    description='An amount as a string with the currency\'s minor-unit digits ("10.50", JPY "1000").',
    serialize=str,
    parse_value=lambda value: value,
    parse_literal=_parse_money_literal,
)


# --- Authentication ----------------------------------------------------------------------------
def _user(info: Info) -> User:
    """The caller, authenticated exactly as REST (bearer or cookie + CSRF; revocation checked on
    every request) and counted against REST's per-user rate limit, once per request."""
    request: HttpRequest = info.context.request
    cached = getattr(request, "_graphql_auth", None)
    if cached is None:
        try:
            drf_request = Request(request)
            found = JWTCookieAuthentication().authenticate(drf_request)
            if found is None:
                raise exceptions.NotAuthenticated()
            drf_request.user = found[0]
            throttle = UserRateThrottle()
            if not throttle.allow_request(drf_request, None):
                raise exceptions.Throttled(throttle.wait())
            cached = found[0]
        except Exception as exc:  # an auth error, raised again by every field that needs a user
            cached = exc
        request._graphql_auth = cached  # type: ignore[attr-defined]
    if isinstance(cached, Exception):
        raise cached
    return cached


def _idempotency_key(info: Info, given: str | None) -> str | None:
    """The input's ``idempotencyKey``, else the ``Idempotency-Key`` header (same rules as REST)."""
    if given is not None:
        try:
            return idempotency_key_check(given)
        except Exception as exc:
            exc.attr = "idempotencyKey"  # type: ignore[attr-defined]
            raise
    return idempotency_key_from_request(info.context.request)


def _amount_raw(raw: object) -> object:
    """Amounts come as strings (or exact integers); a float literal is refused on ``amount``."""
    if isinstance(raw, float | bool) or not isinstance(raw, str | int):
        raise drf_serializers.ValidationError({"amount": ["Send the amount as a decimal string."]}, code="invalid")
    return raw


# --- Types -------------------------------------------------------------------------------------
@strawberry.type
class Wallet:
    id: strawberry.ID
    user_id: strawberry.ID
    currency: str
    balance: Money
    available_balance: Money
    is_active: bool
    status: str
    created_at: datetime

    @classmethod
    def of(cls, wallet: WalletModel) -> Wallet:
        data = WalletOutputSerializer(wallet).data
        return cls(
            id=strawberry.ID(data["id"]),
            user_id=strawberry.ID(str(wallet.user_id)),
            currency=data["currency"],
            balance=data["balance"],
            available_balance=data["available_balance"],
            is_active=wallet.status == WalletStatus.ACTIVE,
            status=str(wallet.status),
            created_at=wallet.created_at,
        )


@strawberry.type
class Transaction:
    id: strawberry.ID
    amount: Money
    currency: str
    transaction_type: str
    status: str
    direction: str
    balance_after: Money | None
    counterparty: str | None
    description: str
    reference: str
    metadata: JSON
    stripe_payment_intent_id: str | None
    stripe_transfer_id: str | None
    created_at: datetime
    posted_at: datetime | None


def _transactions(
    txns: Iterator[LedgerTransaction] | list[LedgerTransaction], user: User, metadata: dict[str, Any] | None = None
) -> list[Transaction]:
    """The REST representation (``TransactionOutputSerializer``), in the contract's names."""
    serializer = TransactionOutputSerializer(context={"user": user})
    out = []
    for txn in txns:
        data = serializer.to_representation(txn)
        reference = data["reference"]
        out.append(
            Transaction(
                id=strawberry.ID(data["id"]),
                amount=data["amount"],
                currency=data["currency"],
                transaction_type=data["type"],
                status=data["status"],
                direction=data["direction"],
                balance_after=data["balance_after"],
                counterparty=data["counterparty"],
                description=data["description"],
                reference=reference,
                metadata=metadata or {},  # type: ignore[arg-type]
                stripe_payment_intent_id=reference
                if txn.type == TransactionType.DEPOSIT and reference.startswith("pi_")
                else None,
                stripe_transfer_id=reference
                if txn.type == TransactionType.WITHDRAWAL and reference.startswith(("po_", "tr_"))
                else None,
                created_at=txn.created_at,
                posted_at=txn.posted_at,
            )
        )
    return out


@strawberry_django.type(User, fields=[])
class UserType:
    """The REST user object (``UserSerializer``), camelCase."""

    id: strawberry.ID
    username: str
    email: str
    first_name: str
    middle_name: str
    last_name: str
    role: str
    is_email_verified: bool
    date_joined: datetime


UserType.__strawberry_definition__.name = "User"  # type: ignore[attr-defined]


def _user_type(user: User) -> UserType:
    data = UserSerializer(user).data
    return UserType(
        id=strawberry.ID(str(data["id"])),
        username=data["username"],
        email=data["email"],
        first_name=data["first_name"],
        middle_name=data["middle_name"],
        last_name=data["last_name"],
        role=str(data["role"]),
        is_email_verified=data["is_email_verified"],
        date_joined=user.date_joined,
    )


# --- Inputs ------------------------------------------------------------------------------------
@strawberry.input
class CreateWalletInput:
    currency: str


@strawberry.input
class DepositInput:
    amount: Money
    idempotency_key: str | None = None


@strawberry.input
class WithdrawInput:
    amount: Money
    bank_account_id: str | None = None
    idempotency_key: str | None = None


@strawberry.input
class TransferInput:
    amount: Money
    receiver_wallet_id: str | None = None
    recipient: str | None = None
    description: str | None = None
    idempotency_key: str | None = None


def _run_idempotent(
    info: Info, user: User, key: str | None, operation: str, params: dict[str, Any], run: Callable[..., Outcome]
) -> Outcome:
    outcome, _ = idempotent(user=user, key=key, operation=operation, params=params, run=run)
    return outcome


# --- Operations --------------------------------------------------------------------------------
@strawberry.type
class Query:
    @strawberry.field
    def get_transaction_history(
        self, info: Info, wallet_id: str, limit: int = 50, offset: int = 0
    ) -> list[Transaction]:
        user = _user(info)
        if not 1 <= limit <= HISTORY_MAX_LIMIT:
            raise drf_serializers.ValidationError({"limit": [f"Between 1 and {HISTORY_MAX_LIMIT}."]}, code="invalid")
        if offset < 0:
            raise drf_serializers.ValidationError({"offset": ["Zero or more."]}, code="invalid")
        wallet = wallet_get_by_id(user=user, public_id=wallet_id)
        page = selectors.transaction_list(user=user, currency=wallet.currency)[offset : offset + limit]
        return _transactions(list(page), user)

    @strawberry.field
    def get_wallet(self, info: Info, wallet_id: str) -> Wallet:
        return Wallet.of(wallet_get_by_id(user=_user(info), public_id=wallet_id))

    @strawberry.field
    def get_wallet_balance(self, info: Info, wallet_id: str) -> Wallet:
        return Wallet.of(wallet_get_by_id(user=_user(info), public_id=wallet_id))

    @strawberry.field
    def get_user_wallet(self, info: Info) -> list[Wallet]:
        return [Wallet.of(wallet) for wallet in wallet_list(user=_user(info))]

    @strawberry.field
    def wallets(self, info: Info) -> list[Wallet]:
        return [Wallet.of(wallet) for wallet in wallet_list(user=_user(info))]

    @strawberry.field
    def get_transaction(self, info: Info, transaction_id: str) -> Transaction:
        user = _user(info)
        try:
            txn = selectors.transaction_get(user=user, public_id=transaction_id)  # type: ignore[arg-type]
        except Exception:  # a malformed id is as good as missing
            txn = None
        if txn is None:
            raise TransactionNotFound()
        return _transactions([txn], user)[0]

    @strawberry.field
    def me(self, info: Info) -> UserType:
        return _user_type(_user(info))


@strawberry.type
class Mutation:
    @strawberry.mutation
    def create_wallet(self, info: Info, input: CreateWalletInput) -> Wallet:
        return Wallet.of(wallet_create(user=_user(info), currency=input.currency))

    @strawberry.mutation
    def deposit(self, info: Info, wallet_id: str, input: DepositInput) -> Transaction:
        user = _user(info)
        wallet = wallet_get_by_id(user=user, public_id=wallet_id)
        serializer = DepositInputSerializer(data={"currency": wallet.currency, "amount": _amount_raw(input.amount)})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data

        def run(key: IdempotencyKey | None) -> Outcome:
            txn, result = deposit_create(
                user=user, currency=data["currency"], amount=data["amount"], idempotency_key=key
            )
            payment = {"provider": get_provider().name, "client_secret": result.client_secret}
            return Outcome(transactions=[txn], result={"payment": payment})

        # The same operation and params as REST's DepositApi: a key replays across both APIs.
        params = deposit_fingerprint(data)
        outcome = _run_idempotent(info, user, _idempotency_key(info, input.idempotency_key), "deposit", params, run)
        secret = outcome.result.get("payment", {}).get("client_secret")
        txn = outcome.transactions[0]
        metadata = {"client_secret": secret} if secret and txn.status == "pending" else {}
        return _transactions([txn], user, metadata)[0]

    @strawberry.mutation
    def withdraw(self, info: Info, wallet_id: str, input: WithdrawInput) -> Transaction:
        user = _user(info)
        wallet = wallet_get_by_id(user=user, public_id=wallet_id)
        serializer = WithdrawInputSerializer(
            data={
                "currency": wallet.currency,
                "amount": _amount_raw(input.amount),
                "bank_account_id": input.bank_account_id,
            }
        )
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data

        def run(key: IdempotencyKey | None) -> Outcome:
            txn = withdrawal_create(
                user=user,
                currency=data["currency"],
                amount=data["amount"],
                bank_account_id=data.get("bank_account_id"),
                idempotency_key=key,
            )
            return Outcome(transactions=[txn])

        params = withdrawal_fingerprint(data)
        outcome = _run_idempotent(info, user, _idempotency_key(info, input.idempotency_key), "withdraw", params, run)
        return _transactions([outcome.transactions[0]], user)[0]

    @strawberry.mutation
    def transfer(self, info: Info, from_wallet_id: str, input: TransferInput) -> Transaction:
        user = _user(info)
        wallet = wallet_get_by_id(user=user, public_id=from_wallet_id)
        if (input.receiver_wallet_id is None) == (input.recipient is None):
            raise drf_serializers.ValidationError(
                {"recipient": ["Give exactly one of receiverWalletId or recipient."]}, code="invalid"
            )
        recipient = input.recipient
        if input.receiver_wallet_id is not None:
            recipient = transfers.transfer_recipient_of_wallet(
                wallet_public_id=input.receiver_wallet_id, currency=wallet.currency
            )
        data = transfer_input_validate(
            {
                "recipient": recipient,
                "currency": wallet.currency,
                "amount": _amount_raw(input.amount),
                "description": input.description or "",
            }
        )

        def run(key: IdempotencyKey | None) -> Outcome:
            txn = transfers.transfer_create(
                sender=user,
                recipient=data["recipient"],
                currency=data["currency"],
                amount=data["amount"],
                description=data.get("description", ""),
                idempotency_key=key,
            )
            return Outcome(transactions=[txn])

        params = transfers.transfer_fingerprint(data)
        outcome = _run_idempotent(info, user, _idempotency_key(info, input.idempotency_key), "transfer", params, run)
        return _transactions([outcome.transactions[0]], user)[0]


class IntrospectionSetting(SchemaExtension):
    """Introspection only when ``GRAPHQL_INTROSPECTION`` (default: DEBUG) is on, read per request."""

    def on_operation(self) -> Iterator[None]:
        if not settings.GRAPHQL_INTROSPECTION:
            rules = self.execution_context.validation_rules
            self.execution_context.validation_rules = (*rules, NoSchemaIntrospectionCustomRule)
        yield


class VaultSchema(strawberry.Schema):
    def process_errors(self, errors: list[Any], execution_context: Any = None) -> None:
        """Errors are logged by ``graphql_api.views`` without stack traces; nothing here."""


# The depth and alias limits as validation rules, built once: per-request limiter instances would
# build new rule classes every time, and validation could never be cached.
_LIMIT_RULES = [
    *QueryDepthLimiter(max_depth=MAX_DEPTH).validation_rules,
    *MaxAliasesLimiter(max_alias_count=MAX_ALIASES).validation_rules,
]

schema = VaultSchema(
    query=Query,
    mutation=Mutation,
    config=StrawberryConfig(scalar_map={Money: MONEY_SCALAR}),
    extensions=[
        IntrospectionSetting,
        lambda: AddValidationRules(_LIMIT_RULES),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        # Clients send the same few documents: each is parsed and validated once per process
        # (strawberry keeps both caches at module level; the rules above are the same classes
        # on every request, so a validated document is found again).
        lambda: ParserCache(maxsize=256),
        lambda: ValidationCache(maxsize=256),
    ],
)
