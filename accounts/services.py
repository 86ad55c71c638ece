"""Writes of accounts: every state change goes through a function here.

Each top-level service is its own durable transaction; emails are outbox rows written in the same
transaction (``outbox_enqueue``), so nothing is sent for a change that rolled back and nothing is
lost when the broker is down. Every session-revoking
change (logout-all, password change/reset, role change, deactivation) bumps ``token_version``
in the same transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import Token
from rest_framework_simplejwt.utils import datetime_from_epoch

from accounts.email_tokens import Purpose, email_token_matches, email_token_read
from accounts.exceptions import (
    BadCredentials,
    DuplicateValue,
    IncorrectPassword,
    InvalidEmailToken,
    RefreshTokenInvalid,
    RoleChangeForbidden,
    TokenRevoked,
    UserActionForbidden,
    WeakPassword,
)
from accounts.lock_objects import user_lock
from accounts.models import IssuedRefreshToken, RevokedAccessToken, Role, User, role_weight
from accounts.tokens import TOKEN_VERSION_CLAIM, VaultRefreshToken
from accounts.validators import identifier_normalize
from audit.models import AuditAction
from audit.services import audit_record
from outbox.services import outbox_enqueue

logger = logging.getLogger(__name__)


# --- Passwords and uniqueness ---------------------------------------------------------------
def _password_check(*, password: str, user: User, attr: str) -> None:
    """Django's password validators; the first failing rule names the error code."""
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        error = WeakPassword(" ".join(exc.messages), attr=attr)
        first_code = exc.error_list[0].code if exc.error_list else None
        if first_code:
            error.code = first_code
        raise error from None


def _unique_check(*, username: str | None = None, email: str | None = None, email_attr: str = "email") -> None:
    if username is not None and User.objects.filter(username__iexact=username).exists():
        raise DuplicateValue("A user with that username already exists.", attr="username")
    if email is not None and User.objects.filter(email__iexact=email).exists():
        raise DuplicateValue("A user with that email address already exists.", attr=email_attr)


def _raise_duplicate(exc: IntegrityError, *, email_attr: str = "email") -> None:
    """Turn a lost race on a case-insensitive unique constraint into the field's 400."""
    text = str(exc)
    if "accounts_user_username_ci_unique" in text or "accounts_user_username_key" in text:
        raise DuplicateValue("A user with that username already exists.", attr="username") from None
    if "accounts_user_email_ci_unique" in text:
        raise DuplicateValue("A user with that email address already exists.", attr=email_attr) from None
    raise exc


# --- Registration and log-in ----------------------------------------------------------------
def user_register(
    *, username: str, email: str, password: str, first_name: str, last_name: str, middle_name: str = ""
) -> User:
    """A new user (role ``user``, email unverified); the verification email leaves after commit."""
    username = identifier_normalize(username)
    email = User.objects.normalize_email(email)
    candidate = User(username=username, email=email, first_name=first_name, last_name=last_name)
    _password_check(password=password, user=candidate, attr="password")
    _unique_check(username=username, email=email)
    try:
        with transaction.atomic(durable=True):
            user = User.objects.create_user(
                username,
                email,
                password,
                first_name=first_name,
                middle_name=middle_name,
                last_name=last_name,
                role=Role.USER,
            )
            outbox_enqueue(topic="accounts.verification_email", payload={"user_id": user.pk})
    except IntegrityError as exc:
        _raise_duplicate(exc)
    logger.info("user registered: id=%s", user.pk)
    return user


def user_authenticate(*, request: HttpRequest | None, username: str, password: str) -> User:
    """The active user with these credentials; one identical error for every failure.

    A legacy (bcrypt) hash that matches is re-hashed with Argon2id by Django on the way.
    """
    user = authenticate(request, username=username, password=password)
    if user is None or not isinstance(user, User):
        raise BadCredentials()
    user.last_login = timezone.now()
    User.objects.filter(pk=user.pk).update(last_login=user.last_login)
    return user


# --- JWTs -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TokenPair:
    access: str
    refresh: str
    access_expires_in: int
    refresh_expires_in: int


def token_pair_issue(*, user: User) -> TokenPair:
    """A new refresh token (its jti recorded as issued) and its access token."""
    refresh = VaultRefreshToken.for_user(user)
    return TokenPair(
        access=str(refresh.access_token),
        refresh=str(refresh),
        access_expires_in=int(jwt_settings.ACCESS_TOKEN_LIFETIME.total_seconds()),
        refresh_expires_in=int(jwt_settings.REFRESH_TOKEN_LIFETIME.total_seconds()),
    )


def _refresh_token_parse(raw_refresh: str) -> VaultRefreshToken:
    try:
        return VaultRefreshToken(raw_refresh)  # type: ignore[arg-type]
    except TokenError as exc:
        raise RefreshTokenInvalid() from exc


