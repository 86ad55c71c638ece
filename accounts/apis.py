"""HTTP endpoints of accounts: validate input, call one service or selector, render output.

Tokens travel in the body AND in HttpOnly cookies (``access_token`` on ``/``, ``refresh_token``
on ``/api/v1/auth/``); login and refresh also set the readable ``csrftoken`` cookie that
cookie-authenticated unsafe requests must echo in ``X-CSRFToken``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.middleware.csrf import get_token
from django.views.generic import TemplateView
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotAuthenticated, NotFound
from rest_framework.parsers import FormParser
from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import TokenBackendError
from rest_framework_simplejwt.state import token_backend

from accounts import selectors, services
from accounts.authentication import enforce_csrf, enforce_same_origin
from accounts.email_tokens import Purpose, email_token_read
from accounts.exceptions import InvalidEmailToken
from accounts.models import User
from accounts.permissions import IsAdmin, IsStaff
from accounts.serializers import (
    ChangePasswordInputSerializer,
    DetailOutputSerializer,
    EmailChangeInputSerializer,
    ForgotPasswordInputSerializer,
    LoginInputSerializer,
    LogoutInputSerializer,
    MeUpdateInputSerializer,
    RefreshInputSerializer,
    RefreshOutputSerializer,
    RegisterInputSerializer,
    ResetPasswordConfirmInputSerializer,
    RoleChangeInputSerializer,
    TokenPairOutputSerializer,
    TokenQuerySerializer,
    UserListQuerySerializer,
    UserSerializer,
)
from accounts.throttles import AUTH_THROTTLES
from vaultcore.openapi import error_responses
from vaultcore.pagination import LimitCursorPagination
from vaultcore.parsers import DecimalJSONParser

_TOKEN_PARAM = OpenApiParameter(
    "token", str, OpenApiParameter.QUERY, required=True, description="Token from the email link."
)
_AUTH_TAG = ["auth"]
_USERS_TAG = ["users"]


# --- Cookies ------------------------------------------------------------------------------------
def _set_token_cookies(request: Request, response: Response, pair: services.TokenPair) -> None:
    common: dict[str, Any] = {"httponly": True, "secure": settings.JWT_COOKIE_SECURE, "samesite": "Lax"}
    response.set_cookie(settings.JWT_ACCESS_COOKIE, pair.access, max_age=pair.access_expires_in, path="/", **common)
    response.set_cookie(
        settings.JWT_REFRESH_COOKIE,
        pair.refresh,
        max_age=pair.refresh_expires_in,
        path=settings.JWT_REFRESH_COOKIE_PATH,
        **common,
    )
    get_token(request._request)  # CsrfViewMiddleware sets the readable csrftoken cookie


def _clear_token_cookies(response: Response) -> None:
    response.delete_cookie(settings.JWT_ACCESS_COOKIE, path="/", samesite="Lax")
    response.delete_cookie(settings.JWT_REFRESH_COOKIE, path=settings.JWT_REFRESH_COOKIE_PATH, samesite="Lax")


def _token_pair_response(request: Request, pair: services.TokenPair) -> Response:
    body = {
        "access": pair.access,
        "refresh": pair.refresh,
        "token_type": "Bearer",
        "expires_in": pair.access_expires_in,
    }
    response = Response(TokenPairOutputSerializer(body).data)
    _set_token_cookies(request, response, pair)
    return response


def _raw_refresh(request: Request) -> tuple[str | None, bool]:
    """The refresh token from the body, else from the cookie; and whether it came from the cookie."""
    serializer = RefreshInputSerializer(data=request.data if isinstance(request.data, Mapping) else {})
    serializer.is_valid(raise_exception=True)
    if serializer.validated_data.get("refresh"):
        return serializer.validated_data["refresh"], False
    cookie = request.COOKIES.get(settings.JWT_REFRESH_COOKIE)
    return (cookie or None), bool(cookie)


def _data_field(request: Request, name: str) -> str | None:
    data = request.data
    value = data.get(name) if isinstance(data, Mapping) else None
    return str(value) if value not in (None, "") else None


def _email_token_user_id(token: str | None, purpose: Purpose) -> int | None:
    if not token or len(token) > 1024:
        return None
    try:
        return email_token_read(token=token, purpose=purpose).user_id
    except InvalidEmailToken:
        return None


class PublicApi(APIView):
    """No authentication (a stale cookie never gets in the way); 401s still say ``Bearer``."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    def get_authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


