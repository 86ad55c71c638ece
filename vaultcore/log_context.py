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


class ClientErrorFilter(logging.Filter):
    """Requests a client got wrong are warnings without a stack trace: Django logs suspicious
    requests (too many fields, a bad Host) at ERROR and refused ones with their traceback.
    Server errors keep their level and traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("django.security.") and record.levelno > logging.WARNING:
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        if record.name.startswith(("django.request", "django.security")) and record.levelno < logging.ERROR:
            record.exc_info, record.exc_text = None, None
        return True
