"""Celery tasks: the payout request and the idempotency-key cleanup."""

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.utils import timezone
from pytest_django.fixtures import Settings

from accounts.tests.factories import UserFactory
from ledger.models import IdempotencyKey, LedgerTransaction, TransactionStatus
from ledger.tasks import idempotency_keys_cleanup
from ledger.tests.factories import funded_wallet
from ledger.verification import ledger_verify
from payments import providers
from payments.providers.base import PayoutResult, ProviderError, ProviderStatus
from payments.providers.sandbox import SandboxProvider
from payments.tasks import withdrawal_payout_request
from payments.withdrawals import withdrawal_create
from wallets.models import Wallet

pytestmark = pytest.mark.django_db


class _Outcome:
    result: PayoutResult | Exception = PayoutResult(status=ProviderStatus.PENDING, reference="po_1")


class ScriptedProvider(SandboxProvider):
    name = "scripted"

    def create_payout(self, **kwargs: object) -> PayoutResult:
        if isinstance(_Outcome.result, Exception):
            raise _Outcome.result
        return _Outcome.result


@pytest.fixture
def scripted(settings: Settings) -> Iterator[None]:
    with mock.patch.dict(providers.PROVIDERS, {"scripted": f"{__name__}.ScriptedProvider"}):
        settings.PAYMENTS_PROVIDER = "scripted"
        yield


def _held_withdrawal() -> tuple[Wallet, LedgerTransaction]:
    wallet = funded_wallet(amount="50.00")
    assert wallet.user is not None
    return wallet, withdrawal_create(user=wallet.user, currency="USD", amount=Decimal("20.00"))


@pytest.mark.usefixtures("scripted")
@pytest.mark.parametrize(
    ("result", "status", "balance"),
    [
        (PayoutResult(status=ProviderStatus.SUCCEEDED, reference="po_ok"), TransactionStatus.POSTED, "30.00"),
        (PayoutResult(status=ProviderStatus.FAILED, reference="po_no", failure_reason="closed"), "voided", "50.00"),
        (PayoutResult(status=ProviderStatus.PENDING, reference="po_wait"), TransactionStatus.PENDING, "50.00"),
    ],
)
def test_payout_outcomes(result: PayoutResult, status: str, balance: str) -> None:
    # given
    wallet, txn = _held_withdrawal()
    _Outcome.result = result
    # when
    withdrawal_payout_request.apply(args=(txn.pk,))
    # then
    txn.refresh_from_db()
    wallet.refresh_from_db()
    assert txn.status == status
    assert txn.reference == result.reference
    assert wallet.balance == Decimal(balance)
    assert wallet.held == (Decimal("20.00") if status == TransactionStatus.PENDING else 0)
    assert ledger_verify().ok


@pytest.mark.usefixtures("scripted")
def test_payout_provider_outage_is_retried_and_changes_nothing() -> None:
    _, txn = _held_withdrawal()
    _Outcome.result = ProviderError("timeout")
    with (
        mock.patch.object(withdrawal_payout_request, "retry", side_effect=RuntimeError("retry scheduled")) as retry,
        pytest.raises(RuntimeError, match="retry scheduled"),
    ):
        withdrawal_payout_request.apply(args=(txn.pk,), throw=True)
    assert retry.called
    txn.refresh_from_db()
    assert txn.status == TransactionStatus.PENDING


@pytest.mark.usefixtures("scripted")
def test_payout_request_for_a_settled_withdrawal_does_nothing() -> None:
    _, txn = _held_withdrawal()
    _Outcome.result = PayoutResult(status=ProviderStatus.SUCCEEDED, reference="po_ok")
    withdrawal_payout_request.apply(args=(txn.pk,))
    assert withdrawal_payout_request.apply(args=(txn.pk,)).get() == "not-pending"


def test_cleanup_deletes_keys_older_than_the_ttl(settings: Settings) -> None:
    settings.IDEMPOTENCY_KEY_TTL_HOURS = 24
    user = UserFactory.create()
    now = timezone.now()
    old = IdempotencyKey.objects.create(user=user, key="old", operation="transfer", fingerprint="f", locked_at=now)
    IdempotencyKey.objects.create(user=user, key="new", operation="transfer", fingerprint="f", locked_at=now)
    IdempotencyKey.objects.filter(pk=old.pk).update(created_at=now - timedelta(hours=25))
    assert idempotency_keys_cleanup.apply().get() == 1
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["new"]


def test_cleanup_is_scheduled(settings: Settings) -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["ledger-idempotency-keys-cleanup"]
    assert entry["task"] == "ledger.tasks.idempotency_keys_cleanup"
