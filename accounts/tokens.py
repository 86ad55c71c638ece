"""JWTs: simplejwt tokens that carry the user's ``token_version``.

A token whose ``token_version`` is older than the user's is refused (see
``accounts.authentication``); bumping the version therefore revokes every token issued before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rest_framework_simplejwt.tokens import AccessToken, BlacklistMixin, RefreshToken

if TYPE_CHECKING:
    from accounts.models import User

TOKEN_VERSION_CLAIM = "token_version"  # noqa: S105 (a claim name)


class VaultAccessToken(AccessToken):
    """Access token (type ``access``); carries ``token_version`` copied from its refresh token."""


class VaultRefreshToken(RefreshToken):
    """Refresh token (type ``refresh``), recorded as outstanding and single use (rotation)."""

    access_token_class = VaultAccessToken

    @classmethod
    def for_user(cls, user: Any) -> VaultRefreshToken:
        """A refresh token for ``user``; its access tokens inherit the ``token_version`` claim.

        The claim is set before the token is recorded as outstanding, so the stored copy matches.
        """
        token = super(BlacklistMixin, cls).for_user(user)  # Token.for_user: not recorded yet
        token[TOKEN_VERSION_CLAIM] = user.token_version
        _record_outstanding(token, user)
        return token


def _record_outstanding(token: VaultRefreshToken, user: User) -> None:
    from rest_framework_simplejwt.settings import api_settings
    from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
    from rest_framework_simplejwt.utils import datetime_from_epoch

    OutstandingToken.objects.create(
        user=user,
        jti=token[api_settings.JTI_CLAIM],
        token=str(token),
        created_at=token.current_time,
        expires_at=datetime_from_epoch(token["exp"]),
    )
