"""The payment provider boundary: how the ledger asks the outside world to move real money.

The ledger never calls a provider while it holds a row lock. Deposit: the ledger opens a
pending deposit, then (outside any transaction) asks the provider for a payment; the provider
answers ``succeeded`` (posted at once), ``pending`` (e.g. Stripe: a client secret for the
front-end; settled later by ``deposit_settle``/``deposit_fail`` from the webhook) or ``failed``.
Withdrawal: the ledger takes the hold and commits; after commit a task asks the provider for a
payout, settled by ``withdrawal_post``/``withdrawal_void`` (at once, or later from the webhook).
"""

from __future__ import annotations

import abc
import enum
import uuid
from dataclasses import dataclass
from decimal import Decimal


class ProviderStatus(enum.StrEnum):
    SUCCEEDED = "succeeded"
    PENDING = "pending"
    FAILED = "failed"


@dataclass(frozen=True)
class PaymentResult:
    """The provider's answer to a deposit request."""

    status: ProviderStatus
    reference: str
    # Handed to the client to complete the payment (Stripe PaymentIntent client secret).
    client_secret: str | None = None
    failure_reason: str = ""


@dataclass(frozen=True)
class PayoutResult:
    """The provider's answer to a payout request."""

    status: ProviderStatus
    reference: str
    failure_reason: str = ""


class ProviderError(Exception):
    """The provider could not be reached or refused the call; safe to retry with the same key."""


class PaymentProvider(abc.ABC):
    """A payment provider. Implementations must be idempotent on ``transaction_id`` (pass it
    to the provider as its idempotency key) so a retried call never charges or pays twice."""

    name: str

    def amount_problem(self, *, amount: Decimal, currency: str, purpose: str) -> str | None:
        """Why this provider cannot move ``amount`` (already valid for the currency), or None.

        Checked before anything is written, so a refused amount is a 400 that leaves no
        transaction behind. ``purpose`` is ``"payment"`` (deposit) or ``"payout"`` (withdrawal).
        """
        return None

    @abc.abstractmethod
    def create_payment(
        self, *, transaction_id: uuid.UUID, amount: Decimal, currency: str, user_id: int
    ) -> PaymentResult:
        """Start collecting ``amount`` from the user for a pending deposit."""

    @abc.abstractmethod
    def create_payout(
        self,
        *,
        transaction_id: uuid.UUID,
        amount: Decimal,
        currency: str,
        user_id: int,
        bank_account_id: str | None,
    ) -> PayoutResult:
        """Pay ``amount`` out to the user's bank account for a held withdrawal."""
