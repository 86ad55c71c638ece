"""VaultCore settings: one module, every value read from the environment.

`env` is the only reader. Local defaults are safe for development; with ``DEBUG`` off the
production secrets have no default and start-up stops with a clear message when they are
missing. Every variable is listed, with a comment, in ``.env.example``.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
_env_file = BASE_DIR / ".env"
if _env_file.exists():
    env.read_env(str(_env_file), overwrite=False)

# --- Core ------------------------------------------------------------------------------------
DEBUG: bool = env.bool("DEBUG", default=False)


def _require(name: str, hint: str) -> str:
    """Return a production secret, or stop start-up with a message an operator can act on."""
    value = env.str(name, default="")
    if not value:
        raise ImproperlyConfigured(
            f"{name} is not set. It is required when DEBUG is off ({hint}). "
            f"Set it in the environment or in .env; see .env.example."
        )
    return value


if DEBUG:
    SECRET_KEY = env.str("SECRET_KEY", default="django-insecure-local-development-only-key-change-me")
else:
    SECRET_KEY = _require(
        "SECRET_KEY", "generate one with `python -c 'import secrets; print(secrets.token_urlsafe(64))'`"
    )

ALLOWED_HOSTS: list[str] = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "ALLOWED_HOSTS is not set. It is required when DEBUG is off "
        "(comma-separated host names this server answers for). See .env.example."
    )
CSRF_TRUSTED_ORIGINS: list[str] = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "backoffice.site.VaultAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "drf_standardized_errors",
    "vaultcore.apps.VaultCoreConfig",
    "outbox.apps.OutboxConfig",
    "accounts.apps.AccountsConfig",
    "events.apps.EventsConfig",
    "wallets.apps.WalletsConfig",
    "ledger.apps.LedgerConfig",
    "payments.apps.PaymentsConfig",
    "webhooks.apps.WebhooksConfig",
    "graphql_api.apps.GraphqlApiConfig",
]

# GraphQL schema introspection (graphql_api): on in DEBUG unless set.
GRAPHQL_INTROSPECTION: bool = env.bool("GRAPHQL_INTROSPECTION", default=DEBUG)

MIDDLEWARE = [
    # Outermost: counts and times every request by route and status (GET /metrics, vaultcore/metrics.py).
    "vaultcore.metrics.MetricsMiddleware",
    "vaultcore.middleware.RequestIdMiddleware",
    "vaultcore.middleware.ApiNoStoreMiddleware",
    "vaultcore.middleware.AllowedHostMiddleware",
    "vaultcore.middleware.JsonErrorMiddleware",
    "vaultcore.middleware.MalformedRequestMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "vaultcore.middleware.TrailingSlashMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "vaultcore.urls"
WSGI_APPLICATION = "vaultcore.wsgi.application"
ASGI_APPLICATION = "vaultcore.asgi.application"
# A missing slash is resolved in place by TrailingSlashMiddleware: never a redirect that drops
# a POST body.
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database: PostgreSQL only ---------------------------------------------------------------
# DATABASE_URL when set; otherwise an embedded PostgreSQL (pgserver) in .vaultcore/pgdata.
# SQLite is never used: money depends on row locks and database-enforced invariants.
DATABASE_URL: str = env.str("DATABASE_URL", default="")
EMBEDDED_POSTGRES_DIR = Path(env.str("EMBEDDED_POSTGRES_DIR", default=str(BASE_DIR / ".vaultcore" / "pgdata")))
if not DATABASE_URL and not DEBUG and not env.bool("ALLOW_EMBEDDED_POSTGRES", default=False):
    raise ImproperlyConfigured(
        "DATABASE_URL is not set. It is required when DEBUG is off (for example "
        "postgres://vaultcore:secret@db.internal:5432/vaultcore). The embedded PostgreSQL is for "
        "development; set ALLOW_EMBEDDED_POSTGRES=True to use it anyway."
    )

if DATABASE_URL:
    _db = env.db_url_config(DATABASE_URL)
    if _db["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured("DATABASE_URL must point at PostgreSQL (postgres://...).")
else:
    from vaultcore.embedded_postgres import embedded_database_config

    _db = embedded_database_config(EMBEDDED_POSTGRES_DIR)

_db["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
_db["CONN_HEALTH_CHECKS"] = True
_db.setdefault("OPTIONS", {})
_db["OPTIONS"].setdefault("connect_timeout", env.int("DB_CONNECT_TIMEOUT", default=5))
# Services open their own durable atomic blocks; request-wide transactions would nest them.
_db["ATOMIC_REQUESTS"] = False
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Parameters bound server-side; the request hot path's statements prepared once per connection
# (vaultcore/db.py). False behind PgBouncer < 1.21 in transaction pooling mode.
DB_PREPARED_STATEMENTS: bool = env.bool("DB_PREPARED_STATEMENTS", default=True)
if DB_PREPARED_STATEMENTS:
    DATABASES["default"]["OPTIONS"].setdefault("server_side_binding", True)
    # psycopg prepares nothing while this is None (Django's default); a count no query reaches
    # leaves preparing to hot_path_cursor.
    DATABASES["default"]["OPTIONS"].setdefault("prepare_threshold", 2**31 - 1)

# --- Cache, broker, Celery -------------------------------------------------------------------
REDIS_URL: str = env.str("REDIS_URL", default="")
# The cache holds the throttle counters, so it must be shared by every worker process: Redis, or
# without it the database cache (table created by migration vaultcore/0001). Never a per-process
# cache, with which N workers would allow N times each limit.
DATABASE_CACHE_TABLE = "vaultcore_cache"
if REDIS_URL:
    CACHES = {
        "default": {
            # Django's backends, counted for /metrics (vaultcore/cache.py).
            "BACKEND": "vaultcore.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="vaultcore"),
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "vaultcore.cache.DatabaseCache",
            "LOCATION": DATABASE_CACHE_TABLE,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="vaultcore"),
            # Culling drops expired entries first; live counters only beyond this many keys.
            "OPTIONS": {"MAX_ENTRIES": 20_000},
        }
    }

CELERY_BROKER_URL = REDIS_URL or "memory://"
# Every task is fire and forget: nothing waits for a result, so no result backend (publishing a
# task that keeps its result subscribes to the backend first: ~19 s of retries with Redis down).
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
# Without a broker, tasks run in-process (VaultCoreConfig.ready logs this once at start-up).
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=300)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=240)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A publish to an unreachable broker gives up fast (one quick retry) and never blocks a request:
# side effects go through the outbox, which keeps the row and relays it once the broker is back.
CELERY_BROKER_CONNECTION_TIMEOUT = 0.5
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 0.5, "socket_timeout": 5}
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.1, "interval_max": 0.1}
CELERY_TIMEZONE = "UTC"
# Periodic jobs; each app's section below adds its entries.
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {}

# --- Outbox (side effects written with their change, relayed to Celery) ------------------------
# Seconds between periodic relays (Celery beat, and `manage.py relay_outbox` without --once).
OUTBOX_RELAY_INTERVAL_SECONDS: int = env.int("OUTBOX_RELAY_INTERVAL_SECONDS", default=10)
# Retries back off exponentially from the base up to the cap (seconds); a broker outage never
# fails a row, a handler (eager mode) failing this many times does (admin: Outbox, "retry").
OUTBOX_RETRY_BASE_SECONDS: float = 2.0
OUTBOX_RETRY_MAX_SECONDS: float = env.float("OUTBOX_RETRY_MAX_SECONDS", default=60.0)
OUTBOX_MAX_ATTEMPTS: int = env.int("OUTBOX_MAX_ATTEMPTS", default=8)
# After a failed publish, a process skips the broker for this long after commit (rows wait for the
# periodic relay), so an outage costs one failed connect, not one per request.
OUTBOX_BROKER_BACKOFF_SECONDS: float = 5.0
# Sent rows are kept this many days (then deleted hourly); pending and failed rows stay.
OUTBOX_RETENTION_DAYS: int = env.int("OUTBOX_RETENTION_DAYS", default=7)

# Events (events app): every money or wallet change writes its events in its own transaction.
# Off only to measure what they cost (bench/ runs transfers with and without): with it off the
# events API and webhooks miss those changes for good.
EVENTS_ENABLED: bool = env.bool("EVENTS_ENABLED", default=True)

# Webhooks (webhooks app). Endpoint URLs must resolve to public addresses only; these CIDRs are
# exempt (tests and development: 127.0.0.0/8), nothing else.
WEBHOOK_ALLOWED_PRIVATE_NETWORKS: list[str] = env.list("WEBHOOK_ALLOWED_PRIVATE_NETWORKS", default=[])
WEBHOOK_TIMEOUT_SECONDS: float = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)
# CA certificates (PEM file) webhook endpoints' TLS certificates are checked against; empty: the
# system's. Tests point it at their own certificate.
WEBHOOK_CA_BUNDLE: str = env.str("WEBHOOK_CA_BUNDLE", default="")
WEBHOOK_MAX_ENDPOINTS_PER_USER: int = 10
# Deliveries have their own queue: a worker (or several) runs `celery -A vaultcore worker -Q
# webhooks`, so slow endpoints never hold up emails, payouts or provider events; each endpoint
# also has at most one delivery in flight (webhooks/services.py).
CELERY_TASK_ROUTES = {"webhooks.tasks.webhook_deliver": {"queue": "webhooks"}}
CELERY_BEAT_SCHEDULE["outbox-relay"] = {
    "task": "outbox.tasks.outbox_relay",
    "schedule": float(OUTBOX_RELAY_INTERVAL_SECONDS),
}
CELERY_BEAT_SCHEDULE["outbox-purge"] = {"task": "outbox.tasks.outbox_purge", "schedule": 3600.0}

# --- Passwords and auth ----------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Internationalisation --------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files ----------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# Serve the admin and Swagger UI assets without a separate collectstatic step in development.
WHITENOISE_USE_FINDERS = DEBUG

# --- Security (driven by env; production-grade defaults whenever DEBUG is off) ----------------
SECURE_SSL_REDIRECT: bool = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# Probes and the Prometheus scrape reach the app over the internal network, in plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS: int = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS: bool = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD: bool = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SESSION_COOKIE_SECURE: bool = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE: bool = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SESSION_COOKIE_HTTPONLY = True
# Admin flash messages live in the session (the admin is the only user of both). The default
# cookie-first storage builds a cookie signer on every request, API requests included.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env.bool("USE_X_FORWARDED_PROTO", default=False):
    # Only behind a proxy that sets this header itself (see README, production section).
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
CSRF_FAILURE_VIEW = "vaultcore.errors.csrf_failure"
# Error reports (the DEBUG technical page, error emails) hide DATABASE_URL/REDIS_URL credentials too.
DEFAULT_EXCEPTION_REPORTER_FILTER = "vaultcore.exception_reporter.CredentialSafeExceptionReporterFilter"

# --- REST framework, errors, schema ----------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.JWTCookieAuthentication"],
    # Rates come from the Accounts section below (None = that throttle is off).
    "DEFAULT_THROTTLE_CLASSES": ["accounts.throttles.UserRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"user": None, "auth_ip": None, "auth_account": None},
    "DEFAULT_PARSER_CLASSES": ["vaultcore.parsers.DecimalJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_standardized_errors.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "drf_standardized_errors.handler.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "COERCE_DECIMAL_TO_STRING": True,
}
DRF_STANDARDIZED_ERRORS = {
    "EXCEPTION_HANDLER_CLASS": "vaultcore.errors.ExceptionHandler",
    "EXCEPTION_FORMATTER_CLASS": "vaultcore.errors.ExceptionFormatter",
    # The contract's error shape holds in DEBUG too.
    "ENABLE_IN_DEBUG_FOR_UNHANDLED_EXCEPTIONS": True,
    # The generic statuses' schemas, as this API sends them (vaultcore/openapi.py).
    "ERROR_SCHEMAS": {
        400: "vaultcore.openapi.BadRequestResponseSerializer",
        401: "vaultcore.openapi.UnauthorizedResponseSerializer",
        403: "vaultcore.openapi.ForbiddenResponseSerializer",
        404: "vaultcore.openapi.NotFoundResponseSerializer",
        500: "vaultcore.openapi.ServerErrorResponseSerializer",
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "VaultCore API",
    "DESCRIPTION": (
        "E-wallet and double-entry ledger core. Every error uses one shape: "
        '`{"type": ..., "errors": [{"code", "detail", "attr"}]}`. Money amounts are decimal '
        "strings with exactly the currency's minor-unit digits."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ValidationErrorEnum": "drf_standardized_errors.openapi_serializers.ValidationErrorEnum.choices",
        "ClientErrorEnum": "drf_standardized_errors.openapi_serializers.ClientErrorEnum.choices",
        "ServerErrorEnum": "drf_standardized_errors.openapi_serializers.ServerErrorEnum.choices",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_standardized_errors.openapi_hooks.postprocess_schema_enums",
        "vaultcore.openapi.add_uri_too_long",
    ],
}

# --- Logging ---------------------------------------------------------------------------------
LOG_FORMAT: str = env.str("LOG_FORMAT", default="plain")
LOG_LEVEL: str = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "vaultcore.log_context.RequestIdFilter"},
        "trace_id": {"()": "vaultcore.log_context.TraceIdFilter"},
        "redact_secrets": {"()": "vaultcore.log_context.RedactSecretsFilter"},
        "client_errors": {"()": "vaultcore.log_context.ClientErrorFilter"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        # One JSON format for the app, gunicorn and Celery (vaultcore/log_context.py).
        "json": {"()": "vaultcore.log_context.json_formatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id", "trace_id", "redact_secrets", "client_errors"],
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "pgserver": {"level": "WARNING"},
    },
}

# --- Metrics and tracing ---------------------------------------------------------------------
# GET /metrics (Prometheus text format) answers only with "Authorization: Bearer <METRICS_TOKEN>"
# or to a peer address inside METRICS_ALLOWED_IPS (addresses or CIDR networks); otherwise 404.
# Under gunicorn, PROMETHEUS_MULTIPROC_DIR (gunicorn.conf.py makes one when unset) lets every
# worker's counters add up.
METRICS_TOKEN: str = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_IPS: list[str] = env.list("METRICS_ALLOWED_IPS", default=[])
# A Celery worker serves its own counters (postings made by tasks) at http://<this>/metrics, with
# the same access rules, when set (e.g. 0.0.0.0:9808); give each worker its own
# PROMETHEUS_MULTIPROC_DIR so its pool processes count too.
CELERY_WORKER_METRICS_BIND: str = env.str("CELERY_WORKER_METRICS_BIND", default="")
# OpenTelemetry traces (Django, psycopg, Celery, Redis) are exported over OTLP/HTTP when
# OTEL_EXPORTER_OTLP_ENDPOINT is set (the SDK also reads the other standard OTEL_* variables);
# unset, nothing is instrumented at all.
OTEL_EXPORTER_OTLP_ENDPOINT: str = env.str("OTEL_EXPORTER_OTLP_ENDPOINT", default="")
OTEL_SERVICE_NAME: str = env.str("OTEL_SERVICE_NAME", default="vaultcore")

# --- Accounts: tokens, email, throttling ----------------------------------------------------
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    # Hashes imported from older systems keep verifying and are re-hashed with Argon2id on login.
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTHENTICATION_BACKENDS = ["accounts.backends.UsernameOrEmailBackend"]

JWT_ALGORITHM: str = env.str("JWT_ALGORITHM", default="HS256")
if JWT_ALGORITHM not in ("HS256", "HS384", "HS512"):
    raise ImproperlyConfigured("JWT_ALGORITHM must be HS256, HS384 or HS512.")
SIMPLE_JWT = {
    "ALGORITHM": JWT_ALGORITHM,
    "SIGNING_KEY": env.str("JWT_SIGNING_KEY", default="") or SECRET_KEY,
    "ACCESS_TOKEN_LIFETIME": timedelta(seconds=env.int("JWT_ACCESS_TOKEN_LIFETIME", default=900)),
    "REFRESH_TOKEN_LIFETIME": timedelta(seconds=env.int("JWT_REFRESH_TOKEN_LIFETIME", default=7 * 24 * 3600)),
    "ROTATE_REFRESH_TOKENS": True,
    "UPDATE_LAST_LOGIN": False,
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
    "AUTH_TOKEN_CLASSES": ("accounts.tokens.VaultAccessToken",),
    "TOKEN_OBTAIN_SERIALIZER": None,
    "LEEWAY": 0,
}
# Cookies carrying the JWTs (HttpOnly, SameSite=Lax; Secure outside DEBUG unless overridden).
JWT_COOKIE_SECURE: bool = env.bool("JWT_COOKIE_SECURE", default=not DEBUG)
JWT_ACCESS_COOKIE = "access_token"
JWT_REFRESH_COOKIE = "refresh_token"
JWT_REFRESH_COOKIE_PATH = "/api/v1/auth/"
CSRF_COOKIE_SAMESITE = "Lax"

# Email: console in development, django-anymail in production (ANYMAIL_PROVIDER), SMTP otherwise.
ANYMAIL_PROVIDER: str = env.str("ANYMAIL_PROVIDER", default="")
if ANYMAIL_PROVIDER:
    _default_email_backend = f"anymail.backends.{ANYMAIL_PROVIDER}.EmailBackend"
elif DEBUG:
    _default_email_backend = "django.core.mail.backends.console.EmailBackend"
else:
    _default_email_backend = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_BACKEND: str = env.str("EMAIL_BACKEND", default=_default_email_backend)
ANYMAIL: dict[str, str] = {
    key: value
    for key, value in {
        f"{ANYMAIL_PROVIDER.upper()}_API_KEY": env.str("ANYMAIL_API_KEY", default=""),
        f"{ANYMAIL_PROVIDER.upper()}_SERVER_TOKEN": env.str("ANYMAIL_SERVER_TOKEN", default=""),
        f"{ANYMAIL_PROVIDER.upper()}_SENDER_DOMAIN": env.str("ANYMAIL_SENDER_DOMAIN", default=""),
    }.items()
    if ANYMAIL_PROVIDER and value
}
EMAIL_HOST: str = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT: int = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER: str = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD: str = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS: bool = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL: str = env.str("DEFAULT_FROM_EMAIL", default="VaultCore <no-reply@localhost>")
# Links in emails: FRONTEND_URL pages when set, else this API's own GET endpoints on
# PUBLIC_BASE_URL. Never derived from the request's Host header.
PUBLIC_BASE_URL: str = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")
FRONTEND_URL: str = env.str("FRONTEND_URL", default="").rstrip("/")
EMAIL_VERIFICATION_TOKEN_MAX_AGE: int = env.int("EMAIL_VERIFICATION_TOKEN_MAX_AGE", default=24 * 3600)
PASSWORD_RESET_TOKEN_MAX_AGE: int = env.int("PASSWORD_RESET_TOKEN_MAX_AGE", default=3600)
EMAIL_CHANGE_TOKEN_MAX_AGE: int = env.int("EMAIL_CHANGE_TOKEN_MAX_AGE", default=24 * 3600)


def _throttle_rate(name: str, default: str) -> str | None:
    """``100/min`` style rate, or None when the variable is ``off``."""
    value = env.str(name, default=default).strip()
    return None if value.lower() in ("off", "none", "") else value


THROTTLE_USER_RATE = _throttle_rate("THROTTLE_USER_RATE", "100/min")
THROTTLE_AUTH_RATE = _throttle_rate("THROTTLE_AUTH_RATE", "10/min")
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {
    "user": THROTTLE_USER_RATE,
    "auth_ip": THROTTLE_AUTH_RATE,
    "auth_account": THROTTLE_AUTH_RATE,
}
# Reverse proxies in front of the app whose X-Forwarded-For is trusted for client IPs (0 = use
# REMOTE_ADDR; a client-supplied header is then ignored, so it cannot dodge per-IP throttles).
REST_FRAMEWORK["NUM_PROXIES"] = env.int("THROTTLE_NUM_PROXIES", default=0)

# Operators: `python manage.py bootstrap_superuser` reads these.
SUPERUSER_USERNAME: str = env.str("SUPERUSER_USERNAME", default="")
SUPERUSER_EMAIL: str = env.str("SUPERUSER_EMAIL", default="")
SUPERUSER_PASSWORD: str = env.str("SUPERUSER_PASSWORD", default="")
SUPERUSER_FIRST_NAME: str = env.str("SUPERUSER_FIRST_NAME", default="")
SUPERUSER_MIDDLE_NAME: str = env.str("SUPERUSER_MIDDLE_NAME", default="")
SUPERUSER_LAST_NAME: str = env.str("SUPERUSER_LAST_NAME", default="")

CELERY_BEAT_SCHEDULE["accounts-purge-expired-tokens"] = {
    "task": "accounts.tasks.expired_tokens_purge",
    "schedule": timedelta(hours=1),
}

# --- Wallets and ledger ----------------------------------------------------------------------
# Enabled ISO 4217 codes (upper case). Minor units come from Babel's CLDR data.
WALLET_CURRENCIES: list[str] = [
    code.strip().upper() for code in env.list("WALLET_CURRENCIES", default=["USD", "EUR", "GBP", "JPY", "KWD"])
]
# Largest amount of one transaction, in major units; per-currency overrides as "JPY=100000000,KWD=300000".
MAX_TRANSACTION_AMOUNT: str = env.str("MAX_TRANSACTION_AMOUNT", default="1000000")
MAX_TRANSACTION_AMOUNTS: dict[str, str] = {
    k.strip().upper(): str(v) for k, v in env.dict("MAX_TRANSACTION_AMOUNTS", default={}).items()
}
# Outgoing money (withdraw, transfer) needs a verified email address.
WALLET_REQUIRE_VERIFIED_EMAIL: bool = env.bool("WALLET_REQUIRE_VERIFIED_EMAIL", default=True)
# Daily outgoing limit per role, per wallet and UTC day, in the wallet currency's major units.
# A role that is not listed has no limit.
WALLET_DAILY_OUTGOING_LIMITS: dict[str, str] = {
    k.strip(): str(v)
    for k, v in env.dict(
        "WALLET_DAILY_OUTGOING_LIMITS", default={"user": "50000", "staff": "250000", "admin": "1000000"}
    ).items()
}
# Idempotency keys are kept at least this long (hours, >= 24); an in-flight key whose request died
# without moving money may be taken over after IDEMPOTENCY_LOCK_TIMEOUT seconds.
IDEMPOTENCY_KEY_TTL_HOURS: int = max(24, env.int("IDEMPOTENCY_KEY_TTL_HOURS", default=24))
IDEMPOTENCY_LOCK_TIMEOUT: int = env.int("IDEMPOTENCY_LOCK_TIMEOUT", default=60)
CELERY_BEAT_SCHEDULE["ledger-idempotency-keys-cleanup"] = {
    "task": "ledger.tasks.idempotency_keys_cleanup",
    "schedule": 3600.0,
}
# Distinct OpenAPI enum names for the ledger's choice sets ("type" and "status" are common names).
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"] = {
    **SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"],  # type: ignore[dict-item]
    "TransactionTypeEnum": "ledger.models.TransactionType",
    "TransactionStatusEnum": "ledger.models.TransactionStatus",
    "DirectionEnum": "ledger.models.Direction",
    "WalletStatusEnum": "wallets.models.WalletStatus",
    "EventTypeEnum": "events.models.EventType",
    "WebhookEndpointStatusEnum": "webhooks.models.EndpointStatus",
    # The generic error statuses' enums (vaultcore/openapi.py).
    "ValidationErrorTypeEnum": ["validation_error"],
    "ClientErrorTypeEnum": ["client_error"],
    "ServerErrorTypeEnum": ["server_error"],
    "Unauthorized401CodeEnum": "vaultcore.openapi.CODES_401",
    "Forbidden403CodeEnum": "vaultcore.openapi.CODES_403",
    "NotFound404CodeEnum": "vaultcore.openapi.CODES_404",
}


# --- Payments --------------------------------------------------------------------------------
# Payment provider: "sandbox" (development; deposits post and payouts succeed at once) or a
# provider registered in payments.providers (e.g. "stripe"). Sandbox is the default only in DEBUG.
PAYMENTS_PROVIDER: str = env.str("PAYMENTS_PROVIDER", default="sandbox" if DEBUG else "stripe")
ALLOW_SANDBOX_PROVIDER: bool = env.bool("ALLOW_SANDBOX_PROVIDER", default=False)
if not DEBUG and PAYMENTS_PROVIDER == "sandbox" and not ALLOW_SANDBOX_PROVIDER:
    raise ImproperlyConfigured(
        "PAYMENTS_PROVIDER=sandbox moves no real money and is for development. With DEBUG off, set "
        "PAYMENTS_PROVIDER to a real provider (e.g. stripe), or ALLOW_SANDBOX_PROVIDER=True for a demo."
    )
# Key ring for AES-256-GCM field encryption: "kid:base64(32 bytes)" entries, comma-separated,
# newest first (the first encrypts, all decrypt). Rotate: prepend a new key, run
# `manage.py rotate_encryption_key`, then drop the old one.
_DEV_ENCRYPTION_KEYS = "dev1:dmF1bHRjb3JlLWRldi1vbmx5LWFlcy1rZXktMDAwMDE="
# Required when DEBUG is off (start-up stops without it); the fixed dev key is used only in DEBUG
# (the test settings set their own fixed key).
ENCRYPTION_KEYS: str = env.str("ENCRYPTION_KEYS", default=_DEV_ENCRYPTION_KEYS if DEBUG else "")

# Stripe. With PAYMENTS_PROVIDER "stripe" and DEBUG off, start-up stops when either secret is
# missing (nothing is ever called unauthenticated or accepted unsigned).
STRIPE_SECRET_KEY: str = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_WEBHOOK_SECRET: str = env.str("STRIPE_WEBHOOK_SECRET", default="")
if not DEBUG:
    _require("ENCRYPTION_KEYS", "the AES-256-GCM key ring of bank details")
    if PAYMENTS_PROVIDER == "stripe":
        _require("STRIPE_SECRET_KEY", "the Stripe secret API key, needed with PAYMENTS_PROVIDER=stripe")
        _require("STRIPE_WEBHOOK_SECRET", "the signing secret of the Stripe webhook endpoint")
STRIPE_API_BASE: str = env.str("STRIPE_API_BASE", default="https://api.stripe.com")
STRIPE_TIMEOUT: float = env.float("STRIPE_TIMEOUT", default=10.0)
STRIPE_MAX_RETRIES: int = env.int("STRIPE_MAX_RETRIES", default=3)
STRIPE_RETRY_BACKOFF: float = env.float("STRIPE_RETRY_BACKOFF", default=0.5)
# Reconciliation: pending deposits/withdrawals older than this are checked against Stripe.
RECONCILIATION_PENDING_MINUTES: int = env.int("RECONCILIATION_PENDING_MINUTES", default=30)
# A deposit whose payment was never completed is abandoned after this many hours: reconciliation
# cancels its PaymentIntent at Stripe and marks it failed (a completed payment is settled instead).
RECONCILIATION_ABANDON_HOURS: int = env.int("RECONCILIATION_ABANDON_HOURS", default=24)
# Seconds the single-run lock of a background job lives if its holder dies.
PAYMENTS_JOB_LOCK_TIMEOUT: int = env.int("PAYMENTS_JOB_LOCK_TIMEOUT", default=900)
# Stripe events whose worker died (40 s lease expired) are queued again by this sweep.
CELERY_BEAT_SCHEDULE["payments-requeue-stale-stripe-events"] = {
    "task": "payments.tasks.requeue_stale_stripe_events",
    "schedule": 15.0,
}
# Seconds between reconciliation runs (beat); each run takes the single-run lock.
RECONCILIATION_INTERVAL_SECONDS: int = env.int("RECONCILIATION_INTERVAL_SECONDS", default=600)
CELERY_BEAT_SCHEDULE["payments-reconcile"] = {
    "task": "payments.tasks.reconcile_payments",
    "schedule": float(RECONCILIATION_INTERVAL_SECONDS),
}


# --- Back-office -----------------------------------------------------------------------------
INSTALLED_APPS += ["audit.apps.AuditConfig", "backoffice.apps.BackofficeConfig"]
# verify_ledger every hour; a failure is logged at ERROR and shown on the admin dashboard.
CELERY_BEAT_SCHEDULE["backoffice-verify-ledger"] = {"task": "backoffice.tasks.verify_ledger", "schedule": 3600.0}
# After authentication: the audit trail records the client IP of back-office actions.
MIDDLEWARE += ["audit.context.AuditContextMiddleware"]
# Maker-checker: a proposed adjustment above this amount (major units of the wallet's currency)
# may only be approved by a superuser; at or below it, by any admin or superuser other than the
# proposer. Per-currency overrides as "JPY=1500000,KWD=3000".
ADJUSTMENT_SUPERUSER_THRESHOLD: str = env.str("ADJUSTMENT_SUPERUSER_THRESHOLD", default="10000")
ADJUSTMENT_SUPERUSER_THRESHOLDS: dict[str, str] = {
    k.strip().upper(): str(v) for k, v in env.dict("ADJUSTMENT_SUPERUSER_THRESHOLDS", default={}).items()
}
