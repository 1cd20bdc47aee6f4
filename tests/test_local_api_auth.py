"""The local API's tokens, roles, error bodies and rate-limit budgets."""

from __future__ import annotations

import time

import pytest
import requests
from kustomer_api.auth import SEARCH_READ_ROLE
from local_api_client import ARCHIVE, SEARCH, error, get, search, session, spend_until_429

pytest_plugins = ("local_api_fixtures",)


def test_search_roles(api):
    api.add_token("search-create", roles=["org.permission.search.create"])
    api.add_token("search-legacy", roles=["org.user.search.read"])
    api.add_token("search-read", roles=[SEARCH_READ_ROLE])
    api.add_token("conversations-only", roles=["org.permission.conversation.read"])
    body = {"queryContext": "conversation"}

    def status(token: str, path: str) -> int:
        with session(token) as client:
            return client.post(api.base_url + path, json=body, timeout=10).status_code

    for path in (SEARCH, ARCHIVE):
        assert status("search-create", path) == 200
        assert status("search-legacy", path) == 200
        assert status("local-tickets-only-token", path) == 200
        assert status("conversations-only", path) == 403
        assert status("search-read", path) == 403
    api.configure(accept_search_read_role=True)
    try:
        assert status("search-read", SEARCH) == 200
        assert status("search-read", ARCHIVE) == 200
        with session("search-read") as client:
            assert client.get(api.base_url + "/v1/conversations", timeout=10).status_code == 403
    finally:
        api.configure(accept_search_read_role=False)
    assert status("search-read", SEARCH) == 403


def test_unauthorized(api):
    url = api.base_url + "/v1/users"
    invalid = error(401, "unauthorized", "Unauthorized", "Invalid token")
    assert requests.get(url, timeout=10).json() == invalid
    with session("nope") as client:
        response = client.get(url, timeout=10)
        assert response.status_code == 401
        assert response.json() == invalid
    with session("local-expired-token") as client:
        detail = client.get(url, timeout=10).json()["errors"][0]["detail"]
        assert detail == "Expired token"
    api.add_token("eu-token", pod="prod2")
    with session("eu-token") as client:
        response = client.get(url, timeout=10)
    assert response.status_code == 401
    assert response.json()["errors"][0]["detail"] == (
        "Auth token associated with pod prod2 but request is being handled by prod1"
    )


def test_forbidden_and_roles(api):
    forbidden = error(403, "forbidden", "Forbidden", "Forbidden: missing required role")
    with session("local-tickets-only-token") as client:
        for path in ("/v1/routing/queues", "/v1/users", "/v1/teams"):
            response = client.get(api.base_url + path, timeout=10)
            assert response.status_code == 403
            assert response.json() == forbidden
        ok = client.post(api.base_url + SEARCH, json={"queryContext": "message"}, timeout=10)
        assert ok.status_code == 200
        token = client.get(api.base_url + "/v1/auth/tokens/current", timeout=10).json()
        assert token["data"]["type"] == "token"
        assert "org.permission.search.create" in token["data"]["attributes"]["roles"]
        assert token["data"]["attributes"]["pod"] == "prod1"
    with session("local-no-routing-token") as client:
        for path in ("/v1/routing/work-sessions", "/v1/routing/statuses", "/v1/routing/queues"):
            assert client.get(api.base_url + path, timeout=10).status_code == 403
        assert client.get(api.base_url + "/v1/users", timeout=10).status_code == 200
    api.add_token("tags-only", roles=["org.permission.tag.read"])
    with session("tags-only") as client:
        assert client.get(api.base_url + "/v1/tags", timeout=10).status_code == 200
        assert client.get(api.base_url + "/v1/assistants", timeout=10).status_code == 403


def test_not_found(api, http):
    missing = "0" * 24
    for path in (
        "/v1/nope",
        f"/v1/conversations/{missing}/events",
        f"/v1/conversations/{missing}/messages",
        f"/v1/conversations/{missing}",
    ):
        response = get(api, http, path)
        assert response.status_code == 404
        assert response.json()["errors"][0]["code"] == "not_found"
        assert "x-ratelimit-limit" in response.headers


