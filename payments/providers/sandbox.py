"""The sandbox provider (development and tests): deposits succeed and payouts are paid at once.

No network, no real money. It is the default only with DEBUG on; a production start-up with it
fails unless ALLOW_SANDBOX_PROVIDER=True (see the settings).
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from payments.providers.base import PaymentProvider, PaymentResult, PayoutResult, ProviderStatus


class SandboxProvider(PaymentProvider):
    name = "sandbox"

    def create_payment(
        self, *, transaction_id: uuid.UUID, amount: Decimal, currency: str, user_id: int
    ) -> PaymentResult:
        return PaymentResult(status=ProviderStatus.SUCCEEDED, reference=f"sandbox_pay_{transaction_id.hex}")

    def create_payout(
        self,
        *,
        transaction_id: uuid.UUID,
        amount: Decimal,
        currency: str,
        user_id: int,
        bank_account_id: str | None,
    ) -> PayoutResult:
        return PayoutResult(status=ProviderStatus.SUCCEEDED, reference=f"sandbox_po_{transaction_id.hex}")
