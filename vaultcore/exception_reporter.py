"""Django's exception-report filter, also hiding connection URLs and their credentials.

The DEBUG technical 500 page and error emails list the settings and ``request.META`` (under
runserver, the whole environment). Django hides names matching API/KEY/SECRET/PASS/...; but
``DATABASE_URL``, ``REDIS_URL`` and the settings copied from them (``CELERY_RESULT_BACKEND``,
``CACHES["default"]["LOCATION"]``) match none. This filter also hides names containing URL or
DSN and any string value holding a URL with user information (``scheme://user:pass@host``),
and it applies ``sensitive_variables``/``sensitive_post_parameters`` in DEBUG too.
"""

from __future__ import annotations

import re
from typing import Any

from django.http import HttpRequest
from django.views.debug import SafeExceptionReporterFilter

# scheme://<userinfo>@ : any credentials in a URL (user:password, or a token as the user).
_CREDENTIAL_URL_RE = re.compile(r"[a-z][a-z0-9+.-]*://[^/?#@\s]+@", re.IGNORECASE)


class CredentialSafeExceptionReporterFilter(SafeExceptionReporterFilter):
    hidden_settings = re.compile("API|AUTH|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|URL|DSN", flags=re.I)

    def cleanse_setting(self, key: Any, value: Any) -> Any:
        if isinstance(value, str) and _CREDENTIAL_URL_RE.search(value):
            return self.cleansed_substitute
        return super().cleanse_setting(key, value)

    def is_active(self, request: HttpRequest | None) -> bool:
        # Django turns the variable and POST filters off in DEBUG; keep them on.
        return True

    def get_traceback_frame_variables(self, request: HttpRequest | None, tb_frame: Any) -> Any:
        return [
            (name, self.cleansed_substitute if isinstance(value, str) and _CREDENTIAL_URL_RE.search(value) else value)
            for name, value in super().get_traceback_frame_variables(request, tb_frame)
        ]