def _refresh_token_use(*, jti: str, user_id: int) -> bool:
    """Mark an issued refresh token used; True for exactly one caller, however many race.

    One conditional UPDATE: a concurrent second transaction waits for the first's row lock, then
    re-checks ``used_at IS NULL`` on the committed row and updates nothing.
    """
    updated = IssuedRefreshToken.objects.filter(jti=jti, user_id=user_id, used_at__isnull=True).update(
        used_at=timezone.now()
    )
    return updated == 1


def token_refresh(*, raw_refresh: str) -> TokenPair:
    """Rotate a refresh token: mark it used and issue a new pair, exactly once.

    Keeps: a refresh token is accepted at most once (also under concurrent use; the loser gets
    401 ``token_not_valid``), and never for a revoked or inactive user.
    """
    refresh = _refresh_token_parse(raw_refresh)
    try:
        user_id = int(refresh.get(jwt_settings.USER_ID_CLAIM))
    except (TypeError, ValueError):
        raise RefreshTokenInvalid() from None
    with transaction.atomic(durable=True):
        if not _refresh_token_use(jti=refresh[jwt_settings.JTI_CLAIM], user_id=user_id):
            raise RefreshTokenInvalid()
        user = User.objects.filter(pk=user_id).first()
        if user is None:
            raise RefreshTokenInvalid()
        if not user.is_active or refresh.get(TOKEN_VERSION_CLAIM) != user.token_version:
            raise TokenRevoked()
        return token_pair_issue(user=user)


def user_logout(*, user: User, access_token: Token | None, raw_refresh: str | None) -> None:
    """End this session: the access token's jti is denylisted until it expires, and the
    refresh token (when given and the caller's) is marked used."""
    with transaction.atomic(durable=True):
        if access_token is not None and access_token.get(jwt_settings.JTI_CLAIM):
            RevokedAccessToken.objects.bulk_create(
                [
                    RevokedAccessToken(
                        jti=access_token[jwt_settings.JTI_CLAIM],
                        user=user,
                        expires_at=datetime_from_epoch(access_token["exp"]),
                    )
                ],
                ignore_conflicts=True,
            )
        if raw_refresh:
            try:
                refresh = VaultRefreshToken(raw_refresh)  # type: ignore[arg-type]
            except TokenError:
                return  # expired or forged: nothing left to end
            _refresh_token_use(jti=refresh[jwt_settings.JTI_CLAIM], user_id=user.pk)


def _token_version_bump(user: User) -> None:
    User.objects.filter(pk=user.pk).update(token_version=F("token_version") + 1)
    user.refresh_from_db(fields=["token_version"])


def user_sessions_revoke(*, user: User, acting_user: User | None = None, reason: str = "") -> User:
    """Every token issued to ``user`` so far stops working on its next use (logout-all).
    Audited; ``acting_user`` is the operator, or the user themself when omitted."""
    with transaction.atomic(durable=True):
        before = user.token_version
        _token_version_bump(user)
        audit_record(
            actor=acting_user or user,
            action=AuditAction.USER_SESSIONS_REVOKE,
            target=user,
            before={"token_version": before},
            after={"token_version": user.token_version},
            reason=reason,
        )
    logger.info("sessions revoked: user id=%s", user.pk)
    return user


# --- Passwords --------------------------------------------------------------------------------
def user_password_change(*, user: User, old_password: str, new_password: str) -> TokenPair:
    """Change the password, revoke every earlier token and return a fresh pair."""
    if not user.check_password(old_password):
        raise IncorrectPassword("The current password is incorrect.", attr="old_password")
    _password_check(password=new_password, user=user, attr="new_password")
    with transaction.atomic(durable=True):
        locked = user_lock(user_id=user.pk)
        if locked is None or not locked.is_active:
            raise TokenRevoked()
        locked.set_password(new_password)
        locked.token_version += 1
        locked.save(update_fields=["password", "token_version"])
        pair = token_pair_issue(user=locked)
    user.password, user.token_version = locked.password, locked.token_version
    return pair


def password_reset_request(*, email: str) -> None:
    """Queue a reset email for ``email``; the task finds the active account, if any.

    The request does the same work whether or not the address belongs to anyone (no user query,
    one outbox row), so neither the answer nor its timing reveals which accounts exist.
    """
    outbox_enqueue(topic="accounts.password_reset_email", payload={"email": email})


