"""Money: the ONE place that knows currencies, minor units, limits and how amounts are parsed.

Amounts are ``Decimal`` everywhere, stored as ``NUMERIC(20,4)`` and always next to their
currency. Minor units come from Babel's CLDR data (``get_currency_precision``): USD 2, JPY 0,
KWD 3. Input that would need rounding is rejected, never rounded.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from babel.numbers import get_currency_precision
from django.conf import settings

# Database column shape for every money column.
MONEY_MAX_DIGITS = 20
MONEY_DECIMAL_PLACES = 4
ZERO = Decimal("0")

# Plain decimal notation only: no exponent, no sign other than a leading minus, no spaces.
# ASCII digits only (``\d`` also matches e.g. fullwidth and Arabic-Indic digits, which Decimal
# accepts) and used with ``fullmatch`` (``$`` would also match before a trailing newline).
_AMOUNT_RE = re.compile(r"-?(?P<int>[0-9]+)(?:\.(?P<frac>[0-9]+))?")
_MAX_AMOUNT_TEXT = 40


class AmountError(ValueError):
    """An amount that cannot be accepted as given; the message is safe to show."""


class CurrencyError(ValueError):
    """A currency code that is unknown or not enabled."""


def enabled_currencies() -> tuple[str, ...]:
    """The enabled ISO 4217 codes, upper case, in the order of ``WALLET_CURRENCIES``."""
    return tuple(settings.WALLET_CURRENCIES)


def validate_currency(code: object) -> str:
    """Return the enabled currency ``code`` or raise :class:`CurrencyError`."""
    if not isinstance(code, str) or code not in enabled_currencies():
        raise CurrencyError(f"Unsupported currency. Enabled: {', '.join(enabled_currencies())}.")
    return code


@lru_cache(maxsize=64)
def minor_units(currency: str) -> int:
    """Digits after the decimal point for ``currency`` (CLDR data, cached per process)."""
    precision = int(get_currency_precision(currency))
    if precision > MONEY_DECIMAL_PLACES:
        raise CurrencyError(f"{currency} needs {precision} decimal places; the ledger stores {MONEY_DECIMAL_PLACES}.")
    return precision


@lru_cache(maxsize=64)
def quantum(currency: str) -> Decimal:
    """The smallest unit of ``currency`` as a Decimal exponent, e.g. ``Decimal("0.01")``."""
    return Decimal(1).scaleb(-minor_units(currency))


def quantize(amount: Decimal, currency: str) -> Decimal:
    """``amount`` with exactly the currency's digits. Only for values already exact in them."""
    exact = amount.quantize(quantum(currency))
    if exact != amount:
        raise AmountError(f"{amount} has more decimal places than {currency} allows ({minor_units(currency)}).")
    return exact


def format_amount(amount: Decimal, currency: str) -> str:
    """The contract's rendering: a decimal string with exactly the currency's minor-unit digits."""
    return format(quantize(amount, currency), "f")


def max_transaction_amount(currency: str) -> Decimal:
    """``MAX_TRANSACTION_AMOUNT`` in major units, or the per-currency override."""
    per_currency: dict[str, str] = settings.MAX_TRANSACTION_AMOUNTS
    return Decimal(str(per_currency.get(currency, settings.MAX_TRANSACTION_AMOUNT)))


class Amount(Decimal):
    """An amount ``parse_amount`` accepted for ``currency``: services take it as is, so a request's
    amount is parsed once (by its serializer), not again by the service."""

    __slots__ = ("currency",)
    currency: str

    def __new__(cls, value: Decimal, currency: str) -> Amount:
        amount = super().__new__(cls, value)
        amount.currency = currency
        return amount

    def __reduce__(self) -> tuple[type[Amount], tuple[str, str]]:  # type: ignore[override]
        return (Amount, (str(self), self.currency))


def amount_checked(raw: object, currency: str, *, allow_negative: bool = False) -> Decimal:
    """``raw`` if ``parse_amount`` already accepted it for ``currency``, else ``parse_amount(raw)``."""
    if type(raw) is Amount and raw.currency == currency and (allow_negative or raw > ZERO):
        return raw
    return parse_amount(raw, currency, allow_negative=allow_negative)


def parse_amount(raw: object, currency: str, *, allow_negative: bool = False) -> Amount:
    """Parse a request amount exactly, or raise :class:`AmountError`.

    Accepts a decimal string or an exact JSON number (``Decimal``/``int``); rejects floats,
    booleans, NaN/Infinity, exponent notation, zero, negatives (unless ``allow_negative``, for
    staff adjustments), more fraction digits than the currency allows and anything above
    ``MAX_TRANSACTION_AMOUNT`` (in absolute value).
    """
    if isinstance(raw, (bool, float)) or raw is None:
        raise AmountError('Amount must be a decimal string or number, e.g. "10.50".')
    if isinstance(raw, int):
        text = str(raw)
    elif isinstance(raw, Decimal):
        if not raw.is_finite():
            raise AmountError("Amount must be a finite number.")
        text = str(raw)
    elif isinstance(raw, str):
        text = raw
    else:
        raise AmountError('Amount must be a decimal string or number, e.g. "10.50".')
    if len(text) > _MAX_AMOUNT_TEXT:
        raise AmountError("Amount has too many digits.")
    match = _AMOUNT_RE.fullmatch(text)
    if match is None:
        raise AmountError('Amount must be written in plain decimal notation, e.g. "10.50" (no exponent).')
    fraction = match.group("frac") or ""
    digits = minor_units(currency)
    if len(fraction) > digits:
        raise AmountError(f"Amount has more decimal places than {currency} allows ({digits}).")
    try:
        amount = Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only valid decimals
        raise AmountError("Amount is not a valid decimal.") from exc
    if amount == ZERO:
        raise AmountError("Amount must be greater than zero.")
    if amount < ZERO and not allow_negative:
        raise AmountError("Amount must be greater than zero.")
    limit = max_transaction_amount(currency)
    if abs(amount) > limit:
        raise AmountError(f"Amount exceeds the maximum of {format_amount(limit, currency)} {currency} per transaction.")
    return Amount(amount.quantize(quantum(currency)), currency)
