"""The money module: exact parsing, per-currency minor units, limits."""

from decimal import Decimal

import pytest
from pytest_django.fixtures import Settings

from wallets.money import AmountError, CurrencyError, format_amount, minor_units, parse_amount, validate_currency


@pytest.mark.parametrize(("currency", "digits"), [("USD", 2), ("EUR", 2), ("GBP", 2), ("JPY", 0), ("KWD", 3)])
def test_minor_units_come_from_cldr(currency: str, digits: int) -> None:
    assert minor_units(currency) == digits


@pytest.mark.parametrize(
    ("raw", "currency", "expected"),
    [
        ("10.50", "USD", Decimal("10.50")),
        ("10", "USD", Decimal("10.00")),
        (Decimal("0.01"), "USD", Decimal("0.01")),
        (7, "JPY", Decimal("7")),
        ("1.234", "KWD", Decimal("1.234")),
        ("1000000", "USD", Decimal("1000000.00")),
    ],
)
def test_parse_amount_accepts_exact_values(raw: object, currency: str, expected: Decimal) -> None:
    # when
    amount = parse_amount(raw, currency)
    # then
    assert amount == expected
    assert amount.as_tuple().exponent == -minor_units(currency)


@pytest.mark.parametrize(
    ("raw", "currency"),
    [
        ("10.001", "USD"),  # more digits than the currency allows
        ("1.5", "JPY"),
        ("1.2345", "KWD"),
        ("0", "USD"),
        ("0.00", "USD"),
        ("-5", "USD"),
        ("NaN", "USD"),
        ("Infinity", "USD"),
        (Decimal("NaN"), "USD"),
        (Decimal("Infinity"), "USD"),
        ("1e3", "USD"),
        (Decimal("1E+3"), "USD"),
        ("1000000.01", "USD"),
        ("abc", "USD"),
        (" 10", "USD"),
        ("", "USD"),
        (10.5, "USD"),  # a binary float is never accepted
        (True, "USD"),
        (None, "USD"),
        ("9" * 50, "USD"),
        ("\uff11", "USD"),  # fullwidth 1: Decimal() reads it, the contract does not
        ("\u0661\u0660", "USD"),  # Arabic-Indic 10
        ("1\u0660.00", "USD"),  # mixed scripts
        ("0.0\u0661", "USD"),  # a non-ASCII digit in the fraction
        ("0.01\n", "USD"),  # ``$`` alone would match before this newline
        ("10\n", "JPY"),
    ],
)
def test_parse_amount_rejects_anything_that_needs_rounding_or_is_not_plain(raw: object, currency: str) -> None:
    with pytest.raises(AmountError):
        parse_amount(raw, currency)


def test_max_amount_is_configurable_per_currency(settings: Settings) -> None:
    # given
    settings.MAX_TRANSACTION_AMOUNTS = {"JPY": "100000000"}
    # when / then
    assert parse_amount("50000000", "JPY") == Decimal("50000000")
    with pytest.raises(AmountError):
        parse_amount("1000001", "USD")


def test_negative_amounts_only_when_allowed() -> None:
    assert parse_amount("-5.25", "USD", allow_negative=True) == Decimal("-5.25")


def test_format_amount_renders_exactly_the_minor_units() -> None:
    assert format_amount(Decimal("10.5000"), "USD") == "10.50"
    assert format_amount(Decimal("7.0000"), "JPY") == "7"
    assert format_amount(Decimal("1.2340"), "KWD") == "1.234"
    assert format_amount(Decimal("0"), "USD") == "0.00"


def test_validate_currency_is_exact_and_enabled(settings: Settings) -> None:
    settings.WALLET_CURRENCIES = ["USD"]
    assert validate_currency("USD") == "USD"
    for bad in ("usd", "EUR", "XXX", "", None, 5):
        with pytest.raises(CurrencyError):
            validate_currency(bad)
