"""HTTP endpoints of wallets: validate input, call one service or selector, render output."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from vaultcore.openapi import error_responses
from wallets.selectors import wallet_list
from wallets.serializers import WalletInputSerializer, WalletOutputSerializer
from wallets.services import wallet_create


def _user(request: Request) -> User:
    user: User = request.user  # type: ignore[assignment]
    return user


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
