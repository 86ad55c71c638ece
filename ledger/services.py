"""Writes of the ledger: the ONLY code that moves money.

Every money service:
- validates its input first (currency, amount) so that a refusal writes nothing;
- runs one durable ``transaction.atomic`` (nesting one by accident fails loudly);
- locks every wallet it touches through ``wallets.lock_objects`` (ascending pk, one query),
  then re-reads and re-checks under the lock (status, funds, limits);
- writes the minimum: one transaction row, its entries in one INSERT, wallet rows in one UPDATE;
- queues side effects with ``transaction.on_commit``; never calls the network under a lock;
- is retried a bounded number of times on deadlock/serialization failure (40P01/40001), then
  answers 503 having changed nothing.
PostgreSQL re-checks the invariants (``ledger/sql/``), so a bug here fails the commit instead
of corrupting money.
"""

from __future__ import annotations

import functools
import logging
import random
import time
import uuid
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import ParamSpec, TypeVar

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.models import Role, User
from accounts.validators import identifier_is_unambiguous, identifier_normalize
from audit.models import AuditAction
from audit.services import audit_record
from ledger.exceptions import (
    AlreadyReversed,
    CurrencyMismatch,
    EmailNotVerified,
    IdempotencyKeyInUse,
    InsufficientFunds,
    InvalidAmount,
    InvalidBankAccount,
    InvalidTransactionState,
    LedgerPermissionDenied,
    LimitExceeded,
    ProviderUnavailable,
    RecipientNotFound,
    SelfDealing,
    SelfTransfer,
)
from ledger.models import (
    Direction,
    IdempotencyKey,
    LedgerEntry,
    LedgerTransaction,
    TransactionStatus,
    TransactionType,
)
from payments.providers import PaymentProvider, PaymentResult, ProviderError, ProviderStatus, get_provider
from vaultcore.db import hot_path_cursor
from vaultcore.errors import RETRYABLE_SQLSTATES, ServiceUnavailable
from wallets.exceptions import WalletFrozen, WalletNotFound
from wallets.lock_objects import transfer_wallets_lock, wallet_lock_queryset, wallets_lock
from wallets.models import SystemAccount, Wallet, WalletKind, WalletStatus
from wallets.money import ZERO, AmountError, parse_amount
from wallets.services import currency_validate, system_wallet_get

logger = logging.getLogger("ledger")

P = ParamSpec("P")
R = TypeVar("R")
# Renders the HTTP response (status, JSON body) of a request from its just-built transaction.
Responder = Callable[[LedgerTransaction], tuple[int, str]]

MAX_ATTEMPTS = 5


# --- Plumbing --------------------------------------------------------------------------------
def retry_on_contention(func: Callable[P, R]) -> Callable[P, R]:
    """Re-run ``func`` (a whole durable atomic block) on deadlock or serialization failure.

    Safe because the failed attempt rolled back entirely. After ``MAX_ATTEMPTS`` the caller
    gets 503 ``service_unavailable`` and nothing was changed.
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                return func(*args, **kwargs)
            except OperationalError as exc:
                if getattr(exc.__cause__, "sqlstate", None) not in RETRYABLE_SQLSTATES:
                    raise
                logger.warning("%s: contention (attempt %d/%d), retrying", func.__name__, attempt, MAX_ATTEMPTS)
                if attempt == MAX_ATTEMPTS:
                    raise ServiceUnavailable() from exc
                time.sleep(random.uniform(0, 0.005 * 2**attempt))  # noqa: S311 - jitter, not crypto
        raise AssertionError("unreachable")  # pragma: no cover

    return wrapper


def amount_validate(*, amount: object, currency: str, allow_negative: bool = False) -> Decimal:
    """The exact amount, or 400 on ``amount`` (digits, sign, NaN, exponent, maximum)."""
    try:
        return parse_amount(amount, currency, allow_negative=allow_negative)
    except AmountError as exc:
        raise InvalidAmount(str(exc)) from exc


def _require_provider_accepts(provider: PaymentProvider, *, amount: Decimal, currency: str, purpose: str) -> None:
    """400 on ``amount`` when the payment provider cannot move it (before anything is written)."""
    problem = provider.amount_problem(amount=amount, currency=currency, purpose=purpose)
    if problem:
        raise InvalidAmount(problem)


def _require_own_bank_account(*, user: User, bank_account_id: str, currency: str) -> None:
    """The payout target is one of the user's active bank accounts in ``currency`` (else 400/404)."""
    from payments.selectors import bank_account_get  # payments depends on ledger; import at use

    try:
        account_id = uuid.UUID(str(bank_account_id))
    except ValueError as exc:
        raise InvalidBankAccount("Not a valid bank account id.") from exc
    account = bank_account_get(owner=user, bank_account_id=account_id)
    if account.currency != currency:
        raise InvalidBankAccount(f"This bank account is in {account.currency}, not {currency}.")


