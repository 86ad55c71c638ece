"""JWTs: simplejwt tokens that carry the user's ``token_version``.

A token whose ``token_version`` is older than the user's is refused (see
``accounts.authentication``); bumping the version therefore revokes every token issued before.
Refresh tokens are recorded by ``jti`` and expiry only (``IssuedRefreshToken``): no usable token
is ever stored, so nothing in the database or the admin can be replayed.
"""

from __future__ import annotations

from typing import Any, cast

from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken
from rest_framework_simplejwt.utils import datetime_from_epoch

TOKEN_VERSION_CLAIM = "token_version"  # noqa: S105 (a claim name)


class VaultAccessToken(AccessToken):
    """Access token (type ``access``); carries ``token_version`` copied from its refresh token."""


class VaultRefreshToken(RefreshToken):
    """Refresh token (type ``refresh``), recorded by jti and single use (rotation)."""

    access_token_class = VaultAccessToken

    @classmethod
    def for_user(cls, user: Any) -> VaultRefreshToken:
        """A refresh token for ``user``, recorded as issued; its access tokens inherit the
        ``token_version`` claim."""
        from accounts.models import IssuedRefreshToken  # simplejwt loads this module before the apps

        token = cast(VaultRefreshToken, super().for_user(user))
        token[TOKEN_VERSION_CLAIM] = user.token_version
        IssuedRefreshToken.objects.create(
            user=user,
            jti=token[api_settings.JTI_CLAIM],
            created_at=token.current_time,
            expires_at=datetime_from_epoch(token["exp"]),
        )
        return token
