"""URL routes of ledger (mounted under /api/v1/transactions/ by vaultcore.urls)."""

from django.urls import URLPattern, URLResolver, path

from ledger import apis

urlpatterns: list[URLPattern | URLResolver] = [
    path("", apis.TransactionListApi.as_view(), name="transaction-list"),
    path("deposit/", apis.DepositApi.as_view(), name="transaction-deposit"),
    path("withdraw/", apis.WithdrawApi.as_view(), name="transaction-withdraw"),
    path("transfer/", apis.TransferApi.as_view(), name="transaction-transfer"),
    path("export/", apis.TransactionExportApi.as_view(), name="transaction-export"),
    path("<uuid:id>/", apis.TransactionDetailApi.as_view(), name="transaction-detail"),
]
