"""Handlers of the Stripe events VaultCore acts on (registered on import, see ``apps.py``).

Each takes the stored, signature-verified event and hands its object to :mod:`payments.settlement`
(shared with reconciliation). They run outside any transaction under the event's lease and are
idempotent: a duplicate or replayed event changes nothing, and an object that does not match
the ledger is recorded as a reconciliation issue, never booked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from payments import settlement
from payments.exceptions import InvalidWebhookPayload
from payments.models import StripeEvent
from payments.stripe_events import stripe_event_handler


def _object(event: StripeEvent, expected: str) -> Mapping[str, Any]:
    data = event.payload.get("data") if isinstance(event.payload, Mapping) else None
    obj = data.get("object") if isinstance(data, Mapping) else None
    if not isinstance(obj, Mapping) or obj.get("object") != expected or not isinstance(obj.get("id"), str):
        raise InvalidWebhookPayload(f"Event {event.stripe_id} does not carry a {expected} object.")
    return obj


@stripe_event_handler("payment_intent.succeeded")
def payment_intent_succeeded(event: StripeEvent) -> str:
    return settlement.payment_intent_succeeded_apply(
        payment_intent=_object(event, "payment_intent"), event_id=event.stripe_id
    )


@stripe_event_handler("payment_intent.payment_failed")
def payment_intent_payment_failed(event: StripeEvent) -> str:
    return settlement.payment_intent_failed_apply(
        payment_intent=_object(event, "payment_intent"), event_id=event.stripe_id
    )


@stripe_event_handler("payment_intent.canceled")
def payment_intent_canceled(event: StripeEvent) -> str:
    return settlement.payment_intent_failed_apply(
        payment_intent=_object(event, "payment_intent"), event_id=event.stripe_id, canceled=True
    )


@stripe_event_handler("payout.paid", "payout.failed", "payout.canceled")
def payout_settled(event: StripeEvent) -> str:
    payout = dict(_object(event, "payout"))
    # The event type is authoritative for the outcome it reports (the object is a snapshot).
    payout["status"] = event.type.removeprefix("payout.")
    return settlement.payout_apply(payout=payout, event_id=event.stripe_id)


@stripe_event_handler("charge.refunded")
def charge_refunded(event: StripeEvent) -> str:
    charge = _object(event, "charge")
    return settlement.deposit_clawback_apply(
        payment_intent_id=str(charge.get("payment_intent") or ""),
        amount_minor=charge.get("amount_refunded"),
        currency=str(charge.get("currency") or ""),
        source=charge,
        reason="refund",
        event_id=event.stripe_id,
    )


@stripe_event_handler("charge.dispute.created", "charge.dispute.funds_withdrawn")
def charge_dispute(event: StripeEvent) -> str:
    """Stripe debits the disputed amount when the dispute opens (``funds_withdrawn`` follows);
    both events book the same single reversal."""
    dispute = _object(event, "dispute")
    return settlement.deposit_clawback_apply(
        payment_intent_id=str(dispute.get("payment_intent") or ""),
        amount_minor=dispute.get("amount"),
        currency=str(dispute.get("currency") or ""),
        source=dispute,
        reason="dispute",
        event_id=event.stripe_id,
    )


@stripe_event_handler("charge.dispute.funds_reinstated")
def charge_dispute_funds_reinstated(event: StripeEvent) -> str:
    return settlement.dispute_funds_reinstated_apply(dispute=_object(event, "dispute"), event_id=event.stripe_id)
