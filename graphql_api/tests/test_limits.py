"""Transport limits: refused before any resolver runs; introspection and GraphiQL switches;
a history page costs a constant number of queries."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
import strawberry
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from strawberry.extensions import SchemaExtension

from accounts.tests.factories import UserFactory
from graphql_api import schema as schema_module
from graphql_api.tests.conftest import access_for, codes, gql
from ledger.tests.factories import deposit, funded_wallet

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "query",
    [
        "{ " + " ".join(f"a{i}: me {{ id }}" for i in range(16)) + " }",
        "{ me " + "{ f " * 11 + "}" * 12,
        "{ me { id } } #" + "x" * 21 * 1024,
    ],
    ids=["aliases", "depth", "size"],
)
def test_over_a_limit_is_query_too_complex_and_nothing_runs(query: str, settings: Any) -> None:
    # given
    settings.GRAPHQL_INTROSPECTION = True
    wallet = funded_wallet(amount="1.00")
    # when
    with mock.patch.object(schema_module, "_user", side_effect=AssertionError("resolver ran")) as user:
        body = gql(query, user=wallet.user)
    # then
    assert body["data"] is None
    assert "query_too_complex" in codes(body)
    assert not user.called


def test_batching_is_refused() -> None:
    response = Client().post("/graphql/", [{"query": "{ me { id } }"}] * 2, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "graphql_validation_failed"


def test_invalid_document_is_graphql_validation_failed() -> None:
    body = gql("{ nope }")
    assert codes(body) == ["graphql_validation_failed"]


def test_get_carrying_a_mutation_is_400() -> None:
    response = Client().get("/graphql/", {"query": 'mutation { createWallet(input: {currency: "USD"}) { id } }'})
    assert response.status_code == 400


@pytest.mark.parametrize(("setting", "allowed"), [(True, True), (False, False)])
def test_introspection_follows_the_setting(setting: bool, allowed: bool, settings: Any) -> None:
    settings.GRAPHQL_INTROSPECTION = setting
    body = gql("{ __schema { queryType { name } } }")
    assert ("errors" not in body) is allowed


@pytest.mark.parametrize(("debug", "html"), [(True, True), (False, False)])
def test_graphiql_in_debug_only(debug: bool, html: bool, settings: Any) -> None:
    settings.DEBUG = debug
    response = Client().get("/graphql/", HTTP_ACCEPT="text/html")
    assert (b"graphiql" in response.content.lower()) is html


def test_history_limit_is_bounded() -> None:
    wallet = funded_wallet(amount="1.00")
    body = gql(f'{{ getTransactionHistory(walletId: "{wallet.public_id}", limit: 201) {{ id }} }}', user=wallet.user)
    assert codes(body) == ["invalid"]
    assert body["errors"][0]["extensions"]["attr"] == "limit"


@pytest.mark.parametrize("count", [2, 200])
def test_history_page_costs_a_constant_number_of_queries(count: int) -> None:
    # given
    wallet = funded_wallet(amount="1.00")
    for _ in range(count - 1):
        deposit(wallet=wallet, amount="1.00")
    client = Client()
    auth = f"Bearer {access_for(wallet.user)}"  # type: ignore[arg-type]
    query = (
        f'{{ getTransactionHistory(walletId: "{wallet.public_id}", limit: 200) '
        "{ id amount balanceAfter counterparty direction } }"
    )
    # when
    with CaptureQueriesContext(connection) as queries:
        body = client.post("/graphql/", {"query": query}, content_type="application/json", HTTP_AUTHORIZATION=auth)
    # then
    assert len(body.json()["data"]["getTransactionHistory"]) == count
    assert len(queries) <= 4, [q["sql"] for q in queries]


def test_graphql_requests_count_against_the_per_user_rate_limit(settings) -> None:
    # given REST's general limit of 2 requests a minute per user
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"user": "2/min", "auth_ip": None, "auth_account": None},
    }
    user = UserFactory.create()
    # when the user sends three queries
    answers = [gql("query { me { username } }", user=user) for _ in range(3)]
    # then the third is refused with REST's code and no data
    assert [a["data"] is not None for a in answers] == [True, True, False]
    assert codes(answers[2]) == ["throttled"]


def test_the_limit_rules_are_the_same_on_every_request_so_validation_is_cached() -> None:
    # given a spy that records the validation rules of each request, after the limiters added theirs
    seen: list[tuple[Any, ...]] = []

    class Spy(SchemaExtension):
        def on_validate(self) -> Iterator[None]:
            seen.append(tuple(self.execution_context.validation_rules))
            yield

    spied = strawberry.Schema(
        query=schema_module.schema.query,
        mutation=schema_module.schema.mutation,
        extensions=[*_extensions(), Spy],
        config=schema_module.schema.config,
    )
    # when the same document runs twice
    for _ in range(2):
        spied.execute_sync("query { __typename }")
    # then the rules (the validation cache's key) are identical, the limiters' included
    assert len(seen) == 2 and seen[0] == seen[1]
    assert set(schema_module._LIMIT_RULES) <= set(seen[0])


def _extensions() -> list[Any]:
    return list(schema_module.schema.extensions)
