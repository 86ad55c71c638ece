import uuid
from decimal import Decimal

import pytest
import stripe

from payments import stripe_client
from payments.exceptions import AmountNotRepresentable, StripeRequestRejected, StripeUnavailable
from payments.tests.stripe_standin import StripeStandIn


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        (Decimal("10.50"), "USD", 1050),
        (Decimal("0.01"), "EUR", 1),
        (Decimal("500"), "JPY", 500),
        (Decimal("1"), "KRW", 1),
        (Decimal("5.120"), "KWD", 5120),
        (Decimal("0.010"), "BHD", 10),
        (Decimal("40"), "ISK", 4000),
        (Decimal("12.34"), "HUF", 1234),
    ],
)
def test_to_stripe_amount_follows_stripes_currency_rules(amount: Decimal, currency: str, minor: int) -> None:
    assert stripe_client.to_stripe_amount(amount, currency) == minor
    assert stripe_client.from_stripe_amount(minor, currency) == amount


@pytest.mark.parametrize(
    ("amount", "currency", "purpose"),
    [
        (Decimal("10.505"), "USD", "payment"),  # more digits than USD has
        (Decimal("500.5"), "JPY", "payment"),  # zero-decimal
        (Decimal("5.125"), "KWD", "payment"),  # three-decimal: last digit must be 0
        (Decimal("40.10"), "ISK", "payment"),  # whole krónur only
        (Decimal("12.34"), "HUF", "payout"),  # HUF payouts in whole units
        (Decimal("0"), "USD", "payment"),
        (Decimal("-1"), "USD", "payment"),
        (Decimal("NaN"), "USD", "payment"),
    ],
)
def test_to_stripe_amount_refuses_instead_of_rounding(amount: Decimal, currency: str, purpose: str) -> None:
    with pytest.raises(AmountNotRepresentable):
        stripe_client.to_stripe_amount(amount, currency, purpose=purpose)  # type: ignore[arg-type]


def test_payment_intent_create_retrieve_cancel(stripe_standin: StripeStandIn) -> None:
    # given
    tx_id = uuid.uuid4()
    key = stripe_client.idempotency_key_for("deposit", tx_id)

    # when
    intent = stripe_client.create_payment_intent(
        amount=Decimal("10.50"), currency="USD", ledger_transaction_id=tx_id, idempotency_key=key
    )
    fetched = stripe_client.retrieve_payment_intent(intent.id)
    canceled = stripe_client.cancel_payment_intent(intent.id, idempotency_key=f"{key}:cancel")

    # then
    assert isinstance(intent, stripe.PaymentIntent)
    assert (intent.amount, intent.currency, intent.status) == (1050, "usd", "requires_payment_method")
    assert intent.metadata["ledger_transaction_id"] == str(tx_id)
    assert intent.client_secret is not None
    assert intent.client_secret.startswith(f"{intent.id}_secret_")
    assert fetched.id == intent.id
    assert canceled.status == "canceled"
    assert stripe_standin.calls("POST", "/v1/payment_intents")[0].idempotency_key == key


def test_same_idempotency_key_returns_the_same_payment_intent(stripe_standin: StripeStandIn) -> None:
    # given
    tx_id = uuid.uuid4()
    key = stripe_client.idempotency_key_for("deposit", tx_id)

    # when
    first = stripe_client.create_payment_intent(
        amount=Decimal("500"), currency="JPY", ledger_transaction_id=tx_id, idempotency_key=key
    )
    second = stripe_client.create_payment_intent(
        amount=Decimal("500"), currency="JPY", ledger_transaction_id=tx_id, idempotency_key=key
    )

    # then
    assert first.id == second.id
    assert first.amount == 500
    assert len(stripe_standin.payment_intents) == 1


def test_reusing_a_key_with_other_parameters_is_rejected(stripe_standin: StripeStandIn) -> None:
    # given
    tx_id = uuid.uuid4()
    key = stripe_client.idempotency_key_for("deposit", tx_id)
    stripe_client.create_payment_intent(
        amount=Decimal("1.00"), currency="USD", ledger_transaction_id=tx_id, idempotency_key=key
    )

    # when
    with pytest.raises(StripeRequestRejected) as excinfo:
        stripe_client.create_payment_intent(
            amount=Decimal("2.00"), currency="USD", ledger_transaction_id=tx_id, idempotency_key=key
        )

    # then
    assert excinfo.value.http_status == 400
    assert len(stripe_standin.payment_intents) == 1