def password_reset_confirm(*, token: str, new_password: str) -> User:
    """Set a new password from a reset link (single use) and revoke every token of the user."""
    claims = email_token_read(token=token, purpose=Purpose.RESET_PASSWORD)
    with transaction.atomic(durable=True):
        user = user_lock(user_id=claims.user_id)
        if user is None or not user.is_active:
            raise InvalidEmailToken()
        if not email_token_matches(user=user, purpose=Purpose.RESET_PASSWORD, claims=claims):
            raise InvalidEmailToken()
        _password_check(password=new_password, user=user, attr="new_password")
        user.set_password(new_password)
        user.token_version += 1
        user.save(update_fields=["password", "token_version"])
    logger.info("password reset: user id=%s", user.pk)
    return user


# --- Email verification and change ------------------------------------------------------------
def email_verification_request(*, user: User) -> bool:
    """Queue a verification email; False (nothing sent) when the address is already verified."""
    if user.is_email_verified:
        return False
    outbox_enqueue(topic="accounts.verification_email", payload={"user_id": user.pk})
    return True


def email_verify(*, token: str) -> User:
    """Mark the address verified from a verification link (single use)."""
    claims = email_token_read(token=token, purpose=Purpose.VERIFY_EMAIL)
    with transaction.atomic(durable=True):
        user = user_lock(user_id=claims.user_id)
        if user is None or not user.is_active:
            raise InvalidEmailToken()
        if not email_token_matches(user=user, purpose=Purpose.VERIFY_EMAIL, claims=claims):
            raise InvalidEmailToken()
        user.is_email_verified = True
        user.save(update_fields=["is_email_verified"])
    return user


def email_change_request(*, user: User, new_email: str, password: str) -> None:
    """Send a confirmation link to ``new_email`` and a notice to the current address."""
    if not user.check_password(password):
        raise IncorrectPassword()
    new_email = User.objects.normalize_email(new_email)
    if new_email.lower() == user.email.lower():
        raise DuplicateValue("This is already your email address.", attr="new_email")
    _unique_check(email=new_email, email_attr="new_email")
    outbox_enqueue(topic="accounts.email_change_emails", payload={"user_id": user.pk, "new_email": new_email})


def email_change_confirm(*, token: str) -> User:
    """Switch to the new address from its confirmation link (single use); it counts as verified."""
    claims = email_token_read(token=token, purpose=Purpose.CHANGE_EMAIL)
    if not claims.new_email:
        raise InvalidEmailToken()
    try:
        with transaction.atomic(durable=True):
            user = user_lock(user_id=claims.user_id)
            if user is None or not user.is_active:
                raise InvalidEmailToken()
            if not email_token_matches(user=user, purpose=Purpose.CHANGE_EMAIL, claims=claims):
                raise InvalidEmailToken()
            user.email = claims.new_email
            user.is_email_verified = True
            user.save(update_fields=["email", "is_email_verified"])
    except IntegrityError:
        raise InvalidEmailToken("This email address is now used by another account.") from None
    logger.info("email changed: user id=%s", user.pk)
    return user


# --- Profile, roles, deactivation ---------------------------------------------------------
def user_update(
    *,
    user: User,
    first_name: str | None = None,
    middle_name: str | None = None,
    last_name: str | None = None,
    acting_user: User | None = None,
) -> User:
    """Update name fields only (the only fields a user may change about themselves). A change
    by someone else (``acting_user``, the back-office) is audited."""
    changes = {
        field: value
        for field, value in (("first_name", first_name), ("middle_name", middle_name), ("last_name", last_name))
        if value is not None and value != getattr(user, field)
    }
    if changes:
        with transaction.atomic():  # not durable: the admin's change view wraps its own atomic block
            User.objects.filter(pk=user.pk).update(**changes)
            if acting_user is not None and acting_user.pk != user.pk:
                audit_record(
                    actor=acting_user,
                    action=AuditAction.USER_PROFILE_UPDATE,
                    target=user,
                    before={field: getattr(user, field) for field in changes},
                    after=changes,
                )
        for field, value in changes.items():
            setattr(user, field, value)
    return user


def role_change_allowed(*, acting_user: User, user: User, role: str) -> bool:
    """The hierarchy rule: never yourself; only users whose role weighs strictly less than
    yours; only to roles that weigh strictly less than yours."""
    return (
        acting_user.pk != user.pk
        and acting_user.is_active
        and user.role_weight < acting_user.role_weight
        and 0 < role_weight(role) < acting_user.role_weight
    )


