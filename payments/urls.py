"""URL routes of payments (mounted under /api/v1/payments/ by vaultcore.urls)."""

from django.urls import URLPattern, URLResolver, path

from payments.apis import BankAccountDetailApi, BankAccountListCreateApi, DepositApi, StripeWebhookApi, WithdrawApi

urlpatterns: list[URLPattern | URLResolver] = [
    path("bank-accounts/", BankAccountListCreateApi.as_view(), name="payments-bank-accounts"),
    path("bank-accounts/<uuid:id>/", BankAccountDetailApi.as_view(), name="payments-bank-account-detail"),
    path("stripe/webhook/", StripeWebhookApi.as_view(), name="payments-stripe-webhook"),
]

# Mounted under /api/v1/transactions/ (next to ledger.urls): money in and out through a provider.
transaction_urlpatterns: list[URLPattern | URLResolver] = [
    path("deposit/", DepositApi.as_view(), name="transaction-deposit"),
    path("withdraw/", WithdrawApi.as_view(), name="transaction-withdraw"),
]
