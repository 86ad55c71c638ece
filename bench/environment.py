"""The production-like environment shared by the benchmark process and the server it starts."""

from __future__ import annotations

import base64
import os
import secrets

SETTINGS_MODULE = "bench.settings"


def configure() -> dict[str, str]:
    """Set (without overriding what the caller exported) the variables of a production-like run
    and return the environment for child processes (gunicorn)."""
    defaults = {
        "DJANGO_SETTINGS_MODULE": SETTINGS_MODULE,
        "DEBUG": "False",
        "SECRET_KEY": "bench-" + secrets.token_urlsafe(48),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        # Embedded PostgreSQL when DATABASE_URL is unset (a fresh machine).
        "ALLOW_EMBEDDED_POSTGRES": "True",
        "PAYMENTS_PROVIDER": "sandbox",
        "ALLOW_SANDBOX_PROVIDER": "True",
        "THROTTLE_USER_RATE": "off",
        "THROTTLE_AUTH_RATE": "off",
        # TLS is terminated by a proxy in production; the load generator sends the proxy's header.
        "USE_X_FORWARDED_PROTO": "True",
        "JWT_ACCESS_TOKEN_LIFETIME": "7200",
        # Required with DEBUG off; a throw-away key ring (the benchmark stores no bank details).
        "ENCRYPTION_KEYS": "bench1:" + base64.b64encode(secrets.token_bytes(32)).decode(),
    }
    for name, value in defaults.items():
        os.environ.setdefault(name, value)
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS_MODULE
    return dict(os.environ)
