"""Registry of Stripe event handlers, keyed by event type.

A handler takes the stored :class:`~payments.models.StripeEvent` and returns an optional note
for the event row; raising marks the event ``failed`` with the error kept (staff retry it from
the admin). :func:`payments.services.stripe_event_process` leases the event to one worker and
runs the handler OUTSIDE any transaction, so handlers call the ledger's top-level durable
services (``deposit_settle``, ``deposit_fail``, ``withdrawal_post``, ``withdrawal_void``,
``transaction_reverse``...) directly; never call Stripe while holding a row lock.

Handlers must be idempotent: a worker that dies after the handler's writes committed but before
the event was marked processed leaves the event to be run again when its lease expires, and
reconciliation may settle the same object through the same services. The ledger's settle/post/
void services already return an already-settled transaction unchanged.

Register next to this module, e.g. in ``payments/stripe_handlers.py``::

    @stripe_event_handler("payment_intent.succeeded")
    def payment_intent_succeeded(event: StripeEvent) -> str | None:
        ...

Handled types (``payments/stripe_handlers.py``, registered by ``PaymentsConfig.ready``):
``payment_intent.succeeded``, ``payment_intent.payment_failed``, ``payment_intent.canceled``,
``payout.paid``, ``payout.failed``, ``payout.canceled``, ``charge.refunded``,
``charge.dispute.created``, ``charge.dispute.funds_withdrawn``, ``charge.dispute.funds_reinstated``.
Every other type is marked processed with an "ignored" note.
"""

from __future__ import annotations

from collections.abc import Callable

from payments.models import StripeEvent

StripeEventHandler = Callable[[StripeEvent], str | None]

_HANDLERS: dict[str, StripeEventHandler] = {}


def stripe_event_handler(*event_types: str) -> Callable[[StripeEventHandler], StripeEventHandler]:
    """Register the decorated function for ``event_types`` (one handler per type)."""

    def register(handler: StripeEventHandler) -> StripeEventHandler:
        for event_type in event_types:
            existing = _HANDLERS.get(event_type)
            if existing is not None and existing is not handler:
                raise ValueError(f"A handler for Stripe event type {event_type!r} is already registered.")
            _HANDLERS[event_type] = handler
        return handler

    return register


def stripe_event_handler_for(event_type: str) -> StripeEventHandler | None:
    return _HANDLERS.get(event_type)


def registered_event_types() -> frozenset[str]:
    return frozenset(_HANDLERS)
