"""factory_boy factories for wallets. Call ``WalletFactory.create()`` (typed) in tests."""

import factory
from factory.django import DjangoModelFactory

from accounts.tests.factories import UserFactory
from wallets.models import Wallet, WalletKind


class WalletFactory(DjangoModelFactory[Wallet]):
    """A user wallet with zero balance. Give it money through a ledger service, never by
    setting ``balance`` (the ledger would no longer verify)."""

    class Meta:
        model = Wallet

    kind = WalletKind.USER
    user = factory.SubFactory(UserFactory)
    currency = "USD"
