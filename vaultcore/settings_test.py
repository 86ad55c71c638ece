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
# Production start-up requires these with DEBUG off (PAYMENTS_PROVIDER defaults to stripe); fixed,
# test-only values. Stripe tests point the client at the local stand-in and sign webhooks with
# their own secret (payments/tests/conftest.py).
os.environ.setdefault("ENCRYPTION_KEYS", "test1:dmF1bHRjb3JlLXRlc3Qtb25seS1hZXMta2V5LTAwMDE=")
os.environ.setdefault("STRIPE_SECRET_KEY", "sk_test_vaultcore_tests_only")
os.environ.setdefault("WEBHOOK_ALLOWED_PRIVATE_NETWORKS", "127.0.0.0/8")
os.environ.setdefault("STRIPE_WEBHOOK_SECRET", "whsec_vaultcore_settings_test_only")

from vaultcore.settings import *  # noqa: F403
from vaultcore.settings import DATABASES, REDIS_URL, env

# A distinct test database name lets two suites share one server (TEST_DATABASE_NAME).
DATABASES["default"]["TEST"] = {"NAME": env.str("TEST_DATABASE_NAME", default="") or None}
# Argon2 is deliberately slow; tests that check hashing set PASSWORD_HASHERS themselves.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Deterministic tasks; the worker test starts a real Celery worker against Redis itself.
CELERY_TASK_ALWAYS_EAGER = True
if not REDIS_URL:
    # A per-process cache keeps the suite fast and its query counts free of cache queries. Only
    # here: test_settings proves production settings pick the database cache and that two server
    # processes share its throttle counts.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "vaultcore-test"}}
