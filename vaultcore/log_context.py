"""Logging context: every log record carries the current request id and a ``trace_id`` field,
and no record carries a usable secret from a URL (email-link tokens, JWTs, passwords in query
strings). One JSON format (``LOG_FORMAT=json``) serves the app, gunicorn (vaultcore.gunicorn_logging)
and Celery (vaultcore.celery)."""

from __future__ import annotations

import logging
import re
from contextvars import ContextVar

from vaultcore.tracing import current_trace_id

# ``name=value`` pairs whose value is a secret, as they appear in query strings and request lines.
_SECRET_PARAM = re.compile(r"(?i)(?<![\w-])((?:access_|refresh_)?token|refresh|access|password|secret)=[^&\s\"'#]*")
REDACTED = "[redacted]"

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")


# The fields of every JSON line, in order, and their names there.
JSON_FORMAT = "%(asctime)s %(levelname)s %(name)s %(request_id)s %(trace_id)s %(message)s"
JSON_RENAMES = {"asctime": "time", "levelname": "level", "name": "logger"}
# Record attributes never written as JSON fields: Django puts the request object on its request
# log records (``log_response``), whose text is the full URL with its query string.
JSON_EXCLUDED = ("request",)


def json_formatter() -> logging.Formatter:
    """The one JSON formatter (settings.LOGGING's ``json`` formatter builds the same)."""
    from pythonjsonlogger.core import RESERVED_ATTRS
    from pythonjsonlogger.json import JsonFormatter

    return JsonFormatter(JSON_FORMAT, rename_fields=JSON_RENAMES, reserved_attrs=[*RESERVED_ATTRS, *JSON_EXCLUDED])


class RequestIdFilter(logging.Filter):
    """Attach ``request_id`` to every record so both log formats can print it: one already on the
    record (gunicorn's access lines), else the current request's (or task's: vaultcore.celery),
    else the id of the request the record is about (Django logs 4xx/5xx responses after the
    middleware returned), else the id of the Celery task it is about, else ``-``."""

    def filter(self, record: logging.LogRecord) -> bool:
        current = getattr(record, "request_id", None)
        if not current or current == "-":
            current = request_id_var.get()
        if current == "-":
            current = getattr(getattr(record, "request", None), "request_id", "-")
        if current == "-" and record.name.startswith("celery."):
            # Celery's lines about a task outside its run ("received") carry the task in ``data``.
            data = getattr(record, "data", None)
            current = str(data.get("id") or "-") if isinstance(data, dict) else "-"
        record.request_id = current
        return True


class TraceIdFilter(logging.Filter):
    """Attach ``trace_id``: the id already on the record (``trace_id``, or OpenTelemetry's logging
    instrumentation's ``otelTraceID``), else the current span's (vaultcore/tracing.py), else empty."""

    def filter(self, record: logging.LogRecord) -> bool:
        trace_id = getattr(record, "trace_id", "") or getattr(record, "otelTraceID", "") or current_trace_id()
        record.trace_id = "" if trace_id in ("0", "-") else str(trace_id)
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