def user_role_change(*, acting_user: User, user: User, role: str) -> User:
    """Give ``user`` a new role (hierarchy rule above) and revoke all their tokens.

    Not durable: the admin's change view runs this inside its own transaction."""
    with transaction.atomic():
        locked = user_lock(user_id=user.pk)
        if locked is None or not role_change_allowed(acting_user=acting_user, user=locked, role=role):
            raise RoleChangeForbidden()
        before = {"role": locked.role, "token_version": locked.token_version}
        locked.role = role
        locked.token_version += 1
        locked.save(update_fields=["role", "token_version"])
        audit_record(
            actor=acting_user,
            action=AuditAction.USER_ROLE_CHANGE,
            target=locked,
            before=before,
            after={"role": locked.role, "token_version": locked.token_version},
        )
    user.role, user.token_version = locked.role, locked.token_version
    logger.info("role changed: user id=%s to %s by id=%s", user.pk, role, acting_user.pk)
    return user


def _may_act_on(*, acting_user: User, user: User) -> bool:
    return acting_user.pk != user.pk and acting_user.is_active and user.role_weight < acting_user.role_weight


def user_sessions_revoke_by(*, acting_user: User, user: User, reason: str = "") -> User:
    """An operator revokes every token of a user below their own role."""
    if not _may_act_on(acting_user=acting_user, user=user):
        raise UserActionForbidden()
    return user_sessions_revoke(user=user, acting_user=acting_user, reason=reason)


def user_deactivate(*, acting_user: User, user: User, reason: str = "") -> User:
    """Deactivate a user below the operator's role; their tokens stop working at once."""
    if not _may_act_on(acting_user=acting_user, user=user):
        raise UserActionForbidden()
    with transaction.atomic(durable=True):
        before = {"is_active": user.is_active, "token_version": user.token_version}
        User.objects.filter(pk=user.pk).update(is_active=False, token_version=F("token_version") + 1)
        user.refresh_from_db(fields=["is_active", "token_version"])
        audit_record(
            actor=acting_user,
            action=AuditAction.USER_DEACTIVATE,
            target=user,
            before=before,
            after={"is_active": user.is_active, "token_version": user.token_version},
            reason=reason,
        )
    logger.info("user deactivated: id=%s by id=%s", user.pk, acting_user.pk)
    return user


def user_verification_resend(*, acting_user: User, user: User) -> bool:
    """An operator (staff+) re-sends the verification email of an unverified, active user
    (audited). False when there is nothing to send."""
    if not acting_user.has_role_at_least(Role.STAFF) or not acting_user.is_active:
        raise UserActionForbidden()
    if user.is_email_verified or not user.is_active:
        return False
    with transaction.atomic(durable=True):
        email_verification_request(user=user)  # an outbox row, sent after commit
        audit_record(actor=acting_user, action=AuditAction.USER_VERIFICATION_RESEND, target=user)
    return True


# --- Operators ----------------------------------------------------------------------------
@dataclass(frozen=True)
class BootstrapResult:
    user: User
    outcome: str  # "created", "updated" or "unchanged"


def superuser_bootstrap(
    *, username: str, email: str, password: str, first_name: str = "", middle_name: str = "", last_name: str = ""
) -> BootstrapResult:
    """Create or update the superuser ``username`` (idempotent). A changed password revokes
    that user's existing tokens."""
    email = User.objects.normalize_email(email)
    with transaction.atomic(durable=True):
        existing = User.objects.select_for_update().filter(username__iexact=username).first()
        if existing is None:
            candidate = User(username=username, email=email, first_name=first_name, last_name=last_name)
            _password_check(password=password, user=candidate, attr="password")
            _unique_check(email=email)
            user = User.objects.create_superuser(
                username, email, password, first_name=first_name, middle_name=middle_name, last_name=last_name
            )
            return BootstrapResult(user=user, outcome="created")
        if existing.email.lower() != email.lower():
            _unique_check(email=email)
        wanted = {
            "email": email,
            "first_name": first_name,
            "middle_name": middle_name,
            "last_name": last_name,
            "role": Role.SUPERUSER,
            "is_active": True,
            "is_email_verified": True,
        }
        changed = [field for field, value in wanted.items() if getattr(existing, field) != value]
        for field in changed:
            setattr(existing, field, wanted[field])
        if not existing.check_password(password):
            _password_check(password=password, user=existing, attr="password")
            existing.set_password(password)
            existing.token_version += 1
            changed += ["password", "token_version"]
        if changed:
            existing.save(update_fields=changed)
        return BootstrapResult(user=existing, outcome="updated" if changed else "unchanged")


def expired_tokens_purge() -> dict[str, int]:
    """Delete denylisted access tokens and issued refresh-token records past their expiry;
    expired tokens are refused by their ``exp`` anyway."""
    now = timezone.now()
    with transaction.atomic(durable=True):
        revoked, _ = RevokedAccessToken.objects.filter(expires_at__lt=now).delete()
        issued, _ = IssuedRefreshToken.objects.filter(expires_at__lt=now).delete()
    return {"revoked_access_tokens": revoked, "issued_refresh_tokens": issued}