# --- Authentication --------------------------------------------------------------------------------
class RegisterApi(PublicApi):
    throttle_classes = AUTH_THROTTLES

    @extend_schema(
        tags=_AUTH_TAG,
        request=RegisterInputSerializer,
        responses={201: UserSerializer},
        summary="Register; a verification email is sent",
    )
    def post(self, request: Request) -> Response:
        serializer = RegisterInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.user_register(**serializer.validated_data)
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)


class LoginApi(PublicApi):
    # JSON and form bodies only: a multipart body (files) is refused before it is read.
    parser_classes = [DecimalJSONParser, FormParser]
    throttle_classes = AUTH_THROTTLES
    throttle_name = "login"  # shares its limits with the admin's log-in form

    def throttle_account(self, request: Request) -> str | None:
        return _data_field(request, "username")

    @extend_schema(
        tags=_AUTH_TAG,
        request=LoginInputSerializer,
        responses={
            200: TokenPairOutputSerializer,
            **error_responses(401, s401="`authentication_failed`: the same body for any bad credentials."),
        },
        summary="Log in with username or email; tokens in the body and in HttpOnly cookies",
        description="Wrong password, unknown user and inactive account all answer the same 401 "
        "`authentication_failed`. Sets `access_token`, `refresh_token` (path `/api/v1/auth/`) and `csrftoken`.",
    )
    def post(self, request: Request) -> Response:
        enforce_same_origin(request)
        serializer = LoginInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.user_authenticate(request=request._request, **serializer.validated_data)
        return _token_pair_response(request, services.token_pair_issue(user=user))


class RefreshApi(PublicApi):
    throttle_classes = AUTH_THROTTLES

    def throttle_account(self, request: Request) -> str | None:
        raw = _data_field(request, "refresh") or request.COOKIES.get(settings.JWT_REFRESH_COOKIE)
        if not raw or len(raw) > 1024:
            return None
        try:
            payload = token_backend.decode(raw, verify=True)  # type: ignore[arg-type]
            return str(payload.get("user_id") or "") or None
        except TokenBackendError:
            return None

    @extend_schema(
        tags=_AUTH_TAG,
        request=RefreshInputSerializer,
        responses={
            200: RefreshOutputSerializer,
            **error_responses(401, 403, s401="`token_not_valid` (reused, expired, forged) or `not_authenticated`."),
        },
        summary="Rotate the refresh token (body or `refresh_token` cookie)",
        description="Single use: the old refresh token is blacklisted; a reused one, or the loser of "
        "two concurrent refreshes, gets 401 `token_not_valid`. By cookie, the CSRF check applies.",
    )
    def post(self, request: Request) -> Response:
        enforce_same_origin(request)
        raw, from_cookie = _raw_refresh(request)
        if raw is None:
            raise NotAuthenticated("No refresh token was provided.")
        if from_cookie:
            enforce_csrf(request)
        pair = services.token_refresh(raw_refresh=raw)
        response = Response(RefreshOutputSerializer({"access": pair.access, "refresh": pair.refresh}).data)
        _set_token_cookies(request, response, pair)
        return response


class LogoutApi(APIView):
    @extend_schema(
        tags=_AUTH_TAG,
        request=LogoutInputSerializer,
        responses={204: None},
        summary="Log out this session",
        description="Blacklists the refresh token (body or cookie), makes the current access token "
        "stop working and clears both cookies.",
    )
    def post(self, request: Request) -> Response:
        raw, _ = _raw_refresh(request)
        services.user_logout(user=request.user, access_token=request.auth, raw_refresh=raw)  # type: ignore[arg-type]
        response = Response(status=status.HTTP_204_NO_CONTENT)
        _clear_token_cookies(response)
        return response


class LogoutAllApi(APIView):
    @extend_schema(
        tags=_AUTH_TAG,
        request=None,
        responses={204: None},
        summary="Log out everywhere: every token of the user stops working",
    )
    def post(self, request: Request) -> Response:
        services.user_sessions_revoke(user=request.user)  # type: ignore[arg-type]
        response = Response(status=status.HTTP_204_NO_CONTENT)
        _clear_token_cookies(response)
        return response


