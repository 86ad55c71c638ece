"""Signed, expiring, single-use tokens for the links in emails.

A token is ``django.core.signing`` output (HMAC with SECRET_KEY, timestamped, salted per
purpose) holding the user id and a fingerprint of the user state the link is allowed to
change. Using the link changes that state, so the same token can never pass twice:

- email verification: the address and the "verified" flag;
- password reset: the password hash and ``token_version``;
- email change: the current address and the requested one.

Services re-check the fingerprint on the row they hold locked, so two concurrent uses of one
link cannot both succeed. Nothing is stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django.conf import settings
from django.core import signing
from django.utils.crypto import constant_time_compare, salted_hmac

from accounts.exceptions import InvalidEmailToken
from accounts.models import User


class Purpose(StrEnum):
    VERIFY_EMAIL = "verify_email"
    RESET_PASSWORD = "reset_password"  # noqa: S105 (a purpose name, not a secret)
    CHANGE_EMAIL = "change_email"


def _max_age(purpose: Purpose) -> int:
    return {
        Purpose.VERIFY_EMAIL: settings.EMAIL_VERIFICATION_TOKEN_MAX_AGE,
        Purpose.RESET_PASSWORD: settings.PASSWORD_RESET_TOKEN_MAX_AGE,
        Purpose.CHANGE_EMAIL: settings.EMAIL_CHANGE_TOKEN_MAX_AGE,
    }[purpose]


def _fingerprint(user: User, purpose: Purpose, new_email: str) -> str:
    if purpose is Purpose.VERIFY_EMAIL:
        state = f"{user.email.lower()}|{user.is_email_verified}"
    elif purpose is Purpose.RESET_PASSWORD:
        state = f"{user.password}|{user.token_version}"
    else:
        state = f"{user.email.lower()}|{new_email.lower()}"
    return salted_hmac(f"accounts.email_tokens.{purpose}", state).hexdigest()[:32]


@dataclass(frozen=True)
class EmailTokenClaims:
    user_id: int
    fingerprint: str
    new_email: str = ""


def email_token_make(*, user: User, purpose: Purpose, new_email: str = "") -> str:
    payload: dict[str, object] = {"u": user.pk, "f": _fingerprint(user, purpose, new_email)}
    if new_email:
        payload["e"] = new_email
    return signing.dumps(payload, salt=f"accounts.{purpose}", compress=True)


def email_token_read(*, token: str, purpose: Purpose) -> EmailTokenClaims:
    """The claims of an authentic, unexpired token for ``purpose``; else ``InvalidEmailToken``."""
    try:
        payload = signing.loads(token, salt=f"accounts.{purpose}", max_age=_max_age(purpose))
        return EmailTokenClaims(
            user_id=int(payload["u"]), fingerprint=str(payload["f"]), new_email=payload.get("e", "")
        )
    except (signing.BadSignature, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InvalidEmailToken() from exc


def email_token_matches(*, user: User, purpose: Purpose, claims: EmailTokenClaims) -> bool:
    """Is the user still in the state the token was issued for (i.e. the token is unused)?"""
    return constant_time_compare(_fingerprint(user, purpose, claims.new_email), claims.fingerprint)
