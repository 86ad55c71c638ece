"""HTTP endpoints of ledger: validate input, call one service or selector, render output."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from ledger import selectors
from ledger.exceptions import TransactionNotFound
from ledger.idempotency import Outcome
from ledger.idempotency_http import IDEMPOTENCY_PARAMETER, idempotent_post
from ledger.models import IdempotencyKey, LedgerTransaction
from ledger.selectors import wallet_balance_as_of
from ledger.serializers import (
    StatementFilterSerializer,
    TransactionFilterSerializer,
    TransactionOutputSerializer,
    TransferInputSerializer,
    transfer_input_validate,
)
from ledger.services import transfers
from vaultcore.openapi import currency_schema, error_responses
from vaultcore.pagination import LimitCursorPagination
from wallets.money import format_amount
from wallets.selectors import wallet_get
from wallets.serializers import AsOfSerializer, WalletOutputSerializer
from wallets.services import currency_validate


def _user(request: Request) -> User:
    user: User = request.user  # type: ignore[assignment]
    return user


def _render(request: Request, txn: LedgerTransaction, *, status_code: int = status.HTTP_201_CREATED) -> Response:
    data = TransactionOutputSerializer(txn, context={"user": _user(request)}).data
    return Response(data, status=status_code)


class TransferApi(APIView):
    @extend_schema(
        operation_id="transactions_transfer",
        request=TransferInputSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={201: TransactionOutputSerializer, **error_responses(403, 404, 409, 422, 423, 503)},
        description=(
            "Send money to another user (`recipient` = username or email), `posted` at once. Errors: "
            "400 `self_transfer`, 403 `email_not_verified`, 404 `wallet_not_found` (yours) / "
            "`recipient_not_found`, 422 `currency_mismatch` (recipient has no wallet in that currency) / "
            "`insufficient_funds` / `limit_exceeded`, 423 `wallet_frozen`."
        ),
    )
    def post(self, request: Request) -> Response:
        data = transfer_input_validate(request.data)
        user = _user(request)

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

        return idempotent_post(
            request,
            operation="transfer",
            params=transfers.transfer_fingerprint(data),
            run=run,
            render=lambda outcome: _render(request, outcome.transactions[0]),
        )


# The wallet with its balance as of an instant reads the ledger, so it is served here (mounted
# under /api/v1/wallets/): wallets never import ledger.
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


class _OffsetPagination(LimitOffsetPagination):
    default_limit = 50
    max_limit = 200


class TransactionPagination(LimitCursorPagination):
    """Cursor links by default; ``?offset=`` switches to limit/offset. Both answer
    ``{results, next, previous}``."""

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> list[Any] | None:
        self._offset: _OffsetPagination | None = None
        if "offset" in request.query_params:
            self._offset = _OffsetPagination()
            return self._offset.paginate_queryset(queryset, request, view)
        return super().paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data: Any) -> Response:
        if self._offset is not None:
            return Response(
                {"results": data, "next": self._offset.get_next_link(), "previous": self._offset.get_previous_link()}
            )
        return super().get_paginated_response(data)


class TransactionListApi(APIView):
    pagination_class = TransactionPagination

    @extend_schema(
        operation_id="transactions_list",
        parameters=[
            TransactionFilterSerializer,
            OpenApiParameter("limit", int, description="Page size, default 50, max 200."),
            OpenApiParameter("offset", int, description="Use limit/offset paging instead of cursor links."),
            OpenApiParameter("cursor", str, description="Opaque cursor from `next`/`previous`."),
        ],
        responses={200: TransactionOutputSerializer(many=True)},
        description="Your history, newest first. `created_after` inclusive, `created_before` exclusive.",
    )
    def get(self, request: Request) -> Response:
        filters = TransactionFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        user = _user(request)
        qs = selectors.transaction_list(user=user, **filters.validated_data)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(qs, request, view=self)
        data = TransactionOutputSerializer(page, many=True, context={"user": user}).data
        return paginator.get_paginated_response(data)


class TransactionDetailApi(APIView):
    @extend_schema(operation_id="transactions_retrieve", responses={200: TransactionOutputSerializer})
    def get(self, request: Request, id: Any) -> Response:  # the contract's path parameter name
        txn = selectors.transaction_get(user=_user(request), public_id=id)
        if txn is None:
            raise TransactionNotFound()
        return _render(request, txn, status_code=status.HTTP_200_OK)


class _Echo:
    def write(self, value: str) -> str:
        return value


_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _cell(text: str | None) -> str:
    """Neutralise a spreadsheet formula (CSV injection, OWASP): prefix a single quote."""
    if not text:
        return ""
    return "'" + text if text.startswith(_FORMULA_PREFIXES) else text


# Rendered by format_amount from a Decimal, never from user text; a leading "-" there is a
# negative number (data), which a quote would turn into text.
_NUMERIC_COLUMNS = frozenset({"amount", "balance_after"})


class TransactionExportApi(APIView):
    HEADER_ROW = [
        "row_type",
        "created_at",
        "transaction_id",
        "type",
        "direction",
        "amount",
        "balance_after",
        "counterparty",
        "description",
    ]

    @extend_schema(
        operation_id="transactions_export",
        parameters=[StatementFilterSerializer],
        responses={
            (200, "text/csv"): OpenApiResponse(response=OpenApiTypes.STR, description="CSV statement"),
            **error_responses(404),
        },
        description=(
            "CSV statement of one wallet, streamed: header `"
            + ",".join(HEADER_ROW)
            + "`; an `opening` row (its `balance_after` is the opening balance), one `entry` row per "
            "posted entry oldest first with the running balance, and a `closing` row."
        ),
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        filters = StatementFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        params = filters.validated_data
        wallet = wallet_get(user=_user(request), currency=params["currency"])
        after, before = params.get("created_after"), params.get("created_before")
        opening = selectors.statement_opening_balance(wallet=wallet, created_after=after)
        currency = wallet.currency

        def rows() -> Iterator[str]:
            echo = csv.writer(_Echo())
            numeric = [name in _NUMERIC_COLUMNS for name in self.HEADER_ROW]

            def writerow(cells: list[str]) -> str:
                """Every text cell neutralised (usernames and descriptions come from users)."""
                return echo.writerow(
                    [cell if is_number else _cell(cell) for cell, is_number in zip(cells, numeric, strict=True)]
                )

            yield writerow(self.HEADER_ROW)
            yield writerow(
                [
                    "opening",
                    after.isoformat() if after else "",
                    "",
                    "",
                    "",
                    "",
                    format_amount(opening, currency),
                    "",
                    "",
                ]
            )
            balance: Decimal = opening
            for entry in selectors.statement_entries(wallet=wallet, created_after=after, created_before=before):
                balance = entry.balance_after
                yield writerow(
                    [
                        "entry",
                        entry.created_at.isoformat(),
                        str(entry.transaction_id),
                        entry.type,
                        entry.direction,
                        format_amount(entry.amount, currency),
                        format_amount(entry.balance_after, currency),
                        entry.counterparty or "",
                        entry.description,
                    ]
                )
            yield writerow(
                [
                    "closing",
                    before.isoformat() if before else "",
                    "",
                    "",
                    "",
                    "",
                    format_amount(balance, currency),
                    "",
                    "",
                ]
            )

        response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="statement-{currency}.csv"'
        return response
