"""The project's thin Stripe client: the real ``stripe`` SDK, configured from settings.

- ``STRIPE_SECRET_KEY``, ``STRIPE_API_BASE`` (tests and staging point it at a stand-in),
  ``STRIPE_TIMEOUT`` (seconds per attempt), ``STRIPE_MAX_RETRIES``, ``STRIPE_RETRY_BACKOFF``.
- Every write carries a caller-chosen idempotency key, derived from our own row id (see
  :func:`idempotency_key_for`), never a random one: a retried call returns the object the first
  call created instead of creating a second one. Retries here resend the SAME key.
- Timeouts, connection errors, 5xx and 429 are retried with exponential backoff and jitter;
  after the last attempt :class:`StripeUnavailable` is raised (the caller may retry later with
  the same key). Any other 4xx raises :class:`StripeRequestRejected` at once.
- Amounts go in and out as ``Decimal`` in major units; :func:`to_stripe_amount` applies Stripe's
  rules for zero-, two- and three-decimal currencies and refuses anything that would need rounding.

Never call these functions while holding a database row lock.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Literal, TypeVar

import stripe
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from payments.exceptions import AmountNotRepresentable, StripeRequestRejected, StripeUnavailable

logger = logging.getLogger("payments.stripe")

T = TypeVar("T")

# https://docs.stripe.com/currencies#zero-decimal : amounts are whole units, not multiplied.
STRIPE_ZERO_DECIMAL = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"}
)
# https://docs.stripe.com/currencies#three-decimal : amounts in thousandths, and "to ensure
# compatibility with Stripe's payments partners" the last digit must be 0. Stripe tells
# integrations to round to the nearest ten; we never round, we refuse.
STRIPE_THREE_DECIMAL = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})
# https://docs.stripe.com/currencies#special-cases : ISK stays two-decimal in the API but
# amounts must be whole krónur; HUF and TWD payouts must be whole units.
STRIPE_WHOLE_UNITS_ALWAYS = frozenset({"ISK"})
STRIPE_WHOLE_UNITS_FOR_PAYOUTS = frozenset({"HUF", "TWD"})

Purpose = Literal["payment", "payout"]


def stripe_exponent(currency: str) -> int:
    """Digits Stripe's API puts after the decimal point for ``currency`` (0, 2 or 3)."""
    code = currency.upper()
    if code in STRIPE_ZERO_DECIMAL:
        return 0
    if code in STRIPE_THREE_DECIMAL:
        return 3
    return 2


def to_stripe_amount(amount: Decimal, currency: str, *, purpose: Purpose = "payment") -> int:
    """``amount`` (major units) as Stripe's integer ``amount``; raises AmountNotRepresentable.

    Examples: USD 10.50 -> 1050; JPY 500 -> 500; KWD 5.120 -> 5120 (5.125 is refused).
    """
    code = currency.upper()
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
        raise AmountNotRepresentable("Amount must be a positive Decimal.")
    exponent = stripe_exponent(code)
    scaled = amount.scaleb(exponent)
    if scaled != scaled.to_integral_value():
        raise AmountNotRepresentable(f"{amount} {code} has more decimal places than Stripe accepts ({exponent}).")
    minor = int(scaled)
    if code in STRIPE_THREE_DECIMAL and minor % 10:
        raise AmountNotRepresentable(f"Stripe needs {code} amounts whose last (third) decimal digit is 0.")
    whole_units = code in STRIPE_WHOLE_UNITS_ALWAYS or (purpose == "payout" and code in STRIPE_WHOLE_UNITS_FOR_PAYOUTS)
    if whole_units and minor % (10**exponent):
        raise AmountNotRepresentable(f"Stripe needs whole-unit {code} amounts for this operation.")
    return minor


def from_stripe_amount(minor: int, currency: str) -> Decimal:
    """Stripe's integer ``amount`` as a Decimal in major units (exact)."""
    return Decimal(int(minor)).scaleb(-stripe_exponent(currency))


def idempotency_key_for(operation: str, object_id: object) -> str:
    """The idempotency key of one operation on one of our rows, e.g. ``vaultcore:deposit:<uuid>``."""
    return f"vaultcore:{operation}:{object_id}"


def get_client() -> stripe.StripeClient:
    """A StripeClient built from settings. SDK-level retries are off: :func:`_call` retries."""
    if not settings.STRIPE_SECRET_KEY:
        raise ImproperlyConfigured("STRIPE_SECRET_KEY is not set; it is required to call Stripe.")
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY,
        base_addresses={"api": settings.STRIPE_API_BASE},
        http_client=stripe.RequestsClient(timeout=settings.STRIPE_TIMEOUT),
        max_network_retries=0,
    )


def _is_retryable(exc: stripe.StripeError) -> bool:
    if isinstance(exc, stripe.APIConnectionError | stripe.RateLimitError):
        return True
    status = exc.http_status or 0
    return status >= 500 or status in (409, 429)