def test_payout_timeout_is_retried_with_the_same_key_and_creates_exactly_one_payout(
    stripe_standin: StripeStandIn,
) -> None:
    # given: Stripe executes the request but the response never arrives in time
    stripe_standin.inject("timeout")
    withdrawal_id = uuid.uuid4()
    key = stripe_client.idempotency_key_for("withdrawal", withdrawal_id)

    # when
    payout = stripe_client.create_payout(
        amount=Decimal("25.00"), currency="USD", ledger_transaction_id=withdrawal_id, idempotency_key=key
    )

    # then
    assert len(stripe_standin.payouts) == 1
    assert payout.id in stripe_standin.payouts
    assert (payout.amount, payout.currency, payout.status) == (2500, "usd", "pending")
    attempts = stripe_standin.calls("POST", "/v1/payouts")
    assert len(attempts) == 2
    assert {a.idempotency_key for a in attempts} == {key}
    assert stripe_client.retrieve_payout(payout.id).id == payout.id


@pytest.mark.parametrize("fault", ["500", "429"])
def test_5xx_and_429_are_retried_then_succeed(stripe_standin: StripeStandIn, fault: str) -> None:
    # given
    stripe_standin.inject(fault, times=2)
    tx_id = uuid.uuid4()

    # when
    payout = stripe_client.create_payout(
        amount=Decimal("5.000"),
        currency="KWD",
        ledger_transaction_id=tx_id,
        idempotency_key=stripe_client.idempotency_key_for("withdrawal", tx_id),
    )

    # then
    assert payout.amount == 5000
    assert len(stripe_standin.payouts) == 1
    assert [c.status for c in stripe_standin.calls("POST", "/v1/payouts")] == [int(fault), int(fault), 200]


def test_persistent_outage_raises_provider_unavailable_after_all_retries(stripe_standin: StripeStandIn) -> None:
    # given: more failures than retries
    stripe_standin.inject("500", times=10)
    tx_id = uuid.uuid4()

    # when
    with pytest.raises(StripeUnavailable):
        stripe_client.create_payout(
            amount=Decimal("1.00"),
            currency="USD",
            ledger_transaction_id=tx_id,
            idempotency_key=stripe_client.idempotency_key_for("withdrawal", tx_id),
        )

    # then: 1 attempt + STRIPE_MAX_RETRIES (3) retries, nothing created
    assert len(stripe_standin.calls("POST", "/v1/payouts")) == 4
    assert stripe_standin.payouts == {}


def test_402_is_a_domain_error_without_retry(stripe_standin: StripeStandIn) -> None:
    # given
    stripe_standin.inject("402")
    tx_id = uuid.uuid4()

    # when
    with pytest.raises(StripeRequestRejected) as excinfo:
        stripe_client.create_payment_intent(
            amount=Decimal("1.00"),
            currency="USD",
            ledger_transaction_id=tx_id,
            idempotency_key=stripe_client.idempotency_key_for("deposit", tx_id),
        )

    # then
    assert excinfo.value.http_status == 402
    assert excinfo.value.stripe_code == "card_declined"
    assert excinfo.value.decline_code == "generic_decline"
    assert len(stripe_standin.calls("POST", "/v1/payment_intents")) == 1


def test_unknown_object_is_a_domain_error(stripe_standin: StripeStandIn) -> None:
    with pytest.raises(StripeRequestRejected) as excinfo:
        stripe_client.retrieve_payout("po_does_not_exist")
    assert excinfo.value.http_status == 404
    assert excinfo.value.stripe_code == "resource_missing"


def test_wrong_api_key_is_rejected(stripe_standin: StripeStandIn, settings: object) -> None:
    # given
    settings.STRIPE_SECRET_KEY = "sk_test_wrong"  # type: ignore[attr-defined]

    # when / then
    with pytest.raises(StripeRequestRejected) as excinfo:
        stripe_client.retrieve_payment_intent("pi_x")
    assert excinfo.value.http_status == 401


def test_refund_of_a_succeeded_payment_intent(stripe_standin: StripeStandIn) -> None:
    # given
    tx_id = uuid.uuid4()
    intent = stripe_client.create_payment_intent(
        amount=Decimal("10.00"),
        currency="USD",
        ledger_transaction_id=tx_id,
        idempotency_key=stripe_client.idempotency_key_for("deposit", tx_id),
    )
    stripe_standin.succeed_payment_intent(intent.id)
    key = stripe_client.idempotency_key_for("refund", tx_id)

    # when
    refund = stripe_client.create_refund(payment_intent_id=intent.id, idempotency_key=key)
    again = stripe_client.create_refund(payment_intent_id=intent.id, idempotency_key=key)

    # then
    assert (refund.amount, refund.status, refund.payment_intent) == (1000, "succeeded", intent.id)
    assert again.id == refund.id
    assert len(stripe_standin.refunds) == 1


def test_transfers_on_the_standin_through_the_sdk(stripe_standin: StripeStandIn) -> None:
    # given
    client = stripe.StripeClient(stripe_standin.api_key, base_addresses={"api": stripe_standin.url})

    # when
    transfer = client.v1.transfers.create(
        params={"amount": 700, "currency": "eur", "destination": "acct_123"}, options={"idempotency_key": "t-1"}
    )

    # then
    assert client.v1.transfers.retrieve(transfer.id).destination == "acct_123"
    assert transfer.amount == 700
