"""Root URLconf: the versioned API, the admin, the schema, the health probes and /metrics."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from accounts.apis import ResetPasswordPage
from accounts.urls import auth_urlpatterns
from ledger.urls import wallet_urlpatterns
from payments.urls import transaction_urlpatterns
from vaultcore.health import HealthzApi, ReadyzApi
from vaultcore.metrics import metrics_view

api_v1 = [
    path("auth/", include(auth_urlpatterns)),
    path("users/", include("accounts.urls")),
    path("wallets/", include("wallets.urls")),
    path("wallets/", include(wallet_urlpatterns)),
    path("transactions/", include(transaction_urlpatterns)),
    path("transactions/", include("ledger.urls")),
    path("payments/", include("payments.urls")),
    path("events/", include("events.urls")),
    path("webhooks/", include("webhooks.urls")),
]

urlpatterns = [
    path("healthz", HealthzApi.as_view(), name="healthz"),
    path("readyz", ReadyzApi.as_view(), name="readyz"),
    path("metrics", metrics_view, name="metrics"),
    path("api/v1/", include(api_v1)),
    path("graphql/", include("graphql_api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("admin/", admin.site.urls),
    path("reset-password/", ResetPasswordPage.as_view(), name="reset-password-page"),
]

# Exceptions nothing else turned into a response: a lost database answers 503, not 500.
handler500 = "vaultcore.errors.server_error"
