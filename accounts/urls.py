"""URL routes of accounts: ``auth_urlpatterns`` under /api/v1/auth/, ``urlpatterns`` under
/api/v1/users/ (both mounted by vaultcore.urls)."""

from django.urls import URLPattern, URLResolver

auth_urlpatterns: list[URLPattern | URLResolver] = []
urlpatterns: list[URLPattern | URLResolver] = []
