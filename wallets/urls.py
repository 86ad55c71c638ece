"""URL routes of wallets (mounted under /api/v1/wallets/ by vaultcore.urls; a
wallet's detail reads the ledger and is routed by ``ledger.urls``)."""

from django.urls import URLPattern, URLResolver, path

from wallets import apis

urlpatterns: list[URLPattern | URLResolver] = [
    path("", apis.WalletListCreateApi.as_view(), name="wallet-list"),
]
