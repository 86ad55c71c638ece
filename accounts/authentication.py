"""One authentication class for the whole API: ``Authorization: Bearer <access>`` or the
``access_token`` cookie.

Cost per request: signature and claim checks in memory, then ONE query that loads the user
together with "is this token's jti on the logout denylist". No password hashing.
Cookie-authenticated requests pass Django's CSRF check (unsafe methods), like DRF's
SessionAuthentication; a bearer header cannot be sent by another site, so it needs none.
"""

from __future__ import annotations

import functools
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest
from django.middleware.csrf import CsrfViewMiddleware
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import Token

from accounts.models import RevokedAccessToken, User
from accounts.tokens import TOKEN_VERSION_CLAIM
from vaultcore.db import hot_path_cursor


class _CSRFCheck(CsrfViewMiddleware):
    def _reject(self, request: HttpRequest, reason: str) -> str:
        return reason


def enforce_csrf(request: Request | HttpRequest) -> None:
    """Django's CSRF check (``csrftoken`` cookie + ``X-CSRFToken`` header) for unsafe methods."""
    django_request = request._request if isinstance(request, Request) else request

    def dummy_get_response(_: HttpRequest) -> None:  # pragma: no cover - never called
        return None

    check = _CSRFCheck(dummy_get_response)  # type: ignore[arg-type]
    check.process_request(django_request)
    reason = check.process_view(django_request, None, (), {})  # type: ignore[arg-type]
    if reason:
        raise exceptions.PermissionDenied(f"CSRF Failed: {reason}")


def _origin_trusted(origin: str, trusted: str) -> bool:
    """``origin`` equals a CSRF_TRUSTED_ORIGINS entry, or matches its ``*.`` subdomain pattern."""
    if origin == trusted:
        return True
    scheme, _, netloc = trusted.partition("://")
    if not netloc.startswith("*."):
        return False
    origin_scheme, _, origin_netloc = origin.partition("://")
    return origin_scheme == scheme and origin_netloc.endswith(netloc[1:])


def enforce_same_origin(request: Request) -> None:
    """Refuse a cookie-setting request that another site's page sent (log-in CSRF).

    Browsers send ``Origin`` on every cross-site POST; API clients that are not browsers send
    none and pass. Allowed: this server's own origin and CSRF_TRUSTED_ORIGINS.
    """
    origin = request.META.get("HTTP_ORIGIN")
    if origin is None:
        return
    own = f"{request.scheme}://{request.get_host()}"
    if origin == own or any(_origin_trusted(origin, trusted) for trusted in settings.CSRF_TRUSTED_ORIGINS):
        return
    raise exceptions.PermissionDenied("Requests from this origin may not log in (cookies would be set).")


@functools.cache
def _user_query() -> tuple[str, list[str]]:
    """SQL text (built once per process) loading a user and "is this jti on the denylist"."""
    fields = User._meta.concrete_fields
    quote = connection.ops.quote_name
    columns = ", ".join(f"u.{quote(str(f.column))}" for f in fields)
    sql = (
        f"SELECT {columns}, EXISTS (SELECT 1 FROM {quote(RevokedAccessToken._meta.db_table)} t"  # noqa: S608 - names from model metadata
        f" WHERE t.jti = %s AND t.user_id = u.id) FROM {quote(User._meta.db_table)} u WHERE u.id = %s"
    )
    return sql, [f.attname for f in fields]


def _user_and_revocation(*, user_id: int, jti: str) -> tuple[User, bool] | None:
    """ONE query, by primary key and the denylist's unique ``jti`` index; no ORM compilation on
    every request (it cost more CPU than the query itself)."""
    sql, attnames = _user_query()
    with hot_path_cursor() as cursor:
        cursor.execute(sql, [jti, user_id])
        row = cursor.fetchone()
    if row is None:
        return None
    return User.from_db(connection.alias, attnames, row[:-1]), bool(row[-1])


def user_for_token(validated_token: Token) -> User:
    """The active user of an access token whose version is current and which was not logged out.

    Raises ``InvalidToken`` (401 ``token_not_valid``) or ``TokenRevoked`` (401 ``token_revoked``).
    """
    try:
        user_id = int(validated_token[api_settings.USER_ID_CLAIM])
        version = int(validated_token[TOKEN_VERSION_CLAIM])
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidToken("Token contained no recognizable user identification.") from exc
    jti = str(validated_token.get(api_settings.JTI_CLAIM, ""))
    found = _user_and_revocation(user_id=user_id, jti=jti)
    if found is None:
        raise InvalidToken("Token contained no recognizable user identification.")
    user, revoked = found
    if not user.is_active or version != user.token_version or revoked:
        # Imported here: DRF loads this module while rest_framework.views is still initialising,
        # and accounts.exceptions imports the error handler, which imports rest_framework.views.
        from accounts.exceptions import TokenRevoked

        raise TokenRevoked()
    return user


class JWTCookieAuthentication(JWTAuthentication):
    """Bearer header first; otherwise the ``access_token`` cookie (CSRF-checked)."""

    def authenticate(self, request: Request) -> tuple[Any, Token] | None:
        header = self.get_header(request)
        if header is not None:
            raw_token = self.get_raw_token(header)
            if raw_token is None:
                return None
            validated = self.get_validated_token(raw_token)
            return user_for_token(validated), validated
        raw_cookie = request.COOKIES.get(settings.JWT_ACCESS_COOKIE)
        if not raw_cookie:
            return None
        validated = self.get_validated_token(raw_cookie.encode())
        user = user_for_token(validated)
        enforce_csrf(request)
        return user, validated

    def get_user(self, validated_token: Token) -> Any:
        return user_for_token(validated_token)
