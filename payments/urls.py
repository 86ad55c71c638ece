"""URL routes of payments (mounted under /api/v1/payments/ by vaultcore.urls)."""

from django.urls import URLPattern, URLResolver, path

from payments.apis import BankAccountDetailApi, BankAccountListCreateApi, StripeWebhookApi

urlpatterns: list[URLPattern | URLResolver] = [
    path("bank-accounts/", BankAccountListCreateApi.as_view(), name="payments-bank-accounts"),
    path("bank-accounts/<uuid:id>/", BankAccountDetailApi.as_view(), name="payments-bank-account-detail"),
    path("stripe/webhook/", StripeWebhookApi.as_view(), name="payments-stripe-webhook"),
]