@pytest.mark.parametrize("shape", ["jsonapi", "code_message"])
def test_error_shapes(fresh, shape):
    fresh.configure(error_shape=shape)
    fresh.add_token("eu-token", pod="prod2")
    region = "Auth token associated with pod prod2 but request is being handled by prod1"
    url = fresh.base_url
    with (
        session(fresh.token) as client,
        session("eu-token") as other_region,
        session("local-tickets-only-token") as tickets_only,
    ):
        got = {
            "401": other_region.get(url + "/v1/tags", timeout=10),
            "403": tickets_only.get(url + "/v1/users", timeout=10),
            "404": client.get(url + "/v1/nope", timeout=10),
            "400": client.get(url + "/v1/tags", params={"pageSize": 0}, timeout=10),
            "400 search": client.post(url + SEARCH, json={"queryContext": "x"}, timeout=10),
        }
        fresh.configure(faults={"429": 1.0})
        got["429"] = client.get(url + "/v1/tags", timeout=10)
        fresh.configure(faults={"503": 1.0})
        got["503"] = client.get(url + "/v1/tags", timeout=10)
    expected = {
        "401": (401, "unauthorized", "Unauthorized", region),
        "403": (403, "forbidden", "Forbidden", "Forbidden: missing required role"),
        "404": (404, "not_found", "Not Found", "No route for GET /v1/nope"),
        "400": (400, "bad_request", "Bad Request", "pageSize must be a positive integer, got '0'"),
        "429": (429, "too_many_requests", "Too Many Requests", "Rate limit exceeded"),
        "503": (503, "service_unavailable", "Service Unavailable", "Injected fault"),
    }
    for name, (status, code, title, detail) in expected.items():
        response = got[name]
        assert response.status_code == status, name
        if shape == "jsonapi":
            assert response.json() == error(status, code, title, detail), name
        else:
            assert response.json() == {"errors": [{"code": code, "message": detail, "meta": {}}]}
    search_error = got["400 search"].json()["errors"][0]
    assert got["400 search"].status_code == 400
    if shape == "jsonapi":
        assert set(search_error) == {"status", "code", "title", "detail"}
    else:
        assert set(search_error) == {"code", "message", "meta"}
        assert "queryContext" in search_error["message"]


def test_rate_limit_headers(api, http):
    response = get(api, http, "/v1/routing/statuses")
    now = time.time()
    assert response.headers["x-ratelimit-limit"] == "100000"
    assert 0 <= int(response.headers["x-ratelimit-remaining"]) < 100_000
    reset = int(response.headers["x-ratelimit-reset"])
    assert now - 1 < reset <= now + 61
    assert reset % 60 == 0


def test_org_budget_429(api, http):
    api.configure(org_rpm=2, retry_after=True)
    try:
        response = spend_until_429(lambda: get(api, http, "/v1/tags"))
        assert response.json()["errors"][0]["code"] == "too_many_requests"
        assert response.headers["x-ratelimit-remaining"] == "0"
        assert response.headers["x-ratelimit-limit"] == "2"
        assert 1 <= int(response.headers["Retry-After"]) <= 60
        api.configure(retry_after=False)
        again = spend_until_429(lambda: get(api, http, "/v1/tags"))
        assert "Retry-After" not in again.headers
    finally:
        api.configure(org_rpm=100_000, retry_after=False)


def test_search_budget_429(api, http):
    api.configure(search_rpm=1)
    try:
        response = spend_until_429(lambda: search(api, http, {"queryContext": "customer"}))
        assert response.headers["x-ratelimit-limit"] == "1"
        assert response.headers["x-ratelimit-remaining"] == "0"
        assert get(api, http, "/v1/tags").status_code == 200  # the org budget is untouched
    finally:
        api.configure(search_rpm=100_000)


def test_other_consumer_spends_the_org_budget(fresh):
    with session(fresh.token) as client:
        before = client.get(fresh.base_url + "/v1/tags", timeout=10)
        fresh.configure(other_consumer_rpm=6000)
        time.sleep(0.5)
        fresh.configure(other_consumer_rpm=0)
        after = client.get(fresh.base_url + "/v1/tags", timeout=10)
    spent = fresh.stats()["other_consumer_requests"]
    assert spent >= 20
    if before.headers["x-ratelimit-reset"] == after.headers["x-ratelimit-reset"]:
        drop = int(before.headers["x-ratelimit-remaining"]) - int(
            after.headers["x-ratelimit-remaining"]
        )
        # Our own request plus the consumer's (give or take one racing the reconfigure).
        assert abs(drop - (spent + 1)) <= 1