def _require_verified_email(user: User) -> None:
    if settings.WALLET_REQUIRE_VERIFIED_EMAIL and not user.is_email_verified:
        raise EmailNotVerified()


def _require_staff(user: User) -> None:
    if not user.has_role_at_least(Role.STAFF):
        raise LedgerPermissionDenied()


def require_not_wallet_owner(*, user: User | None, wallet: Wallet, detail: str | None = None) -> None:
    """No self-dealing: staff never credit back-office money to a wallet they own (403)."""
    if user is not None and wallet.user_id is not None and wallet.user_id == user.pk:
        raise SelfDealing(detail)


def _daily_limit(user: User) -> Decimal | None:
    limit = settings.WALLET_DAILY_OUTGOING_LIMITS.get(user.role)
    return None if limit in (None, "") else Decimal(str(limit))


def _charge_daily_outgoing(*, wallet: Wallet, owner: User, amount: Decimal, today: date) -> None:
    """Count ``amount`` against the owner's daily outgoing limit. Call with ``wallet`` locked."""
    spent = wallet.outgoing_today if wallet.outgoing_day == today else ZERO
    limit = _daily_limit(owner)
    if limit is not None and spent + amount > limit:
        raise LimitExceeded(f"This would exceed your daily outgoing limit of {limit} {wallet.currency}.")
    wallet.outgoing_day = today
    wallet.outgoing_today = spent + amount


def _require_active(*wallets: Wallet) -> None:
    for wallet in wallets:
        if wallet.status == WalletStatus.FROZEN:
            raise WalletFrozen()


def _require_available(wallet: Wallet, amount: Decimal) -> None:
    """User wallets may not go below zero available; system accounts may go negative."""
    if wallet.kind == WalletKind.USER and wallet.available < amount:
        raise InsufficientFunds()


def _post_entries(*, txn: LedgerTransaction, debit: Wallet, credit: Wallet, now: datetime) -> None:
    """Write the two legs of ``txn`` (one INSERT) and apply them to the locked wallet objects.

    Keeps: entries net to zero; each entry's ``balance_after`` is its wallet's new balance.
    The caller saves the wallets (``_save_wallets``) in the same atomic block.
    """
    debit.balance -= txn.amount
    credit.balance += txn.amount
    debit.updated_at = credit.updated_at = now
    LedgerEntry.objects.bulk_create(
        [
            LedgerEntry(
                transaction=txn,
                wallet=debit,
                direction=Direction.DEBIT,
                amount=txn.amount,
                currency=txn.currency,
                balance_after=debit.balance,
                created_at=now,
            ),
            LedgerEntry(
                transaction=txn,
                wallet=credit,
                direction=Direction.CREDIT,
                amount=txn.amount,
                currency=txn.currency,
                balance_after=credit.balance,
                created_at=now,
            ),
        ]
    )


_SAVE_WALLETS_SQL = """
    UPDATE wallets_wallet AS w
       SET balance = v.balance, held = v.held, outgoing_day = v.outgoing_day,
           outgoing_today = v.outgoing_today, updated_at = v.updated_at
      FROM (VALUES {rows}) AS v(id, balance, held, outgoing_day, outgoing_today, updated_at)
     WHERE w.id = v.id
"""
_SAVE_WALLETS_ROW = "(%s::bigint, %s::numeric, %s::numeric, %s::date, %s::numeric, %s::timestamptz)"


def _save_wallets(*wallets: Wallet) -> None:
    """One UPDATE for all changed (locked) wallets. Plain SQL: on the hot path, building
    ``bulk_update``'s CASE expressions costs more than the statement itself."""
    params: list[int | Decimal | date | datetime | None] = []
    for wallet in wallets:
        params += [
            wallet.pk,
            wallet.balance,
            wallet.held,
            wallet.outgoing_day,
            wallet.outgoing_today,
            wallet.updated_at,
        ]
    sql = _SAVE_WALLETS_SQL.format(rows=", ".join([_SAVE_WALLETS_ROW] * len(wallets)))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


