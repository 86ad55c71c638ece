"""URL routes of ledger (mounted under /api/v1/transactions/ and /api/v1/wallets/ by vaultcore.urls)."""

from django.urls import URLPattern, URLResolver, path

from ledger import apis

urlpatterns: list[URLPattern | URLResolver] = [
    path("", apis.TransactionListApi.as_view(), name="transaction-list"),
    path("transfer/", apis.TransferApi.as_view(), name="transaction-transfer"),
    path("export/", apis.TransactionExportApi.as_view(), name="transaction-export"),
    path("<uuid:id>/", apis.TransactionDetailApi.as_view(), name="transaction-detail"),
]

# Mounted under /api/v1/wallets/ (next to wallets.urls).
wallet_urlpatterns: list[URLPattern | URLResolver] = [
    path("<str:currency>/", apis.WalletDetailApi.as_view(), name="wallet-detail"),
]
