"""URL routes of payments (mounted under /api/v1/ by vaultcore.urls)."""

from django.urls import URLPattern, URLResolver

urlpatterns: list[URLPattern | URLResolver] = []
