"""The Stripe provider (``PAYMENTS_PROVIDER=stripe``): PaymentIntents for deposits, Payouts for
withdrawals, through :mod:`payments.stripe_client` (the real SDK, retries with the same key).

- Deposit: a PaymentIntent for the amount in the currency's minor units, the ledger transaction's
  public id in its metadata, idempotency key ``vaultcore:deposit:<public id>`` (a retried call
  returns the same PaymentIntent). The answer is ``pending`` with the client secret; only a
  signed ``payment_intent.succeeded`` (or reconciliation) credits the wallet.
- Withdrawal: a Stripe Payout from the platform's Stripe balance, idempotency key
  ``vaultcore:payout:<public id>``. Destination: the Stripe external account recorded for the
  user's bank account (``BankAccount.stripe_external_account_id``), else the platform's default
  external account; the metadata names the withdrawal and the bank account id (never a number).
  The answer is ``pending`` (``payout.paid`` / ``payout.failed`` settle it).
- Timeouts, 5xx and 429 (after the client's own retries) raise :class:`ProviderError`: the
  caller retries later with the same key. Any other 4xx is a final ``failed`` with the reason.
"""

from __future__ import annotations

import logging
import uuid
from decimal import Decimal

import stripe

from ledger.models import LedgerTransaction
from payments import stripe_client
from payments.exceptions import AmountNotRepresentable, StripeRequestRejected, StripeUnavailable
from payments.models import BankAccount
from payments.providers.base import PaymentProvider, PaymentResult, PayoutResult, ProviderError, ProviderStatus

logger = logging.getLogger("payments.stripe")


def _rejection_reason(exc: StripeRequestRejected) -> str:
    parts = ["provider_rejected", str(exc.http_status or ""), exc.stripe_code or "", exc.decline_code or ""]
    return ":".join(p for p in parts if p)


class StripeProvider(PaymentProvider):
    name = "stripe"

    def amount_problem(self, *, amount: Decimal, currency: str, purpose: str) -> str | None:
        """Stripe refuses some amounts the currency allows (e.g. KWD 5.125: the third decimal
        must be 0; whole units for ISK, and for HUF/TWD payouts)."""
        try:
            stripe_client.to_stripe_amount(amount, currency, purpose="payout" if purpose == "payout" else "payment")
        except AmountNotRepresentable as exc:
            return str(exc)
        return None

    def create_payment(
        self, *, transaction_id: uuid.UUID, amount: Decimal, currency: str, user_id: int
    ) -> PaymentResult:
        try:
            intent = _payment_intent_create(
                transaction_id=transaction_id, amount=amount, currency=currency, user_id=user_id
            )
        except StripeUnavailable as exc:
            raise ProviderError("Stripe is unavailable") from exc
        except StripeRequestRejected as exc:
            return PaymentResult(status=ProviderStatus.FAILED, reference="", failure_reason=_rejection_reason(exc))
        except AmountNotRepresentable as exc:
            return PaymentResult(status=ProviderStatus.FAILED, reference="", failure_reason=f"invalid_amount: {exc}")
        if intent.status == "succeeded":
            # Never credited from the create call: only the signed webhook (or reconciliation,
            # which checks amount, currency and transaction) posts a Stripe deposit.
            logger.info("payment intent %s already succeeded; the webhook settles it", intent.id)
        if intent.status == "canceled":
            return PaymentResult(status=ProviderStatus.FAILED, reference=intent.id, failure_reason="canceled")
        return PaymentResult(status=ProviderStatus.PENDING, reference=intent.id, client_secret=intent.client_secret)

    def create_payout(
        self,
        *,
        transaction_id: uuid.UUID,
        amount: Decimal,
        currency: str,
        user_id: int,
        bank_account_id: str | None,
    ) -> PayoutResult:
        destination: str | None = None
        metadata = {"user_id": str(user_id)}
        if bank_account_id:
            account = _bank_account(bank_account_id=bank_account_id, user_id=user_id)
            if account is None:
                return PayoutResult(status=ProviderStatus.FAILED, reference="", failure_reason="bank_account_not_found")
            if account.currency != currency.upper():
                return PayoutResult(
                    status=ProviderStatus.FAILED, reference="", failure_reason="bank_account_currency_mismatch"
                )
            destination = account.stripe_external_account_id or None
            metadata["bank_account_id"] = str(account.pk)
        key = stripe_client.idempotency_key_for("payout", transaction_id)
        try:
            payout = stripe_client.create_payout(
                amount=amount,
                currency=currency,
                ledger_transaction_id=transaction_id,
                idempotency_key=key,
                destination=destination,
                metadata=metadata,
            )
        except StripeUnavailable as exc:
            raise ProviderError("Stripe is unavailable") from exc
        except StripeRequestRejected as exc:
            return PayoutResult(status=ProviderStatus.FAILED, reference="", failure_reason=_rejection_reason(exc))
        except AmountNotRepresentable as exc:
            return PayoutResult(status=ProviderStatus.FAILED, reference="", failure_reason=f"invalid_amount: {exc}")
        # Even an instant payout is only "paid" through the payout.paid event (or reconciliation).
        if payout.status in ("failed", "canceled"):
            return PayoutResult(
                status=ProviderStatus.FAILED,
                reference=payout.id,
                failure_reason=payout.failure_code or payout.status,
            )
        return PayoutResult(status=ProviderStatus.PENDING, reference=payout.id)

    @staticmethod
    def payment_intent_for(txn: LedgerTransaction) -> stripe.PaymentIntent:
        """The PaymentIntent of a deposit whose create call's answer was lost: the same key and
        parameters replay the original (Stripe keeps keys 24 h). Raises Stripe* errors."""
        return _payment_intent_create(
            transaction_id=txn.public_id, amount=txn.amount, currency=txn.currency, user_id=txn.initiated_by_id or 0
        )


def _payment_intent_create(
    *, transaction_id: uuid.UUID, amount: Decimal, currency: str, user_id: int
) -> stripe.PaymentIntent:
    return stripe_client.create_payment_intent(
        amount=amount,
        currency=currency,
        ledger_transaction_id=transaction_id,
        idempotency_key=stripe_client.idempotency_key_for("deposit", transaction_id),
        metadata={"user_id": str(user_id)},
    )


def _bank_account(*, bank_account_id: str, user_id: int) -> BankAccount | None:
    try:
        pk = uuid.UUID(str(bank_account_id))
    except ValueError:
        return None
    return BankAccount.objects.filter(pk=pk, owner_id=user_id, deleted_at__isnull=True).first()