_POST_NEW_SQL = """
    WITH txn AS (
        INSERT INTO ledger_ledgertransaction
            (public_id, type, status, currency, amount, debit_wallet_id, credit_wallet_id, description,
             reference, metadata, initiated_by_id, reverses_id, created_at, posted_at, finalized_at)
        VALUES (%(public_id)s, %(type)s, 'posted', %(currency)s, %(amount)s, %(debit)s, %(credit)s,
                %(description)s, '', '{}'::jsonb, %(initiated_by)s, %(reverses)s, %(now)s, %(now)s, %(now)s)
        RETURNING id
    ), legs AS (
        INSERT INTO ledger_ledgerentry
            (transaction_id, wallet_id, direction, amount, currency, balance_after, created_at)
        SELECT txn.id, leg.wallet_id, leg.direction, %(amount)s, %(currency)s, leg.balance_after, %(now)s
          FROM txn, (VALUES (1, %(debit)s::bigint, 'debit', %(debit_after)s::numeric),
                            (2, %(credit)s::bigint, 'credit', %(credit_after)s::numeric))
                    AS leg(position, wallet_id, direction, balance_after)
         ORDER BY leg.position
    ), balances AS (
        UPDATE wallets_wallet AS w
           SET balance = v.balance, held = v.held, outgoing_day = v.outgoing_day,
               outgoing_today = v.outgoing_today, updated_at = %(now)s
          FROM (VALUES (%(debit)s::bigint, %(debit_after)s::numeric, %(debit_held)s::numeric,
                        %(debit_day)s::date, %(debit_out)s::numeric),
                       (%(credit)s::bigint, %(credit_after)s::numeric, %(credit_held)s::numeric,
                        %(credit_day)s::date, %(credit_out)s::numeric))
               AS v(id, balance, held, outgoing_day, outgoing_today)
         WHERE w.id = v.id
    ), idempotency AS (
        UPDATE ledger_idempotencykey
           SET transaction_id = (SELECT id FROM txn),
               response_status = %(response_status)s::smallint, response_body = %(response_body)s::text
         WHERE id = %(key_id)s AND transaction_id IS NULL AND locked_at = %(key_locked_at)s
        RETURNING id
    )
    SELECT id, (SELECT count(*) FROM idempotency) FROM txn
"""


def _post_new_transaction(
    *,
    type: TransactionType,
    amount: Decimal,
    debit: Wallet,
    credit: Wallet,
    now: datetime,
    initiated_by: User | None,
    description: str = "",
    reverses: LedgerTransaction | None = None,
    idempotency_key: IdempotencyKey | None = None,
    respond: Responder | None = None,
) -> LedgerTransaction:
    """Write a posted transaction, its debit/credit entries and both wallets' new balances in ONE
    statement (the hot path: one round trip instead of three, no ORM expression building), and
    bind the request's ``idempotency_key`` to it in that same statement (see
    ``_bind_idempotency_key``: only while the request still holds the claim, else 409 and the
    whole transaction rolls back). With ``respond``, the key also stores the response rendered
    from the transaction before it is written, so the response commits with the money (no
    separate write after the commit); ``idempotency_key.response_status/body`` then say so.

    Call with ``debit`` and ``credit`` locked and already checked. Keeps: the legs net to zero;
    each ``balance_after`` is the wallet's new balance; PostgreSQL re-checks all of it (CHECKs at
    once, the double-entry trigger at commit).
    """
    debit.balance -= amount
    credit.balance += amount
    debit.updated_at = credit.updated_at = now
    txn = LedgerTransaction(
        public_id=uuid.uuid4(),
        type=type,
        status=TransactionStatus.POSTED,
        currency=debit.currency,
        amount=amount,
        debit_wallet=debit,
        credit_wallet=credit,
        description=description,
        initiated_by=initiated_by,
        reverses=reverses,
        created_at=now,
        posted_at=now,
        finalized_at=now,
    )
    txn.leg_balances = {debit.pk: debit.balance, credit.pk: credit.balance}  # type: ignore[attr-defined]
    response_status, response_body = (
        respond(txn) if respond is not None and idempotency_key is not None else (None, None)
    )
    params = {
        "public_id": txn.public_id,
        "type": type,
        "currency": txn.currency,
        "amount": amount,
        "debit": debit.pk,
        "credit": credit.pk,
        "description": description,
        "initiated_by": initiated_by.pk if initiated_by is not None else None,
        "reverses": reverses.pk if reverses is not None else None,
        "now": now,
        "debit_after": debit.balance,
        "credit_after": credit.balance,
        "debit_held": debit.held,
        "credit_held": credit.held,
        "debit_day": debit.outgoing_day,
        "credit_day": credit.outgoing_day,
        "debit_out": debit.outgoing_today,
        "credit_out": credit.outgoing_today,
        "key_id": idempotency_key.pk if idempotency_key is not None else None,
        "key_locked_at": idempotency_key.locked_at if idempotency_key is not None else None,
        "response_status": response_status,
        "response_body": response_body,
    }
    with hot_path_cursor() as cursor:
        cursor.execute(_POST_NEW_SQL, params)
        txn.pk, keys_bound = cursor.fetchone()
    if idempotency_key is not None:
        if not keys_bound:
            raise IdempotencyKeyInUse()  # a stale claim was taken over meanwhile: roll back
        idempotency_key.transaction = txn
        idempotency_key.response_status, idempotency_key.response_body = response_status, response_body
    txn._state.adding = False
    txn._state.db = connection.alias
    return txn


