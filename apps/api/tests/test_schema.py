"""The OpenAPI schema documents every operation, with examples."""

import re

import pytest

from scarf.testing import BASE_DIR


@pytest.fixture
def schema(client, db):
    return client.get("/api/v1/schema/", {"format": "json"}).json()


def operations(schema):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield f"{method.upper()} {path}", operation


def test_the_schema_is_openapi_3_with_bearer_authentication(schema):
    assert schema["openapi"].startswith("3.")
    assert schema["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_every_request_body_has_an_example(schema):
    missing = [
        name
        for name, operation in operations(schema)
        for media in operation.get("requestBody", {}).get("content", {}).values()
        if not media.get("examples")
    ]
    assert missing == []


def test_every_response_with_a_body_has_an_example(schema):
    missing = [
        f"{name} {status}"
        for name, operation in operations(schema)
        for status, response in operation["responses"].items()
        for media in response.get("content", {}).values()
        if not media.get("examples")
    ]
    assert missing == []


def test_every_operation_documents_the_error_body(schema):
    for name, operation in operations(schema):
        for status in ("400", "401", "403", "404", "429"):
            content = operation["responses"][status]["content"]["application/json"]
            assert content["schema"] == {"$ref": "#/components/schemas/Errors"}, name


def test_a_rollback_documents_its_conflict_with_the_error_body(schema):
    """A rollback of an object changed since answers 409 (services.Conflict)."""
    conflict = schema["paths"]["/api/v1/revisions/{id}/rollback/"]["post"]["responses"]["409"]

    assert conflict["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Errors"
    }


def test_the_analytics_exports_are_documented_as_streamed_csv_and_ndjson(schema):
    exports = {
        path: list(
            schema["paths"][f"/api/v1/analytics/{path}"]["get"]["responses"]["200"]["content"]
        )
        for path in ("export.csv", "export.ndjson")
    }

    assert exports == {"export.csv": ["text/csv"], "export.ndjson": ["application/x-ndjson"]}


def test_the_swagger_ui_is_served(client, db):
    response = client.get("/api/v1/docs/")
    script = client.get("/api/v1/docs/?script=")

    assert response.status_code == 200
    assert b"swagger-ui" in response.content
    assert b'<script src="/api/v1/docs/?script="></script>' in response.content
    assert script["Content-Type"].startswith("application/javascript")
    assert b"/api/v1/schema/" in script.content


def test_the_swagger_ui_runs_no_inline_script(client, db):
    policy = client.get("/api/v1/docs/")["Content-Security-Policy"]

    script_src = next(d for d in policy.split("; ") if d.startswith("script-src"))
    assert script_src == "script-src 'self'"
    assert "frame-ancestors 'none'" in policy


def test_the_swagger_ui_loads_nothing_from_elsewhere(client, db):
    page = client.get("/api/v1/docs/").content.decode()
    policy = client.get("/api/v1/docs/")["Content-Security-Policy"]

    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in assets
    assert all(asset.startswith("/") for asset in assets), assets
    assert "http" not in policy
    for asset in assets:
        if asset.startswith("/static/"):
            assert (BASE_DIR / asset.lstrip("/")).is_file(), asset


def test_the_apis_root_is_a_json_index_of_its_resources(client, db):
    response = client.get("/api/v1/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["resources"]["rules"] == "http://testserver/api/v1/rules/"
    assert body["resources"]["manifest"] == "http://testserver/api/v1/manifest/"
    assert body["docs"] == "http://testserver/api/v1/docs/"
