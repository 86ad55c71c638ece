"""Users and their weighted roles."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.crypto import salted_hmac

from accounts.validators import UsernameValidator


class Role(models.TextChoices):
    """Roles, heaviest first. Weights decide who may do what (see ``role_weight``)."""

    SUPERUSER = "superuser", "Superuser"
    ADMIN = "admin", "Admin"
    STAFF = "staff", "Staff"
    USER = "user", "User"


ROLE_WEIGHTS: dict[str, int] = {Role.SUPERUSER: 100, Role.ADMIN: 75, Role.STAFF: 50, Role.USER: 10}


# Admin-site permissions of each role below superuser (which holds all): deny by default, each
# role gets exactly the pages it needs. Changes go through admin actions that call services,
# which apply their own role rules; "change" here only opens a model's edit form.
_STAFF_ADMIN_PERMISSIONS = frozenset(
    {
        "accounts.view_user",
        "wallets.view_wallet",
        "ledger.view_ledgertransaction",
        "ledger.view_ledgerentry",
        "ledger.view_approvalrequest",
        "ledger.add_approvalrequest",
        "audit.view_auditevent",
        "payments.view_reconciliationissue",
    }
)
ROLE_ADMIN_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.STAFF: _STAFF_ADMIN_PERMISSIONS,
    Role.ADMIN: _STAFF_ADMIN_PERMISSIONS
    | {
        "accounts.change_user",
        "ledger.view_idempotencykey",
        "payments.view_bankaccount",
        "payments.view_stripeevent",
        "outbox.view_outboxmessage",
        # Platform webhook endpoints (every user's events) and the deliveries log.
        "webhooks.view_webhookendpoint",
        "webhooks.add_webhookendpoint",
        "webhooks.change_webhookendpoint",
        "webhooks.delete_webhookendpoint",
        "webhooks.view_webhookdelivery",
        "webhooks.view_webhookattempt",
        "webhooks.change_webhookdelivery",
    },
}


def role_weight(role: str) -> int:
    """The weight of a role; unknown roles weigh nothing."""
    return ROLE_WEIGHTS.get(role, 0)


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def get_by_natural_key(self, username: str | None) -> User:
        """Usernames are unique regardless of case, so log-in matches them that way too."""
        return self.get(username__iexact=username)

    def _create(self, username: str, email: str, password: str | None, **extra: Any) -> User:
        if not username:
            raise ValueError("A username is required.")
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(username=username, email=self.normalize_email(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, username: str, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("role", Role.USER)
        return self._create(username, email, password, **extra)

    def create_superuser(self, username: str, email: str, password: str | None = None, **extra: Any) -> User:
        extra["role"] = Role.SUPERUSER
        extra.setdefault("is_email_verified", True)
        return self._create(username, email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who holds wallets or runs the back-office.

    ``role`` is the single source of authority: Django's ``is_staff`` and ``is_superuser`` are
    derived from it, so admin access and API permissions can never disagree.
    ``token_version`` is copied into every JWT; bumping it revokes every token issued before.
    """

    username = models.CharField(max_length=150, unique=True, validators=[UsernameValidator()])
    email = models.EmailField(max_length=254)
    first_name = models.CharField(max_length=150, blank=True)
    middle_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.USER)
    is_active = models.BooleanField(default=True)
    is_email_verified = models.BooleanField(default=False)
    token_version = models.PositiveIntegerField(default=0)
    date_joined = models.DateTimeField(default=timezone.now)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "username"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["email"]

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(Lower("username"), name="accounts_user_username_ci_unique"),
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
            models.CheckConstraint(condition=Q(role__in=list(ROLE_WEIGHTS)), name="accounts_user_role_valid"),
        ]

    def __str__(self) -> str:
        return self.username

    @property
    def role_weight(self) -> int:
        return role_weight(self.role)

    def has_role_at_least(self, role: str) -> bool:
        """Does this user's role weigh at least as much as ``role``?"""
        return self.role_weight >= role_weight(role)

    @property
    def is_staff(self) -> bool:
        """Admin-site access: staff and heavier roles."""
        return self.has_role_at_least(Role.STAFF)

    @property
    def is_superuser(self) -> bool:  # type: ignore[override]
        """Derived from ``role`` (this property replaces PermissionsMixin's stored field)."""
        return self.role == Role.SUPERUSER

    def has_perm(self, perm: str, obj: Any = None) -> bool:
        """Admin-site permissions come from the role alone (``ROLE_ADMIN_PERMISSIONS``), deny by
        default; groups and per-user permissions are not used. Superusers hold every permission."""
        if not self.is_active:
            return False
        return self.is_superuser or perm in ROLE_ADMIN_PERMISSIONS.get(self.role, frozenset())

    def has_perms(self, perm_list: Any, obj: Any = None) -> bool:
        return all(self.has_perm(perm, obj) for perm in perm_list)

    def has_module_perms(self, app_label: str) -> bool:
        if not self.is_active:
            return False
        prefix = f"{app_label}."
        return self.is_superuser or any(p.startswith(prefix) for p in ROLE_ADMIN_PERMISSIONS.get(self.role, ()))

    def get_all_permissions(self, obj: Any = None) -> set[str]:
        return set(ROLE_ADMIN_PERMISSIONS.get(self.role, ())) if self.is_active else set()

    def get_session_auth_hash(self) -> str:
        """Admin sessions end with the password AND with ``token_version``: logout-all, a password
        change and every operator revocation end the user's Django sessions too."""
        return self._session_hash(secret=None)

    def get_session_auth_fallback_hash(self) -> Iterator[str]:
        for fallback_secret in settings.SECRET_KEY_FALLBACKS:
            yield self._session_hash(secret=fallback_secret)

    def _session_hash(self, *, secret: str | bytes | None) -> str:
        value = f"{self.password}:{self.token_version}"
        return salted_hmac("accounts.User.session", value, secret=secret, algorithm="sha256").hexdigest()

    def get_full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.middle_name, self.last_name) if part)

    def get_short_name(self) -> str:
        return self.first_name or self.username


class IssuedRefreshToken(models.Model):
    """A refresh token this server issued, by ``jti`` only: the token itself is never stored.

    Rotation and logout set ``used_at`` with one conditional UPDATE, so a refresh token works
    once even when two requests race. Rows are purged once ``expires_at`` has passed.
    """

    jti = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="issued_refresh_tokens")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"refresh token of user {self.user_id}"


class RevokedAccessToken(models.Model):
    """An access token ended by logout before it expired.

    Authentication looks the ``jti`` up (unique index) in the same query that loads the user;
    rows are purged once ``expires_at`` has passed, when the token would be refused anyway.
    """

    jti = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="revoked_access_tokens")
    expires_at = models.DateTimeField(db_index=True)
    revoked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"revoked access token of user {self.user_id}"