class ChangePasswordApi(APIView):
    throttle_classes = AUTH_THROTTLES

    def throttle_account(self, request: Request) -> str | None:
        return str(request.user.pk) if request.user.is_authenticated else None

    @extend_schema(
        tags=_AUTH_TAG,
        request=ChangePasswordInputSerializer,
        responses={200: TokenPairOutputSerializer},
        summary="Change the password; every earlier token is revoked and a fresh pair returned",
    )
    def put(self, request: Request) -> Response:
        serializer = ChangePasswordInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        pair = services.user_password_change(user=request.user, **serializer.validated_data)  # type: ignore[arg-type]
        return _token_pair_response(request, pair)


class VerifyEmailApi(APIView):
    """POST (authenticated): email a verification link. GET ``?token=`` (public): use the link."""

    throttle_classes = AUTH_THROTTLES

    def get_authenticators(self) -> list[Any]:
        return [] if getattr(self.request, "method", None) == "GET" else super().get_authenticators()

    def get_permissions(self) -> list[BasePermission]:
        return [AllowAny()] if getattr(self.request, "method", None) == "GET" else [IsAuthenticated()]

    def get_authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'

    def throttle_account(self, request: Request) -> str | None:
        if request.method == "GET":
            user_id = _email_token_user_id(request.query_params.get("token"), Purpose.VERIFY_EMAIL)
            return str(user_id) if user_id else None
        return str(request.user.pk) if request.user.is_authenticated else None

    @extend_schema(
        tags=_AUTH_TAG,
        request=None,
        responses={202: DetailOutputSerializer},
        summary="Email a signed, expiring verification link to the caller",
    )
    def post(self, request: Request) -> Response:
        sent = services.email_verification_request(user=request.user)  # type: ignore[arg-type]
        detail = "A verification email has been sent." if sent else "Your email address is already verified."
        return Response({"detail": detail}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        tags=_AUTH_TAG,
        auth=[],
        parameters=[_TOKEN_PARAM],
        responses={
            200: DetailOutputSerializer,
            **error_responses(400, s400="`invalid_token`: invalid, expired or used."),
        },
        summary="Verify the email address with the link's token (single use)",
    )
    def get(self, request: Request) -> Response:
        query = TokenQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        services.email_verify(token=query.validated_data["token"])
        return Response({"detail": "Your email address has been verified."})


class ForgotPasswordApi(PublicApi):
    throttle_classes = AUTH_THROTTLES

    def throttle_account(self, request: Request) -> str | None:
        return _data_field(request, "email")

    @extend_schema(
        tags=_AUTH_TAG,
        request=ForgotPasswordInputSerializer,
        responses={202: DetailOutputSerializer},
        summary="Email a password-reset link (202 whether or not the address exists)",
    )
    def post(self, request: Request) -> Response:
        serializer = ForgotPasswordInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.password_reset_request(email=serializer.validated_data["email"])
        return Response(
            {"detail": "If an account uses this address, a password-reset email is on its way."},
            status=status.HTTP_202_ACCEPTED,
        )


class ResetPasswordConfirmApi(PublicApi):
    throttle_classes = AUTH_THROTTLES

    def throttle_account(self, request: Request) -> str | None:
        user_id = _email_token_user_id(_data_field(request, "token"), Purpose.RESET_PASSWORD)
        return str(user_id) if user_id else None

    @extend_schema(
        tags=_AUTH_TAG,
        request=ResetPasswordConfirmInputSerializer,
        responses={200: DetailOutputSerializer, **error_responses(400, s400="`invalid_token` or a weak password.")},
        summary="Set a new password with the reset link's token (single use); all tokens are revoked",
    )
    def post(self, request: Request) -> Response:
        serializer = ResetPasswordConfirmInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.password_reset_confirm(**serializer.validated_data)
        return Response({"detail": "Your password has been reset. Please log in again."})


class RequestEmailChangeApi(APIView):
    throttle_classes = AUTH_THROTTLES

    def throttle_account(self, request: Request) -> str | None:
        return str(request.user.pk) if request.user.is_authenticated else None

    @extend_schema(
        tags=_AUTH_TAG,
        request=EmailChangeInputSerializer,
        responses={202: DetailOutputSerializer},
        summary="Send a confirmation link to the new address (and a notice to the current one)",
    )
    def post(self, request: Request) -> Response:
        serializer = EmailChangeInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.email_change_request(user=request.user, **serializer.validated_data)  # type: ignore[arg-type]
        return Response({"detail": "A confirmation link has been sent to the new address."}, status=202)


