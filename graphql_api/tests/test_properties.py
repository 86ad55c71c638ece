"""Property (Hypothesis, stateful): random deposits, withdrawals and transfers, each through
GraphQL or REST at random, on real PostgreSQL. After every step: each wallet's available balance
matches a plain model of the rules (a refused operation changes nothing), accounts net to zero
per currency, and ``verify_ledger`` is clean."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

import pytest
from django.db.models import Sum
from django.test import Client
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from accounts.models import User
from accounts.tests.factories import UserFactory
from graphql_api.tests.conftest import access_for
from ledger.verification import ledger_verify
from wallets.models import Wallet
from wallets.services import wallet_create

USERS = 3
_names = itertools.count()
apis = st.sampled_from(["graphql", "rest"])
users = st.integers(min_value=0, max_value=USERS - 1)
amounts = st.integers(min_value=1, max_value=30_000).map(lambda cents: Decimal(cents) / 100)

MUTATIONS = {
    "deposit": "mutation($w: String!, $a: Decimal!) { deposit(walletId: $w, input: {amount: $a}) { id } }",
    "withdraw": "mutation($w: String!, $a: Decimal!) { withdraw(walletId: $w, input: {amount: $a}) { id } }",
    "transfer": (
        "mutation($w: String!, $a: Decimal!, $r: String) "
        "{ transfer(fromWalletId: $w, input: {amount: $a, recipient: $r}) { id } }"
    ),
}


class MixedApiMachine(RuleBasedStateMachine):
    @initialize()
    def open_wallets(self) -> None:
        self.users: list[User] = [UserFactory.create(username=f"gqlprop{next(_names)}") for _ in range(USERS)]
        self.wallets = [wallet_create(user=user, currency="USD") for user in self.users]
        self.tokens = [access_for(user) for user in self.users]
        self.available = [Decimal(0)] * USERS  # the model

    def _call(self, api: str, op: str, who: int, amount: Decimal, recipient: int | None = None) -> bool:
        """One operation through ``api``; True when it succeeded."""
        auth: dict[str, Any] = {"HTTP_AUTHORIZATION": f"Bearer {self.tokens[who]}"}
        if api == "graphql":
            variables: dict[str, Any] = {"w": str(self.wallets[who].public_id), "a": str(amount)}
            if recipient is not None:
                variables["r"] = self.users[recipient].username
            body = {"query": MUTATIONS[op], "variables": variables}
            response = Client().post("/graphql/", body, content_type="application/json", **auth)
            assert response.status_code == 200
            payload = response.json()
            assert all(e["extensions"]["classification"] == "BAD_REQUEST" for e in payload.get("errors", []))
            return payload["data"] is not None
        rest: dict[str, Any] = {"currency": "USD", "amount": str(amount)}
        if recipient is not None:
            rest["recipient"] = self.users[recipient].username
        response = Client().post(f"/api/v1/transactions/{op}/", rest, content_type="application/json", **auth)
        assert response.status_code < 500
        return response.status_code == 201

    @rule(api=apis, who=users, amount=amounts)
    def deposit(self, api: str, who: int, amount: Decimal) -> None:
        if self._call(api, "deposit", who, amount):
            self.available[who] += amount

    @rule(api=apis, who=users, amount=amounts)
    def withdraw(self, api: str, who: int, amount: Decimal) -> None:
        ok = self._call(api, "withdraw", who, amount)
        assert ok == (amount <= self.available[who])
        if ok:
            self.available[who] -= amount

    @rule(api=apis, sender=users, recipient=users, amount=amounts)
    def transfer(self, api: str, sender: int, recipient: int, amount: Decimal) -> None:
        ok = self._call(api, "transfer", sender, amount, recipient)
        assert ok == (sender != recipient and amount <= self.available[sender])
        if ok:
            self.available[sender] -= amount
            self.available[recipient] += amount

    @invariant()
    def money_is_conserved(self) -> None:
        if not hasattr(self, "users"):
            return
        for wallet, expected in zip(self.wallets, self.available, strict=True):
            wallet.refresh_from_db()
            assert wallet.available == expected
        totals = Wallet.objects.values("currency").annotate(total=Sum("balance"))
        assert all(row["total"] == 0 for row in totals), list(totals)
        report = ledger_verify()
        assert report.ok, report.discrepancies


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_random_graphql_and_rest_operations_conserve_money(settings: Any) -> None:
    # given: no daily limit, so only the balance decides a withdrawal or transfer
    settings.WALLET_DAILY_OUTGOING_LIMITS = {}
    # when / then: every step keeps the model and the ledger in agreement
    run_state_machine_as_test(
        MixedApiMachine,
        settings=hypothesis_settings(
            max_examples=10, stateful_step_count=12, deadline=None, suppress_health_check=[HealthCheck.too_slow]
        ),
    )
