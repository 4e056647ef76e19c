"""Each token has its own request budget; past it, 429 with Retry-After."""

from .conftest import api_client, issue_token


def test_a_token_over_its_rate_gets_429_with_retry_after(api, acme, ada, settings):
    settings.API_RATE_LIMIT = "3/min"
    for _ in range(3):
        assert api.get("/api/v1/packages/").status_code == 200

    response = api.get("/api/v1/packages/")

    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    assert response.json()["errors"][0]["field"] is None


def test_another_token_has_its_own_budget(api, acme, ada, settings):
    settings.API_RATE_LIMIT = "2/min"
    for _ in range(3):
        api.get("/api/v1/packages/")

    other = api_client(issue_token(acme, ada, scope="read"))

    assert other.get("/api/v1/packages/").status_code == 200


def test_the_budget_is_counted_in_the_shared_cache(api, settings, redis_db):
    settings.API_RATE_LIMIT = "5/min"

    api.get("/api/v1/packages/")

    assert any(b"throttle:api:token:" in key for key in redis_db.keys("*"))
