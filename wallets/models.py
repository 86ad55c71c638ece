"""Balance holders: user wallets (one per user per currency) and system accounts.

Every ledger entry references this one table. User wallets can never go below zero (balance,
held and available), enforced by CHECK constraints; system accounts (provider clearing,
adjustments/equity, fees) are the outside world's side of each transaction and may go negative.
``balance`` and ``held`` are caches of the ledger: ``verify_ledger`` recomputes them from entries
and pending withdrawals.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from wallets.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS


class WalletKind(models.TextChoices):
    USER = "user", "User wallet"
    SYSTEM = "system", "System account"


class WalletStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    FROZEN = "frozen", "Frozen"


class SystemAccount(models.TextChoices):
    """Per-currency accounts of the outside world."""

    PROVIDER_CLEARING = "provider_clearing", "Payment provider clearing"
    EQUITY = "equity", "Adjustments / equity"
    FEES = "fees", "Fees"
    # What users owe: the shortfall of a refund/dispute of money they had already spent.
    RECEIVABLE = "receivable", "Receivable from users"


def money_field(**kwargs: object) -> models.DecimalField:
    return models.DecimalField(max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES, **kwargs)  # type: ignore[arg-type]


class Wallet(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=8, choices=WalletKind.choices, default=WalletKind.USER)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="wallets"
    )
    # NULL (not "") for user wallets: the partial unique constraint and the kind CHECK rely on it.
    system_code = models.CharField(max_length=32, choices=SystemAccount.choices, null=True, blank=True)  # noqa: DJ001
    currency = models.CharField(max_length=3)
    balance = money_field(default=Decimal("0"))
    held = money_field(default=Decimal("0"))
    status = models.CharField(max_length=8, choices=WalletStatus.choices, default=WalletStatus.ACTIVE)
    # Outgoing total of the current UTC day, for the per-role daily limit (updated under the lock).
    outgoing_day = models.DateField(null=True, blank=True)
    outgoing_today = money_field(default=Decimal("0"))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "currency"], condition=Q(user__isnull=False), name="wallets_wallet_user_currency_unique"
            ),
            models.UniqueConstraint(
                fields=["system_code", "currency"],
                condition=Q(system_code__isnull=False),
                name="wallets_wallet_system_currency_unique",
            ),
            models.CheckConstraint(
                condition=(Q(kind=WalletKind.USER, user__isnull=False, system_code__isnull=True))
                | Q(kind=WalletKind.SYSTEM, user__isnull=True, system_code__isnull=False),
                name="wallets_wallet_kind_owner",
            ),
            models.CheckConstraint(
                condition=Q(kind=WalletKind.SYSTEM) | Q(balance__gte=0), name="wallets_wallet_balance_nonnegative"
            ),
            models.CheckConstraint(condition=Q(held__gte=0), name="wallets_wallet_held_nonnegative"),
            models.CheckConstraint(
                condition=Q(kind=WalletKind.SYSTEM) | Q(balance__gte=F("held")),
                name="wallets_wallet_available_nonnegative",
            ),
            models.CheckConstraint(condition=Q(status__in=WalletStatus.values), name="wallets_wallet_status_valid"),
            models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3}$"), name="wallets_wallet_currency_iso"),
        ]

    def __str__(self) -> str:
        """Its owner and currency, e.g. ``alice · USD`` or ``system: Fees · USD`` (reads the user:
        select it with the wallet where many are shown)."""
        if self.kind == WalletKind.SYSTEM:
            return f"system: {self.get_system_code_display()} · {self.currency}"
        owner = self.user.username if self.user is not None else self.user_id
        return f"{owner} · {self.currency}"

    @property
    def available(self) -> Decimal:
        """Balance minus funds held by pending withdrawals."""
        return self.balance - self.held

    @property
    def is_user_wallet(self) -> bool:
        return self.kind == WalletKind.USER
