"""URL routes of webhooks (mounted under /api/v1/webhooks/ by vaultcore.urls)."""

from django.urls import URLPattern, URLResolver, path

from webhooks import apis

urlpatterns: list[URLPattern | URLResolver] = [
    path("endpoints/", apis.EndpointListCreateApi.as_view(), name="webhook-endpoint-list"),
    path("endpoints/<str:id>/", apis.EndpointDetailApi.as_view(), name="webhook-endpoint-detail"),
    path("endpoints/<str:id>/rotate-secret/", apis.EndpointRotateSecretApi.as_view(), name="webhook-endpoint-rotate"),
    path("endpoints/<str:id>/deliveries/", apis.DeliveryListApi.as_view(), name="webhook-delivery-list"),
    path(
        "endpoints/<str:id>/deliveries/<str:delivery_id>/retry/",
        apis.DeliveryRetryApi.as_view(),
        name="webhook-delivery-retry",
    ),
]
