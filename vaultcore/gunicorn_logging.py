"""gunicorn's logger (``logger_class``): secrets redacted from access-log lines, and with
``LOG_FORMAT=json`` gunicorn's own lines and its access log in the app's JSON format, each access
line with the request id the app answered with (``X-Request-ID``)."""

from __future__ import annotations

import logging
import os
from typing import Any

from gunicorn.glogging import Logger

from vaultcore.log_context import RequestIdFilter, TraceIdFilter, json_formatter, redact_secrets

# The WSGI environ keys gunicorn's access-log atoms read URLs from.
_URL_KEYS = ("RAW_URI", "QUERY_STRING", "HTTP_REFERER")


def _json_enabled() -> bool:
    return os.environ.get("LOG_FORMAT", "plain") == "json"


def _response_header(resp: Any, name: str) -> str:
    for key, value in getattr(resp, "headers", None) or ():
        if key.lower() == name:
            return str(value)
    return "-"


class RedactingLogger(Logger):
    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        if not _json_enabled():
            return
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(json_formatter())
                if not any(isinstance(f, RequestIdFilter) for f in handler.filters):
                    handler.addFilter(RequestIdFilter())
                    handler.addFilter(TraceIdFilter())

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        """Log the request with ``token=`` (and similar) values replaced, in every URL field."""
        safe = dict(environ)
        for key in _URL_KEYS:
            if isinstance(safe.get(key), str):
                safe[key] = redact_secrets(safe[key])
        if not _json_enabled():
            super().access(resp, req, safe, request_time)
            return
        if not self.access_log_enabled:
            return
        atoms = self.atoms(resp, req, safe, request_time)
        fields = {
            "request_id": _response_header(resp, "x-request-id"),
            "remote_addr": atoms["h"],
            "method": atoms["m"],
            "path": safe.get("RAW_URI", "-"),
            "status": int(atoms["s"]) if str(atoms["s"]).isdigit() else atoms["s"],
            "bytes": atoms["B"] or 0,
            "duration_ms": round(request_time.total_seconds() * 1000, 3),
            "referer": atoms["f"],
            "user_agent": atoms["a"],
        }
        try:
            self.access_log.info('"%s" %s', atoms["r"], atoms["s"], extra=fields)
        except Exception:
            logging.getLogger("gunicorn.error").exception("access log failed")
