"""Writes of wallets: every state change goes through a function here.

Balances are never written here: they change only through the ledger's posting function
(``ledger.services.posting.post``), which writes balanced entries.
"""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Role, User
from audit.models import AuditAction
from audit.services import audit_record
from events.models import EventType
from events.services import EventDraft, events_record
from wallets.exceptions import ReasonRequired, UnsupportedCurrency, WalletExists, WalletPermissionDenied
from wallets.lock_objects import wallet_lock_queryset
from wallets.models import SystemAccount, Wallet, WalletKind, WalletStatus
from wallets.money import CurrencyError, validate_currency
from wallets.serializers import WalletOutputSerializer


def currency_validate(*, currency: object) -> str:
    """The enabled currency code, or 400 ``unsupported_currency``."""
    try:
        return validate_currency(currency)
    except CurrencyError as exc:
        raise UnsupportedCurrency(str(exc)) from exc


@transaction.atomic(durable=True)
def wallet_create(*, user: User, currency: str) -> Wallet:
    """Open the user's wallet in ``currency`` (zero balance). One per user per currency: the
    unique constraint decides races; the loser gets 409 ``wallet_exists``."""
    currency = currency_validate(currency=currency)
    if Wallet.objects.filter(user=user, currency=currency).exists():
        raise WalletExists()
    try:
        with transaction.atomic():
            wallet = Wallet.objects.create(kind=WalletKind.USER, user=user, currency=currency)
    except IntegrityError as exc:
        raise WalletExists() from exc
    wallet_event_record(wallet=wallet, type=EventType.WALLET_CREATED)
    return wallet


def wallet_event_record(*, wallet: Wallet, type: EventType) -> None:
    """Write ``type`` for the owner of user wallet ``wallet`` in the current transaction."""
    if wallet.kind != WalletKind.USER or wallet.user_id is None or not settings.EVENTS_ENABLED:
        return
    events_record(
        drafts=[
            EventDraft(
                user_id=wallet.user_id,
                type=type,
                object=dict(WalletOutputSerializer(wallet).data),
                created_at=timezone.now(),
            )
        ]
    )


def system_wallet_get(*, code: SystemAccount, currency: str) -> Wallet:
    """The system account ``code`` in ``currency``, created on first use (race-safe)."""
    wallet, _ = Wallet.objects.get_or_create(
        system_code=code, currency=currency, defaults={"kind": WalletKind.SYSTEM, "user": None}
    )
    return wallet


def _wallet_set_status(*, acting_user: User, wallet: Wallet, status: WalletStatus, reason: str) -> Wallet:
    if not acting_user.has_role_at_least(Role.STAFF):
        raise WalletPermissionDenied()
    cleaned = (reason or "").strip()
    if not cleaned:
        raise ReasonRequired()
    with transaction.atomic(durable=True):
        # Under the same lock as money services, so a transfer sees the status it was decided on.
        locked = wallet_lock_queryset(condition=Q(pk=wallet.pk)).get()
        wallet_status_write(actor=acting_user, wallet=locked, status=status, reason=cleaned)
    return locked


def wallet_status_write(*, actor: User | None, wallet: Wallet, status: WalletStatus, reason: str) -> None:
    """Set the status of ``wallet`` (locked by the caller, inside its atomic block) and audit it;
    ``actor`` None is the system itself (e.g. a provider claw-back). No change, no audit."""
    if wallet.status == status:
        return
    before = wallet.status
    wallet.status = status
    wallet.save(update_fields=["status", "updated_at"])
    wallet_event_record(
        wallet=wallet, type=EventType.WALLET_FROZEN if status == WalletStatus.FROZEN else EventType.WALLET_UNFROZEN
    )
    audit_record(
        actor=actor,
        action=AuditAction.WALLET_FREEZE if status == WalletStatus.FROZEN else AuditAction.WALLET_UNFREEZE,
        target=wallet,
        before={"status": before},
        after={"status": status},
        reason=reason,
    )


def wallet_freeze(*, acting_user: User, wallet: Wallet, reason: str) -> Wallet:
    """Freeze a wallet (staff+, with a reason; audited): it can neither send nor receive until
    unfrozen. Freezing a frozen wallet changes (and audits) nothing."""
    return _wallet_set_status(acting_user=acting_user, wallet=wallet, status=WalletStatus.FROZEN, reason=reason)


def wallet_unfreeze(*, acting_user: User, wallet: Wallet, reason: str) -> Wallet:
    """Unfreeze a wallet (staff+, with a reason; audited)."""
    return _wallet_set_status(acting_user=acting_user, wallet=wallet, status=WalletStatus.ACTIVE, reason=reason)
