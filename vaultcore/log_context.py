"""Logging context: every log record carries the current request id, and no record carries a
usable secret from a URL (email-link tokens, JWTs, passwords in query strings)."""

from __future__ import annotations

import logging
import re
from contextvars import ContextVar

# ``name=value`` pairs whose value is a secret, as they appear in query strings and request lines.
_SECRET_PARAM = re.compile(r"(?i)(?<![\w-])((?:access_|refresh_)?token|refresh|access|password|secret)=[^&\s\"'#]*")
REDACTED = "[redacted]"

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")


class RequestIdFilter(logging.Filter):
    """Attach ``request_id`` to every record so both log formats can print it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


def redact_secrets(text: str) -> str:
    """``text`` with the value of every ``token=`` (and similar) parameter replaced."""
    return _SECRET_PARAM.sub(rf"\1={REDACTED}", text)


class RedactSecretsFilter(logging.Filter):
    """Redact secrets from the formatted message (runserver's request lines, anything else)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_secrets(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True
