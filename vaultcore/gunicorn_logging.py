"""gunicorn's logger, with secrets redacted from access-log lines (``logger_class``)."""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger

from vaultcore.log_context import redact_secrets

# The WSGI environ keys gunicorn's access-log atoms read URLs from.
_URL_KEYS = ("RAW_URI", "QUERY_STRING", "HTTP_REFERER")


class RedactingLogger(Logger):
    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        """Log the request with ``token=`` (and similar) values replaced, in every URL field."""
        safe = dict(environ)
        for key in _URL_KEYS:
            if isinstance(safe.get(key), str):
                safe[key] = redact_secrets(safe[key])
        super().access(resp, req, safe, request_time)