class ConfirmEmailChangeApi(PublicApi):
    throttle_classes = AUTH_THROTTLES

    def throttle_account(self, request: Request) -> str | None:
        user_id = _email_token_user_id(request.query_params.get("token"), Purpose.CHANGE_EMAIL)
        return str(user_id) if user_id else None

    @extend_schema(
        tags=_AUTH_TAG,
        parameters=[_TOKEN_PARAM],
        responses={
            200: DetailOutputSerializer,
            **error_responses(400, s400="`invalid_token`: invalid, expired or used."),
        },
        summary="Switch to the new email address with the link's token (single use)",
    )
    def get(self, request: Request) -> Response:
        query = TokenQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        services.email_change_confirm(token=query.validated_data["token"])
        return Response({"detail": "Your email address has been changed."})


# --- Users -----------------------------------------------------------------------------------------
class MeApi(APIView):
    @extend_schema(tags=_USERS_TAG, responses={200: UserSerializer}, summary="The caller's user object")
    def get(self, request: Request) -> Response:
        return Response(UserSerializer(request.user).data)  # type: ignore[arg-type]

    def _update(self, request: Request, *, partial: bool) -> Response:
        serializer = MeUpdateInputSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        user = services.user_update(user=request.user, **serializer.validated_data)  # type: ignore[arg-type]
        return Response(UserSerializer(user).data)

    @extend_schema(
        tags=_USERS_TAG,
        request=MeUpdateInputSerializer,
        responses={200: UserSerializer},
        summary="Update name fields (other fields are ignored)",
    )
    def patch(self, request: Request) -> Response:
        return self._update(request, partial=True)

    @extend_schema(
        tags=_USERS_TAG,
        request=MeUpdateInputSerializer,
        responses={200: UserSerializer},
        summary="Replace name fields (other fields are ignored)",
    )
    def put(self, request: Request) -> Response:
        return self._update(request, partial=False)


class UserListApi(APIView):
    permission_classes = [IsStaff]
    pagination_class = LimitCursorPagination  # documents the {results, next, previous} page

    @extend_schema(
        tags=_USERS_TAG,
        parameters=[
            UserListQuerySerializer,
            OpenApiParameter("limit", int, description="Page size (default 50, max 200)."),
            OpenApiParameter("cursor", str, description="Opaque cursor from `next`/`previous`."),
        ],
        responses={200: UserSerializer(many=True)},
        summary="List users (staff and above), newest first; `?search=` matches username, email and names",
    )
    def get(self, request: Request) -> Response:
        query = UserListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        users = selectors.user_list(search=query.validated_data.get("search") or None)
        paginator = LimitCursorPagination()
        page = paginator.paginate_queryset(users, request, view=self)
        return paginator.get_paginated_response(UserSerializer(page, many=True).data)


def _user_or_404(username: str) -> User:
    user = selectors.user_get_by_username(username=username)
    if user is None:
        raise NotFound("No user with this username.")
    return user


class UserDetailApi(APIView):
    permission_classes = [IsStaff]

    @extend_schema(tags=_USERS_TAG, responses={200: UserSerializer}, summary="One user by username (staff and above)")
    def get(self, request: Request, username: str) -> Response:
        return Response(UserSerializer(_user_or_404(username)).data)


class UserRoleApi(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        tags=_USERS_TAG,
        request=RoleChangeInputSerializer,
        responses={
            200: UserSerializer,
            403: OpenApiResponse(description="Not allowed by the role hierarchy (`permission_denied`)."),
        },
        summary="Change a user's role (admin and above); revokes that user's tokens",
        description="Only users whose role weighs strictly less than the caller's, only to roles "
        "strictly below the caller's, never the caller themselves.",
    )
    def post(self, request: Request, username: str) -> Response:
        target = _user_or_404(username)
        serializer = RoleChangeInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.user_role_change(acting_user=request.user, user=target, role=serializer.validated_data["role"])  # type: ignore[arg-type]
        return Response(UserSerializer(user).data)


# --- Pages ---------------------------------------------------------------------------------------
class ResetPasswordPage(TemplateView):
    """The reset link's default target (without FRONTEND_URL): a form whose script reads the token
    from the URL fragment and POSTs it to ``reset-password-confirm``; the server never sees it."""

    template_name = "accounts/reset_password.html"
    http_method_names = ["get", "head"]
