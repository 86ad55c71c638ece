"""The back-office's one way to show amounts and stored JSON."""

from __future__ import annotations

from decimal import Decimal

import pytest

from backoffice.display import money, money_with_currency, pretty_json, redacted


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        (Decimal("1.2600"), "USD", "1.26"),
        (Decimal("657.4600"), "USD", "657.46"),
        (Decimal("1500.0000"), "JPY", "1500"),
        (Decimal("1.2600"), "KWD", "1.260"),
        (Decimal("-0.5000"), "EUR", "-0.50"),
        (Decimal("0.0050"), "USD", "0.005"),  # more digits than the currency: shown, never rounded away
        (None, "USD", "-"),
    ],
)
def test_money_has_the_currencys_digits(amount: Decimal | None, currency: str, shown: str) -> None:
    assert money(amount, currency) == shown


def test_money_with_currency() -> None:
    assert money_with_currency(Decimal("7.2500"), "USD") == "7.25 USD"


def test_secrets_are_redacted_by_key_and_by_value_at_any_depth() -> None:
    # given a stored Stripe event with a client secret, and secrets in odd places
    payload = {
        "id": "evt_1",
        "data": {
            "object": {
                "id": "pi_3Abc",
                "client_secret": "pi_3Abc_secret_XyZ",
                "amount": 1260,
                "charges": [{"id": "ch_1", "payment_method_details": {"card": {"cvc_check": "pass"}}}],
            }
        },
        "headers": {"Authorization": "Bearer abc.def"},
        "api_key": "sk_test_123",
        "note": "retried with sk_live_456 and whsec_789 and pi_9_secret_Q",
    }
    # when
    shown = redacted(payload)
    # then
    obj = shown["data"]["object"]
    assert obj["client_secret"] == "[redacted]" and obj["id"] == "pi_3Abc" and obj["amount"] == 1260
    assert obj["charges"][0]["payment_method_details"]["card"]["cvc_check"] == "[redacted]"
    assert shown["headers"]["Authorization"] == "[redacted]" and shown["api_key"] == "[redacted]"
    assert shown["note"] == "retried with [redacted] and [redacted] and [redacted]"
    html = pretty_json(payload)
    for secret in ("pi_3Abc_secret_XyZ", "abc.def", "sk_test_123", "sk_live_456", "whsec_789", "pi_9_secret_Q"):
        assert secret not in html
    assert html.startswith("<pre>") and "pi_3Abc" in html