def _bind_idempotency_key(key: IdempotencyKey | None, txn: LedgerTransaction) -> None:
    """Link the request's key to its transaction in the same commit as the money. Only the
    request that still holds the claim may bind it: if a stale claim was taken over meanwhile,
    this raises 409 and the whole money transaction rolls back (never twice for one key)."""
    if key is None:
        return
    bound = IdempotencyKey.objects.filter(pk=key.pk, transaction__isnull=True, locked_at=key.locked_at).update(
        transaction=txn
    )
    if not bound:
        raise IdempotencyKeyInUse()
    key.transaction = txn


def _lock_transaction(pk: int) -> LedgerTransaction:
    """Lock one ledger transaction row; always AFTER its wallets (global order: wallets, then
    transactions)."""
    return LedgerTransaction.objects.select_for_update(of=("self",)).get(pk=pk)


# --- P2P transfer ----------------------------------------------------------------------------
def _recipient_resolve(identifier: str) -> User:
    """The active user whose username or email is ``identifier`` (case-insensitive). A username
    may contain "@", so when one user's username is another's email, the username wins."""
    folded = identifier.lower()
    matches = list(  # LOWER(...) = x uses the case-insensitive unique indexes of accounts_user
        User.objects.alias(username_lower=Lower("username"), email_lower=Lower("email"))
        .filter(Q(username_lower=folded) | Q(email_lower=folded), is_active=True)
        .only("pk", "username", "email")[:2]
    )
    if not matches:
        raise RecipientNotFound()
    return min(matches, key=lambda user: user.username.lower() != folded)


def transfer_create(
    *,
    sender: User,
    recipient: str,
    currency: str,
    amount: Decimal,
    description: str = "",
    idempotency_key: IdempotencyKey | None = None,
    respond: Responder | None = None,
) -> LedgerTransaction:
    """Move ``amount`` from the sender's wallet to the recipient's wallet in ``currency``.

    Keeps: the sender's available balance never drops below zero; both wallets are active;
    the sender's daily outgoing limit holds; one posted transaction with a balanced
    debit/credit pair. ``recipient`` is a username or an email address. ``respond`` renders the
    response stored with ``idempotency_key`` in the same commit (see ``_post_new_transaction``).
    """
    currency = currency_validate(currency=currency)
    amount = amount_validate(amount=amount, currency=currency)
    identifier = identifier_normalize(recipient)
    if not identifier_is_unambiguous(identifier):
        raise RecipientNotFound("No user can be named like this: it mixes alphabets.")
    if identifier.lower() in (sender.username.lower(), sender.email.lower()):
        raise SelfTransfer()
    _require_verified_email(sender)
    return _transfer_post(
        sender=sender,
        identifier=identifier,
        currency=currency,
        amount=amount,
        description=description.strip()[:255],
        idempotency_key=idempotency_key,
        respond=respond,
    )


def _transfer_refusal(
    *, sender: User, identifier: str, source: Wallet | None
) -> SelfTransfer | WalletNotFound | CurrencyMismatch:
    """Why the ordered lock query found no recipient wallet (error path only; the same order of
    checks as a lookup before the lock: unknown recipient, oneself, own wallet, then currency)."""
    recipient = _recipient_resolve(identifier)
    if recipient.pk == sender.pk:
        return SelfTransfer()
    if source is None:
        return WalletNotFound()
    return CurrencyMismatch()


@retry_on_contention
def _transfer_post(
    *,
    sender: User,
    identifier: str,
    currency: str,
    amount: Decimal,
    description: str,
    idempotency_key: IdempotencyKey | None,
    respond: Responder | None,
) -> LedgerTransaction:
    with transaction.atomic(durable=True):
        # ONE ordered SELECT ... FOR UPDATE resolves the recipient and finds and locks both wallets.
        locked = transfer_wallets_lock(sender_id=sender.pk, recipient=identifier, currency=currency)
        source = next((row.wallet for row in locked if row.wallet.user_id == sender.pk), None)
        other = next((row for row in locked if row.wallet.user_id != sender.pk), None)
        if other is None:
            raise _transfer_refusal(sender=sender, identifier=identifier, source=source)
        if source is None:
            raise WalletNotFound()
        target = other.wallet
        _require_active(source, target)
        _require_available(source, amount)
        now = timezone.now()
        _charge_daily_outgoing(wallet=source, owner=sender, amount=amount, today=now.date())
        # Rendering needs no extra queries: the recipient's name came with its wallet.
        source.user = sender
        target.user = User.from_db(
            connection.alias, ["id", "username", "email"], [target.user_id, other.username, other.email]
        )
        txn = _post_new_transaction(
            type=TransactionType.TRANSFER,
            amount=amount,
            debit=source,
            credit=target,
            now=now,
            initiated_by=sender,
            description=description,
            idempotency_key=idempotency_key,
            respond=respond,
        )
    return txn


