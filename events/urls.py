"""URL routes of events (mounted under /api/v1/events/ by vaultcore.urls)."""

from django.urls import URLPattern, URLResolver, path

from events import apis

urlpatterns: list[URLPattern | URLResolver] = [
    path("", apis.EventListApi.as_view(), name="event-list"),
    path("<str:id>/", apis.EventDetailApi.as_view(), name="event-detail"),
]
