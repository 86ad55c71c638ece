"""Helpers of the Stripe flow tests: API clients, signed deliveries, ledger reads."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.test import Client
from rest_framework.test import APIClient

from accounts.models import User
from ledger.models import LedgerTransaction
from ledger.verification import ledger_verify
from payments.tests.signing import signed_delivery
from payments.tests.stripe_standin import StripeStandIn
from wallets.models import SystemAccount, Wallet

WEBHOOK_URL = "/api/v1/payments/stripe/webhook/"


def client_for(user: User) -> APIClient:
    client = APIClient()
    client.default_format = "json"
    client.force_authenticate(user)
    return client


def deliver(event: dict[str, Any]) -> int:
    """POST a correctly signed delivery of ``event`` to the webhook; return the status code."""
    response = Client().post(WEBHOOK_URL, **signed_delivery(event))
    return response.status_code


def wallet_of(user: User, currency: str = "USD") -> Wallet:
    return Wallet.objects.get(user=user, currency=currency)


def system(code: SystemAccount, currency: str = "USD") -> Wallet | None:
    return Wallet.objects.filter(system_code=code, currency=currency).first()


def assert_books_balance() -> None:
    report = ledger_verify()
    assert report.ok, report.discrepancies


def only_payment_intent(standin: StripeStandIn) -> dict[str, Any]:
    assert len(standin.payment_intents) == 1, standin.payment_intents
    return next(iter(standin.payment_intents.values()))


def credits_of(wallet: Wallet) -> int:
    return wallet.entries.filter(direction="credit").count()


def txn(public_id: str) -> LedgerTransaction:
    return LedgerTransaction.objects.get(public_id=public_id)


def money(value: str) -> Decimal:
    return Decimal(value)


def funded_user(settings: Any, amount: str = "100.00", currency: str = "USD") -> User:
    """A user whose wallet holds ``amount``, deposited through the sandbox provider; the
    provider is then switched back to Stripe."""
    from ledger.tests.factories import funded_wallet

    previous = settings.PAYMENTS_PROVIDER
    settings.PAYMENTS_PROVIDER = "sandbox"
    wallet = funded_wallet(amount=amount, currency=currency)
    settings.PAYMENTS_PROVIDER = previous
    assert wallet.user is not None
    return wallet.user