# --- Deposit ---------------------------------------------------------------------------------
def deposit_create(
    *, user: User, currency: str, amount: Decimal, idempotency_key: IdempotencyKey | None = None
) -> tuple[LedgerTransaction, PaymentResult]:
    """Open a pending deposit, then ask the payment provider for the payment (outside any lock).

    The provider answers succeeded (sandbox: posted at once), pending (e.g. Stripe: the client
    completes the payment and a webhook calls ``deposit_settle``/``deposit_fail``) or failed.
    """
    currency = currency_validate(currency=currency)
    amount = amount_validate(amount=amount, currency=currency)
    provider = get_provider()
    _require_provider_accepts(provider, amount=amount, currency=currency, purpose="payment")
    clearing = system_wallet_get(code=SystemAccount.PROVIDER_CLEARING, currency=currency)
    txn = _deposit_open(user=user, currency=currency, amount=amount, clearing=clearing, idempotency_key=idempotency_key)
    try:
        result = provider.create_payment(
            transaction_id=txn.public_id, amount=amount, currency=currency, user_id=user.pk
        )
    except ProviderError as exc:
        logger.warning("deposit %s: provider %s unavailable", txn.public_id, provider.name)
        deposit_fail(transaction_id=txn.pk, reason="provider_unavailable")
        raise ProviderUnavailable() from exc
    if result.status == ProviderStatus.SUCCEEDED:
        txn = deposit_settle(transaction_id=txn.pk, reference=result.reference)
    elif result.status == ProviderStatus.FAILED:
        txn = deposit_fail(transaction_id=txn.pk, reason=result.failure_reason, reference=result.reference)
    else:
        txn = transaction_reference_set(transaction_id=txn.pk, reference=result.reference, provider=provider.name)
    return txn, result


@retry_on_contention
def _deposit_open(
    *, user: User, currency: str, amount: Decimal, clearing: Wallet, idempotency_key: IdempotencyKey | None
) -> LedgerTransaction:
    with transaction.atomic(durable=True):
        wallet = wallet_lock_queryset(condition=Q(kind=WalletKind.USER, user=user, currency=currency)).first()
        if wallet is None:
            raise WalletNotFound()
        _require_active(wallet)
        txn = LedgerTransaction.objects.create(
            type=TransactionType.DEPOSIT,
            status=TransactionStatus.PENDING,
            currency=currency,
            amount=amount,
            debit_wallet=clearing,
            credit_wallet=wallet,
            initiated_by=user,
            created_at=timezone.now(),
        )
        _bind_idempotency_key(idempotency_key, txn)
    return txn


def deposit_settle(*, transaction_id: int, reference: str = "") -> LedgerTransaction:
    """Post a pending deposit: clearing is debited, the user's wallet credited. Idempotent: an
    already posted deposit is returned unchanged; a voided/failed one is refused. Money already
    collected by the provider is credited even to a frozen wallet."""
    return _pending_post(transaction_id=transaction_id, txn_type=TransactionType.DEPOSIT, reference=reference)


def deposit_fail(*, transaction_id: int, reason: str = "", reference: str = "") -> LedgerTransaction:
    """Mark a pending deposit failed (the provider rejected it). No money moved."""
    return _pending_finalize(
        transaction_id=transaction_id,
        txn_type=TransactionType.DEPOSIT,
        status=TransactionStatus.FAILED,
        reason=reason,
        reference=reference,
    )


# --- Withdrawal (a hold, then post or void) --------------------------------------------------
def withdrawal_create(
    *,
    user: User,
    currency: str,
    amount: Decimal,
    bank_account_id: str | None = None,
    idempotency_key: IdempotencyKey | None = None,
) -> LedgerTransaction:
    """Hold ``amount`` on the user's wallet (available drops at once) and, after commit, ask the
    provider for the payout. Keeps: available >= 0; the daily outgoing limit holds."""
    currency = currency_validate(currency=currency)
    amount = amount_validate(amount=amount, currency=currency)
    _require_provider_accepts(get_provider(), amount=amount, currency=currency, purpose="payout")
    if bank_account_id:
        _require_own_bank_account(user=user, bank_account_id=bank_account_id, currency=currency)
    _require_verified_email(user)
    clearing = system_wallet_get(code=SystemAccount.PROVIDER_CLEARING, currency=currency)
    txn = _withdrawal_hold(
        user=user,
        currency=currency,
        amount=amount,
        clearing=clearing,
        bank_account_id=bank_account_id,
        idempotency_key=idempotency_key,
    )
    txn.refresh_from_db()  # the payout may have settled it already (sandbox, eager tasks)
    return txn


