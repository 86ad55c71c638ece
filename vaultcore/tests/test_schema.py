"""OpenAPI schema and Swagger UI."""

import yaml
from rest_framework.test import APIClient


def test_schema_is_openapi_3(api_client: APIClient) -> None:
    response = api_client.get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "VaultCore API"
    assert "/healthz" in schema["paths"]
    assert "/readyz" in schema["paths"]
    assert "503" in schema["paths"]["/readyz"]["get"]["responses"]


def test_swagger_ui_is_served_with_local_assets(api_client: APIClient) -> None:
    response = api_client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    assert "cdn.jsdelivr.net" not in html


def _schema(api_client: APIClient) -> dict:
    return yaml.safe_load(api_client.get("/api/schema/").content)


def _resolve(schema: dict, node: dict) -> dict:
    while "$ref" in node or "allOf" in node:
        ref = node["$ref"] if "$ref" in node else node["allOf"][0]["$ref"]
        node = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return node


def test_counterparty_is_nullable_and_currency_is_the_enabled_enum(api_client: APIClient, settings) -> None:
    # given
    settings.WALLET_CURRENCIES = ["USD", "JPY"]
    # when
    schema = _schema(api_client)
    transaction = schema["components"]["schemas"]["TransactionOutput"]["properties"]
    # then
    assert transaction["counterparty"]["nullable"] is True
    assert _resolve(schema, transaction["currency"])["enum"] == ["USD", "JPY"]
    wallet_input = schema["components"]["schemas"]["WalletInputRequest"]["properties"]["currency"]
    assert _resolve(schema, wallet_input)["enum"] == ["USD", "JPY"]


def test_error_schemas_list_the_codes_the_server_sends(api_client: APIClient) -> None:
    # given
    schema = _schema(api_client)
    responses = schema["paths"]["/api/v1/transactions/transfer/"]["post"]["responses"]

    def error_item(status: str, operation: dict = responses) -> tuple[dict, dict]:
        body = _resolve(schema, operation[status]["content"]["application/json"]["schema"])
        return body, _resolve(schema, body["properties"]["errors"]["items"])

    # when
    body_400, error_400 = error_item("400")
    _, error_401 = error_item("401")
    _, error_403 = error_item("403", schema["paths"]["/api/v1/users/"]["get"]["responses"])
    # then: every 400 (parse errors too) is a validation_error with free codes such as self_transfer
    assert _resolve(schema, body_400["properties"]["type"])["enum"] == ["validation_error"]
    assert error_400["properties"]["code"]["type"] == "string"
    assert error_400["properties"]["attr"]["nullable"] is True
    assert set(_resolve(schema, error_401["properties"]["code"])["enum"]) >= {
        "not_authenticated",
        "authentication_failed",
        "token_not_valid",
        "token_revoked",
    }
    assert "email_not_verified" in _resolve(schema, error_403["properties"]["code"])["enum"]


def test_the_user_list_is_documented_as_a_page(api_client: APIClient) -> None:
    schema = _schema(api_client)
    ok = schema["paths"]["/api/v1/users/"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert set(_resolve(schema, ok)["properties"]) == {"results", "next", "previous"}
