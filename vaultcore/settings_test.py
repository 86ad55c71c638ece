"""Test settings: the real settings, plus what only makes tests faster or deterministic.

Tests run with DEBUG off, like production; these defaults supply what a production start-up
requires so that the suite needs no environment of its own.
"""

import os

os.environ.setdefault("SECRET_KEY", "test-only-insecure-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
os.environ.setdefault("ALLOW_EMBEDDED_POSTGRES", "True")
os.environ.setdefault("SECURE_SSL_REDIRECT", "False")
os.environ.setdefault("CACHE_KEY_PREFIX", "vaultcore-test")

from vaultcore.settings import *  # noqa: F403
from vaultcore.settings import DATABASES, env

# A distinct test database name lets two suites share one server (TEST_DATABASE_NAME).
DATABASES["default"]["TEST"] = {"NAME": env.str("TEST_DATABASE_NAME", default="") or None}
# Argon2 is deliberately slow; tests that check hashing set PASSWORD_HASHERS themselves.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Deterministic tasks; the worker test starts a real Celery worker against Redis itself.
CELERY_TASK_ALWAYS_EAGER = True