@retry_on_contention
def _withdrawal_hold(
    *,
    user: User,
    currency: str,
    amount: Decimal,
    clearing: Wallet,
    bank_account_id: str | None,
    idempotency_key: IdempotencyKey | None,
) -> LedgerTransaction:
    from ledger.tasks import withdrawal_payout_request

    with transaction.atomic(durable=True):
        wallet = wallet_lock_queryset(condition=Q(kind=WalletKind.USER, user=user, currency=currency)).first()
        if wallet is None:
            raise WalletNotFound()
        _require_active(wallet)
        _require_available(wallet, amount)
        now = timezone.now()
        _charge_daily_outgoing(wallet=wallet, owner=user, amount=amount, today=now.date())
        wallet.held += amount
        wallet.updated_at = now
        txn = LedgerTransaction.objects.create(
            type=TransactionType.WITHDRAWAL,
            status=TransactionStatus.PENDING,
            currency=currency,
            amount=amount,
            debit_wallet=wallet,
            credit_wallet=clearing,
            initiated_by=user,
            metadata={"bank_account_id": str(bank_account_id)} if bank_account_id else {},
            created_at=now,
        )
        _save_wallets(wallet)
        _bind_idempotency_key(idempotency_key, txn)
        txn_pk = txn.pk
        # robust: a broker hiccup is logged, never turns a committed hold into an error response;
        # the reconciliation job re-requests payouts of stale pending withdrawals.
        transaction.on_commit(lambda: withdrawal_payout_request.delay(txn_pk), robust=True)
    return txn


def withdrawal_post(*, transaction_id: int, reference: str = "") -> LedgerTransaction:
    """The payout was paid: release the hold and post (user debited, clearing credited).
    Idempotent for an already posted withdrawal."""
    return _pending_post(transaction_id=transaction_id, txn_type=TransactionType.WITHDRAWAL, reference=reference)


@retry_on_contention
def _pending_post(*, transaction_id: int, txn_type: TransactionType, reference: str) -> LedgerTransaction:
    """Post a pending deposit or withdrawal: write its entries, apply them to both wallets and,
    for a withdrawal, release the hold it took. Keeps: posted at most once (an already posted
    one is returned unchanged); voided/failed ones are refused; locks wallets before the row."""
    with transaction.atomic(durable=True):
        txn = LedgerTransaction.objects.get(pk=transaction_id, type=txn_type)
        locked = wallets_lock(ids=[txn.debit_wallet_id, txn.credit_wallet_id])
        txn = _lock_transaction(transaction_id)
        if txn.status == TransactionStatus.POSTED:
            return txn
        if txn.status != TransactionStatus.PENDING:
            raise InvalidTransactionState()
        debit, credit = locked[txn.debit_wallet_id], locked[txn.credit_wallet_id]
        now = timezone.now()
        if txn_type == TransactionType.WITHDRAWAL:
            debit.held -= txn.amount
        txn.status = TransactionStatus.POSTED
        txn.posted_at = txn.finalized_at = now
        if reference:
            txn.reference = reference
        txn.save(update_fields=["status", "posted_at", "finalized_at", "reference"])
        _post_entries(txn=txn, debit=debit, credit=credit, now=now)
        _save_wallets(debit, credit)
    return txn


@retry_on_contention
def withdrawal_void(*, transaction_id: int, reason: str = "", reference: str = "") -> LedgerTransaction:
    """The payout failed: release the hold (and the daily limit it used). No money moved.
    Idempotent for an already voided withdrawal."""
    with transaction.atomic(durable=True):
        txn = LedgerTransaction.objects.get(pk=transaction_id, type=TransactionType.WITHDRAWAL)
        wallet = wallets_lock(ids=[txn.debit_wallet_id])[txn.debit_wallet_id]
        txn = _lock_transaction(transaction_id)
        if txn.status == TransactionStatus.VOIDED:
            return txn
        if txn.status != TransactionStatus.PENDING:
            raise InvalidTransactionState()
        now = timezone.now()
        wallet.held -= txn.amount
        if wallet.outgoing_day == txn.created_at.date():
            wallet.outgoing_today = max(ZERO, wallet.outgoing_today - txn.amount)
        wallet.updated_at = now
        txn.status = TransactionStatus.VOIDED
        txn.finalized_at = now
        txn.metadata = {**txn.metadata, "void_reason": reason} if reason else txn.metadata
        if reference:
            txn.reference = reference
        txn.save(update_fields=["status", "finalized_at", "metadata", "reference"])
        _save_wallets(wallet)
    return txn