def _backoff_seconds(attempt: int) -> float:
    """Exponential backoff with full jitter: up to base * 2**attempt seconds (capped at 30)."""
    base: float = settings.STRIPE_RETRY_BACKOFF
    return min(30.0, base * (2**attempt)) * (0.5 + random.random() / 2)  # noqa: S311 - jitter, not crypto


def _call(operation: str, idempotency_key: str | None, request: Callable[[], T]) -> T:
    """Run one Stripe request with retries (same idempotency key each time)."""
    max_retries: int = settings.STRIPE_MAX_RETRIES
    attempt = 0
    while True:
        try:
            return request()
        except stripe.StripeError as exc:
            if not _is_retryable(exc):
                logger.warning(
                    "stripe %s rejected: status=%s code=%s request_id=%s",
                    operation,
                    exc.http_status,
                    exc.code,
                    exc.request_id,
                )
                error = getattr(exc, "error", None)
                raise StripeRequestRejected(
                    f"Stripe rejected {operation}: {exc.user_message or exc.code or 'request refused'}",
                    http_status=exc.http_status,
                    stripe_code=exc.code,
                    decline_code=getattr(error, "decline_code", None) if error else None,
                ) from None
            if attempt >= max_retries:
                logger.warning(
                    "stripe %s unavailable after %d attempts: %s status=%s",
                    operation,
                    attempt + 1,
                    type(exc).__name__,
                    exc.http_status,
                )
                raise StripeUnavailable() from None
            delay = _backoff_seconds(attempt)
            logger.info(
                "stripe %s attempt %d failed (%s status=%s); retrying in %.2fs with the same idempotency key",
                operation,
                attempt + 1,
                type(exc).__name__,
                exc.http_status,
                delay,
            )
            attempt += 1
            time.sleep(delay)


def _options(idempotency_key: str) -> Any:
    return {"idempotency_key": idempotency_key}


def create_payment_intent(
    *,
    amount: Decimal,
    currency: str,
    ledger_transaction_id: object,
    idempotency_key: str,
    metadata: dict[str, str] | None = None,
) -> stripe.PaymentIntent:
    """Create a PaymentIntent for ``amount`` with our ledger transaction id in its metadata."""
    params: Any = {
        "amount": to_stripe_amount(amount, currency, purpose="payment"),
        "currency": currency.lower(),
        "metadata": {**(metadata or {}), "ledger_transaction_id": str(ledger_transaction_id)},
        "automatic_payment_methods": {"enabled": True},
    }
    client = get_client()
    return _call(
        "payment_intent.create",
        idempotency_key,
        lambda: client.v1.payment_intents.create(params=params, options=_options(idempotency_key)),
    )


def retrieve_payment_intent(payment_intent_id: str) -> stripe.PaymentIntent:
    client = get_client()
    return _call("payment_intent.retrieve", None, lambda: client.v1.payment_intents.retrieve(payment_intent_id))


def cancel_payment_intent(payment_intent_id: str, *, idempotency_key: str) -> stripe.PaymentIntent:
    client = get_client()
    return _call(
        "payment_intent.cancel",
        idempotency_key,
        lambda: client.v1.payment_intents.cancel(payment_intent_id, options=_options(idempotency_key)),
    )


def create_payout(
    *,
    amount: Decimal,
    currency: str,
    ledger_transaction_id: object,
    idempotency_key: str,
    destination: str | None = None,
    metadata: dict[str, str] | None = None,
) -> stripe.Payout:
    """Create a payout of ``amount`` (to ``destination``, a Stripe bank account id, if given)."""
    params: Any = {
        "amount": to_stripe_amount(amount, currency, purpose="payout"),
        "currency": currency.lower(),
        "metadata": {**(metadata or {}), "ledger_transaction_id": str(ledger_transaction_id)},
    }
    if destination:
        params["destination"] = destination
    client = get_client()
    return _call(
        "payout.create",
        idempotency_key,
        lambda: client.v1.payouts.create(params=params, options=_options(idempotency_key)),
    )


def retrieve_payout(payout_id: str) -> stripe.Payout:
    client = get_client()
    return _call("payout.retrieve", None, lambda: client.v1.payouts.retrieve(payout_id))


def create_refund(
    *,
    payment_intent_id: str,
    idempotency_key: str,
    amount: Decimal | None = None,
    currency: str | None = None,
    metadata: dict[str, str] | None = None,
) -> stripe.Refund:
    """Refund a PaymentIntent in full, or ``amount`` of it (then ``currency`` is required)."""
    params: Any = {"payment_intent": payment_intent_id, "metadata": metadata or {}}
    if amount is not None:
        if currency is None:
            raise ValueError("currency is required with amount")
        params["amount"] = to_stripe_amount(amount, currency, purpose="payment")
    client = get_client()
    return _call(
        "refund.create",
        idempotency_key,
        lambda: client.v1.refunds.create(params=params, options=_options(idempotency_key)),
    )
