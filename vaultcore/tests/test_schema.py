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