@retry_on_contention
def _pending_finalize(
    *, transaction_id: int, txn_type: TransactionType, status: TransactionStatus, reason: str, reference: str
) -> LedgerTransaction:
    with transaction.atomic(durable=True):
        txn = _lock_transaction(transaction_id)
        if txn.type != txn_type:
            raise InvalidTransactionState()
        if txn.status == status:
            return txn
        if txn.status != TransactionStatus.PENDING:
            raise InvalidTransactionState()
        txn.status = status
        txn.finalized_at = timezone.now()
        if reason:
            txn.metadata = {**txn.metadata, "failure_reason": reason}
        if reference:
            txn.reference = reference
        txn.save(update_fields=["status", "finalized_at", "metadata", "reference"])
    return txn


@transaction.atomic(durable=True)
def transaction_reference_set(*, transaction_id: int, reference: str, provider: str) -> LedgerTransaction:
    """Record the provider's id of the payment/payout of a still pending transaction."""
    txn = _lock_transaction(transaction_id)
    if txn.status != TransactionStatus.PENDING:
        return txn
    txn.reference = reference
    txn.metadata = {**txn.metadata, "provider": provider}
    txn.save(update_fields=["reference", "metadata"])
    return txn


# --- Staff operations ------------------------------------------------------------------------
# Back-office money operations normally go through maker-checker (``ledger.approvals``), which
# posts with the ``*_write`` helpers below inside its own atomic block. ``adjustment_create`` and
# ``transaction_reverse`` post directly (operators' scripts, provider refunds); all are audited.
def adjustment_create(*, acting_user: User, wallet: Wallet, amount: Decimal, reason: str) -> LedgerTransaction:
    """Staff correction: a positive ``amount`` credits the wallet from equity, a negative one
    debits it to equity (never below zero available). Allowed on frozen wallets."""
    _require_staff(acting_user)
    amount = amount_validate(amount=amount, currency=wallet.currency, allow_negative=True)
    if not reason.strip():
        raise InvalidAmount("A reason is required for an adjustment.", attr="reason")
    equity = system_wallet_get(code=SystemAccount.EQUITY, currency=wallet.currency)
    return _adjustment_post(acting_user=acting_user, wallet=wallet, equity=equity, amount=amount, reason=reason)


@retry_on_contention
def _adjustment_post(
    *, acting_user: User, wallet: Wallet, equity: Wallet, amount: Decimal, reason: str
) -> LedgerTransaction:
    with transaction.atomic(durable=True):
        txn = adjustment_write(acting_user=acting_user, wallet=wallet, equity=equity, amount=amount, reason=reason)
        audit_record(
            actor=acting_user,
            action=AuditAction.ADJUSTMENT_POST,
            target=wallet,
            after={"transaction": str(txn.public_id), "amount": amount, "currency": txn.currency},
            reason=reason,
        )
    return txn


def adjustment_write(
    *, acting_user: User, wallet: Wallet, equity: Wallet, amount: Decimal, reason: str
) -> LedgerTransaction:
    """Post an adjustment of ``wallet`` against ``equity`` (``amount`` > 0 credits the wallet,
    < 0 debits it). Call inside an atomic block; locks both wallets (ascending pk) first.
    Keeps: a user wallet's available balance never drops below zero; ``acting_user`` never
    credits a wallet of their own."""
    if amount > 0:
        require_not_wallet_owner(user=acting_user, wallet=wallet)
    locked = wallets_lock(ids=[wallet.pk, equity.pk])
    target, source = locked[wallet.pk], locked[equity.pk]
    debit, credit = (source, target) if amount > 0 else (target, source)
    _require_available(debit, abs(amount))
    return _post_new_transaction(
        type=TransactionType.ADJUSTMENT,
        amount=abs(amount),
        debit=debit,
        credit=credit,
        now=timezone.now(),
        initiated_by=acting_user,
        description=reason.strip()[:255],
    )


def transaction_reverse(*, acting_user: User | None, transaction_id: int, reason: str = "") -> LedgerTransaction:
    """Undo a posted transaction with an opposite one (never by editing it). Once only: the
    database's unique ``reverses`` link backs the check made under the wallets' locks.

    ``acting_user`` must be staff or heavier; ``None`` means the system itself (a payment
    provider's event, e.g. a refund), never an HTTP caller. The wallet it debits must cover the
    amount (422 ``insufficient_funds`` otherwise)."""
    if acting_user is not None:
        _require_staff(acting_user)
    return _reversal_post(acting_user=acting_user, transaction_id=transaction_id, reason=reason)


@retry_on_contention
def _reversal_post(*, acting_user: User | None, transaction_id: int, reason: str) -> LedgerTransaction:
    with transaction.atomic(durable=True):
        txn = reversal_write(acting_user=acting_user, transaction_id=transaction_id, reason=reason)
        assert txn.reverses is not None
        audit_record(
            actor=acting_user,
            action=AuditAction.REVERSAL_POST,
            target=txn.reverses,
            after={"reversal": str(txn.public_id), "amount": txn.amount, "currency": txn.currency},
            reason=reason,
        )
    return txn


