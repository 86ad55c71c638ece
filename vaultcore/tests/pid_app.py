"""A tiny WSGI app for tests that run gunicorn: answers every request with the serving pid (and
echoes ``X-Request-ID``, as the project's middleware does)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    body = str(os.getpid()).encode()
    headers = [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))]
    if environ.get("HTTP_X_REQUEST_ID"):
        headers.append(("X-Request-ID", environ["HTTP_X_REQUEST_ID"]))
    start_response("200 OK", headers)
    return [body]
