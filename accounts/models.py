"""Users and their weighted roles."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone


class Role(models.TextChoices):
    """Roles, heaviest first. Weights decide who may do what (see ``role_weight``)."""

    SUPERUSER = "superuser", "Superuser"
    ADMIN = "admin", "Admin"
    STAFF = "staff", "Staff"
    USER = "user", "User"


ROLE_WEIGHTS: dict[str, int] = {Role.SUPERUSER: 100, Role.ADMIN: 75, Role.STAFF: 50, Role.USER: 10}


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

    username = models.CharField(max_length=150, unique=True, validators=[UnicodeUsernameValidator()])
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
        """Superusers and admins hold every model permission; staff may view everything plus
        whatever their groups grant. Money is never edited through permissions: admin pages
        write through services, which apply their own role rules."""
        if not self.is_active:
            return False
        if self.has_role_at_least(Role.ADMIN):
            return True
        if self.is_staff and perm.partition(".")[2].startswith("view_"):
            return True
        return super().has_perm(perm, obj)

    def has_module_perms(self, app_label: str) -> bool:
        if self.is_active and self.is_staff:
            return True
        return super().has_module_perms(app_label)

    def get_full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.middle_name, self.last_name) if part)

    def get_short_name(self) -> str:
        return self.first_name or self.username


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