def reversal_write(*, acting_user: User | None, transaction_id: int, reason: str) -> LedgerTransaction:
    """Post the reversal of posted transaction ``transaction_id``. Call inside an atomic block;
    locks both wallets (ascending pk) before checking. Keeps: at most one reversal per
    transaction; the debited wallet's available balance never drops below zero; ``acting_user``
    never credits a wallet of their own (the reversal credits the original's debited wallet)."""
    original = LedgerTransaction.objects.get(pk=transaction_id)
    if original.status != TransactionStatus.POSTED or original.type == TransactionType.REVERSAL:
        raise InvalidTransactionState("Only a posted, non-reversal transaction can be reversed.")
    locked = wallets_lock(ids=[original.debit_wallet_id, original.credit_wallet_id])
    if LedgerTransaction.objects.filter(reverses=original).exists():
        raise AlreadyReversed()
    debit, credit = locked[original.credit_wallet_id], locked[original.debit_wallet_id]
    require_not_wallet_owner(
        user=acting_user, wallet=credit, detail="You cannot reverse a transaction into your own wallet."
    )
    _require_available(debit, original.amount)
    return _post_new_transaction(
        type=TransactionType.REVERSAL,
        amount=original.amount,
        debit=debit,
        credit=credit,
        now=timezone.now(),
        initiated_by=acting_user,
        description=(reason.strip() or f"Reversal of {original.public_id}")[:255],
        reverses=original,
    )


# --- Provider claw-backs (refunds, disputes) ---------------------------------------------------
@retry_on_contention
def deposit_clawback(
    *,
    transaction_id: int,
    amount: Decimal,
    reason: str,
    on_shortfall: Callable[[LedgerTransaction, LedgerTransaction], None] | None = None,
) -> tuple[LedgerTransaction, LedgerTransaction | None]:
    """The payment provider took back ``amount`` of a posted deposit (refund, dispute): book a
    reversal of it (user wallet debited, provider clearing credited). Returns (reversal, advance).

    If the wallet's available balance does not cover ``amount`` (the user already spent the
    money), the shortfall is first advanced from the receivable system account (an adjustment:
    receivable debited, wallet credited: what the user now owes), so no wallet goes below zero
    and every transaction balances; the wallet is then frozen until staff resolve it, and
    ``on_shortfall(reversal, advance)`` runs in the same atomic block (e.g. to record why).
    Once per deposit: the unique ``reverses`` link makes a second call raise AlreadyReversed.
    """
    original = LedgerTransaction.objects.get(pk=transaction_id)
    if original.type != TransactionType.DEPOSIT or original.status != TransactionStatus.POSTED:
        raise InvalidTransactionState("Only a posted deposit can be clawed back.")
    if not isinstance(amount, Decimal) or amount <= 0 or amount > original.amount:
        raise InvalidAmount("The claw-back must be positive and at most the deposit's amount.")
    amount = amount_validate(amount=amount, currency=original.currency)
    receivable = system_wallet_get(code=SystemAccount.RECEIVABLE, currency=original.currency)
    with transaction.atomic(durable=True):
        locked = wallets_lock(ids=[original.debit_wallet_id, original.credit_wallet_id, receivable.pk])
        if LedgerTransaction.objects.filter(reverses=original).exists():
            raise AlreadyReversed()
        wallet, clearing, owed = (
            locked[original.credit_wallet_id],
            locked[original.debit_wallet_id],
            locked[receivable.pk],
        )
        covered = min(amount, max(ZERO, wallet.available))
        shortfall = amount - covered
        now = timezone.now()
        label = (reason.strip() or "Provider claw-back")[:120]
        advance = None
        if shortfall > 0:
            advance = _post_new_transaction(
                type=TransactionType.ADJUSTMENT,
                amount=shortfall,
                debit=owed,
                credit=wallet,
                now=now,
                initiated_by=None,
                description=f"Receivable: unpaid part of {label} of deposit {original.public_id}"[:255],
            )
        reversal = _post_new_transaction(
            type=TransactionType.REVERSAL,
            amount=amount,
            debit=wallet,
            credit=clearing,
            now=now,
            initiated_by=None,
            description=f"{label} of deposit {original.public_id}"[:255],
            reverses=original,
        )
        if advance is not None:
            Wallet.objects.filter(pk=wallet.pk).update(status=WalletStatus.FROZEN)
            wallet.status = WalletStatus.FROZEN
            logger.warning(
                "deposit %s clawed back with a shortfall of %s %s: wallet %s frozen",
                original.public_id,
                shortfall,
                original.currency,
                wallet.public_id,
            )
            if on_shortfall is not None:
                on_shortfall(reversal, advance)
    return reversal, advance
