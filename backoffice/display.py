"""How every back-office page shows values: amounts with their currency's digits, stored JSON
with its secrets hidden. The admins, the dashboard and the templates (``|money``) use these and
nothing else, so one page cannot drift from another."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.utils.html import format_html
from django.utils.safestring import SafeString

from wallets.money import AmountError, CurrencyError, format_amount

REDACTED = "[redacted]"
# Keys whose value is a credential wherever they appear (a PaymentIntent's ``client_secret``,
# API keys, tokens, passwords, signatures).
_SECRET_KEY = re.compile(
    r"secret|token|passw|api[_-]?key|authoriz|signature|credential|private[_-]?key|cvc|cvv", re.IGNORECASE
)
# Values that are credentials whatever their key: Stripe secret/restricted keys, webhook
# secrets, client secrets (``pi_..._secret_...``), bearer tokens.
_SECRET_VALUE = re.compile(
    r"\b(?:[sr]k_(?:live|test)_\w+|whsec_\w+|\w+_secret_\w+|Bearer\s+[\w.~+/-]+=*)", re.IGNORECASE
)


def money(amount: Decimal | None, currency: str) -> str:
    """``amount`` with exactly ``currency``'s minor-unit digits (``1.26`` USD, ``1500`` JPY,
    ``1.260`` KWD), as the API writes it; ``-`` for no amount. An amount with more digits than
    its currency (never ledger data) keeps its significant digits rather than being rounded."""
    if amount is None:
        return "-"
    try:
        return format_amount(amount, currency)
    except (AmountError, CurrencyError):
        return format(amount.normalize(), "f")


def money_with_currency(amount: Decimal | None, currency: str) -> str:
    return f"{money(amount, currency)} {currency}"


def short_id(public_id: object) -> SafeString:
    """A public id's first 8 characters for a list's narrow column; the whole id in its tooltip
    (and on the object's page; searches take the whole id)."""
    text = str(public_id)
    return format_html('<span class="bo-id" title="{}">{}…</span>', text, text[:8])


def redacted(value: Any) -> Any:
    """``value`` with every item whose key names a secret, and every secret-looking string,
    replaced by ``[redacted]``, at any depth."""
    if isinstance(value, dict):
        return {k: REDACTED if _SECRET_KEY.search(str(k)) else redacted(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redacted(item) for item in value]
    if isinstance(value, str):
        return _SECRET_VALUE.sub(REDACTED, value)
    return value


def pretty_json(value: Any) -> SafeString:
    """Stored JSON (an event payload, a task's arguments, an audit snapshot) for an admin page,
    indented, with its secrets redacted."""
    return format_html("<pre>{}</pre>", json.dumps(redacted(value), indent=2, sort_keys=True, cls=DjangoJSONEncoder))


def redacted_text(value: str) -> str:
    """Free text (an error message) with secret-looking strings redacted."""
    return _SECRET_VALUE.sub(REDACTED, value)
