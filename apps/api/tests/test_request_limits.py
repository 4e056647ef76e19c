"""Bodies the API will not hold: too large, or nested deeper than a parser can follow."""

import json

import pytest

from apps.packages.models import Revision

pytestmark = pytest.mark.django_db


def post_json(api, path, body: bytes):
    return api.generic("POST", path, body, content_type="application/json")


def test_a_body_over_the_limit_is_refused_with_413_without_reading_it_all(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    rules = [{"type": "catch-all-v1", "domain": "get.acme.test", "package-id": "x"}] * 500
    body = json.dumps({"rules": rules}).encode()
    revisions = Revision.objects.count()

    response = post_json(api, "/api/v1/manifest/", body)

    assert response.status_code == 413
    assert response.json()["errors"] == [
        {"field": None, "message": "The request body is larger than the server accepts."}
    ]
    assert Revision.objects.count() == revisions


def test_a_body_under_the_limit_is_read(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = json.dumps({"host": "get.acme.test", "method": "GET", "path": "/x"}).encode()

    assert post_json(api, "/api/v1/resolve/", body).status_code == 200


@pytest.mark.parametrize("depth", [50, 100_000])
@pytest.mark.parametrize("opener", ["[", '{"a":'])
def test_json_nested_too_deep_is_a_400_not_a_500(api, opener, depth):
    closer = "]" if opener == "[" else "}"
    body = (opener * depth + "1" + closer * depth).encode()

    response = post_json(api, "/api/v1/manifest/", body)

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] is None


def test_the_schema_documents_413_on_operations_with_a_body(api):
    schema = api.get("/api/v1/schema/?format=json").json()

    assert "413" in schema["paths"]["/api/v1/manifest/"]["post"]["responses"]
    assert "413" not in schema["paths"]["/api/v1/manifest/"]["get"]["responses"]
