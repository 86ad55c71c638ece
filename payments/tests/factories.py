"""factory_boy factories for payments. Call ``BankAccountFactory.create()`` (typed) in tests."""

import factory
from factory.django import DjangoModelFactory

from accounts.tests.factories import UserFactory
from payments.models import BankAccount, ReconciliationIssue, ReconciliationIssueKind, StripeEvent, StripeEventStatus


class BankAccountFactory(DjangoModelFactory[BankAccount]):
    """Sensitive values are passed as plaintext properties; the model encrypts them."""

    class Meta:
        model = BankAccount

    owner = factory.SubFactory(UserFactory)
    account_holder_name = factory.Faker("name")
    bank_name = "Example Bank"
    account_number = factory.Sequence(lambda n: f"{900000000 + n:012d}")
    routing_number = "110000000"
    account_number_last4 = factory.LazyAttribute(lambda o: o.account_number[-4:])
    country = "US"
    currency = "USD"


class StripeEventFactory(DjangoModelFactory[StripeEvent]):
    class Meta:
        model = StripeEvent

    stripe_id = factory.Sequence(lambda n: f"evt_test_{n:08d}")
    type = "payment_intent.succeeded"
    payload = factory.LazyAttribute(lambda o: {"id": o.stripe_id, "object": "event", "type": o.type, "data": {}})
    status = StripeEventStatus.RECEIVED


class ReconciliationIssueFactory(DjangoModelFactory[ReconciliationIssue]):
    class Meta:
        model = ReconciliationIssue

    kind = ReconciliationIssueKind.AMOUNT_MISMATCH
    stripe_object_id = factory.Sequence(lambda n: f"pi_test_{n:08d}")
    detail = "Stripe payment_intent has amount_received=1; the ledger expects 10.00 USD."
