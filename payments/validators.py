"""Input rules for bank details: normalisation and validation, with messages safe to show.

Messages never echo the submitted account or routing number.
"""

from __future__ import annotations

import re
from functools import lru_cache

from babel import Locale

# Not countries: CLDR's unknown/multi-country pseudo-territories.
_PSEUDO_TERRITORIES = frozenset({"ZZ", "EU", "EZ", "UN", "QO", "XA", "XB"})
_SEPARATORS = re.compile(r"[ \-]")
# ASCII only, used with fullmatch (``$`` would also match before a trailing newline).
_ACCOUNT_NUMBER = re.compile(r"[0-9]{4,17}")
_IBAN = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}")
_ABA_ROUTING_NUMBER = re.compile(r"[0-9]{9}")
_ROUTING_NUMBER = re.compile(r"[A-Z0-9]{4,11}")


class BankDetailsError(ValueError):
    """Invalid bank details; ``code`` is the error code, the message is safe to show."""

    def __init__(self, message: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.code = code


@lru_cache(maxsize=1)
def iso_countries() -> frozenset[str]:
    """ISO 3166-1 alpha-2 codes known to CLDR (via Babel)."""
    return frozenset(
        code
        for code in (str(c) for c in Locale("en").territories)
        if len(code) == 2 and code.isalpha() and code not in _PSEUDO_TERRITORIES
    )


def normalize_country(raw: str) -> str:
    code = raw.strip().upper()
    if code not in iso_countries():
        raise BankDetailsError('Enter an ISO 3166-1 alpha-2 country code, e.g. "US" or "DE".')
    return code


def _iban_checksum_ok(iban: str) -> bool:
    rearranged = iban[4:] + iban[:4]
    digits = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(digits) % 97 == 1


def normalize_account_number(raw: str) -> str:
    """4-17 digits (spaces/hyphens ignored), or an IBAN with a valid checksum."""
    value = _SEPARATORS.sub("", raw).upper()
    if _ACCOUNT_NUMBER.fullmatch(value):
        return value
    if _IBAN.fullmatch(value):
        if not _iban_checksum_ok(value):
            raise BankDetailsError("This IBAN's check digits are wrong.")
        return value
    raise BankDetailsError("Enter 4 to 17 digits, or an IBAN (spaces and hyphens are ignored).")


def _aba_checksum_ok(number: str) -> bool:
    weights = (3, 7, 1) * 3
    return sum(int(d) * w for d, w in zip(number, weights, strict=True)) % 10 == 0


def normalize_routing_number(raw: str, *, country: str | None) -> str:
    """US: a 9-digit ABA number with a valid checksum; elsewhere 4-11 letters/digits (sort code, BIC...)."""
    value = _SEPARATORS.sub("", raw).upper()
    if country == "US":
        if not (_ABA_ROUTING_NUMBER.fullmatch(value) and _aba_checksum_ok(value)):
            raise BankDetailsError("Enter a valid 9-digit US ABA routing number.")
        return value
    if not _ROUTING_NUMBER.fullmatch(value):
        raise BankDetailsError("Enter 4 to 11 letters or digits (sort code, BSB, BIC...).")
    return value


def account_number_last4(account_number: str) -> str:
    """The last four digits shown to people (for an IBAN, the last four digits of the number)."""
    digits = [ch for ch in account_number if ch in "0123456789"]
    return "".join(digits[-4:]).rjust(4, "0")
