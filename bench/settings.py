"""Settings of the benchmark: the production settings, pointed at a scratch database.

The benchmark runner (``python -m bench``) sets a production-like environment first (DEBUG off,
a throw-away SECRET_KEY, throttling off, the sandbox provider allowed) and uses this module for
itself and for the gunicorn server it starts, so both see the same database and signing key.
Only the database NAME differs from ``vaultcore.settings``: the benchmark never touches the
developer's data.
"""

from vaultcore.settings import *  # noqa: F403
from vaultcore.settings import DATABASES, env

BENCH_DATABASE_NAME: str = env.str("BENCH_DATABASE_NAME", default="vaultcore_bench")
DATABASES["default"]["NAME"] = BENCH_DATABASE_NAME
