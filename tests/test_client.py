"""The HTTP client's error paths, at request level (requests-mock)."""

from __future__ import annotations

import logging
import time

import pytest
import requests

from tap_kustomer.client import (
    AuthenticationError,
    KustomerAPIError,
    KustomerClient,
    NotFoundError,
    PermissionDeniedError,
    TransientAPIError,
)
from tap_kustomer.pacing import Pacer

BASE = "https://acme.api.kustomerapp.com"
TOKEN = "canary-token-3f9a"
OK = {"meta": {}, "links": {"next": None}, "data": [{"id": "a"}]}


def errors(detail: str) -> dict:
    return {"errors": [{"status": "x", "code": "c", "title": "t", "detail": detail}]}


@pytest.fixture
def sleeps(monkeypatch):
    """Record backoff's sleeps instead of sleeping."""
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)
    return slept


@pytest.fixture
def pacer_sleeps():
    return []


@pytest.fixture
def client(pacer_sleeps):
    pacer = Pacer(requests_per_minute=60_000, searches_per_minute=100, sleep=pacer_sleeps.append)
    return KustomerClient(
        api_url=BASE,
        token=TOKEN,
        user_agent="tap-kustomer/test",
        pacer=pacer,
        timeout_seconds=5,
        max_tries=4,
        logger=logging.getLogger("tap-kustomer-test"),
    )


def test_sends_the_token_and_user_agent(client, requests_mock):
    requests_mock.get(f"{BASE}/v1/users", json=OK)
    client.get("/v1/users", {"page": 1})
    sent = requests_mock.last_request
    assert sent.headers["Authorization"] == f"Bearer {TOKEN}"
    assert sent.headers["User-Agent"] == "tap-kustomer/test"


def test_401_stops_with_a_line_about_the_token(client, requests_mock):
    requests_mock.get(f"{BASE}/v1/users", status_code=401, json=errors("Expired token"))
    with pytest.raises(AuthenticationError) as caught:
        client.get("/v1/users")
    assert str(caught.value) == (
        "GET /v1/users: 401 Unauthorized (Expired token): check api_token "
        "(wrong, revoked or expired key)"
    )
    assert requests_mock.call_count == 1


def test_401_for_another_region_names_the_right_host(client, requests_mock):
    detail = "Auth token associated with pod prod2 but request is being handled by prod1"
    requests_mock.get(f"{BASE}/v1/users", status_code=401, json=errors(detail))
    with pytest.raises(AuthenticationError, match=r"another Kustomer region.*api\.prod2"):
        client.get("/v1/users")


def test_403_names_the_endpoint_and_the_missing_role(client, requests_mock):
    requests_mock.get(f"{BASE}/v1/routing/queues", status_code=403, json=errors("Forbidden"))
    with pytest.raises(PermissionDeniedError) as caught:
        client.get("/v1/routing/queues")
    message = str(caught.value)
    assert message.startswith("GET /v1/routing/queues: 403 Forbidden")
    assert "org.permission.routing.read" in message
    assert requests_mock.call_count == 1


def test_404_is_its_own_error(client, requests_mock):
    requests_mock.get(f"{BASE}/v1/conversations/{'a' * 24}/events", status_code=404, json={})
    with pytest.raises(NotFoundError):
        client.get(f"/v1/conversations/{'a' * 24}/events")


def test_429_waits_until_the_reset_then_succeeds(client, requests_mock, sleeps, pacer_sleeps):
    reset = int(time.time()) + 30
    requests_mock.get(
        f"{BASE}/v1/tags",
        [
            {
                "status_code": 429,
                "json": errors("Too many requests"),
                "headers": {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)},
            },
            {"json": OK},
        ],
    )
    assert client.get("/v1/tags") == OK
    assert client.rate_limited == 1
    assert max(pacer_sleeps) == pytest.approx(reset - time.time(), abs=2)


# The edges of the 5xx range, where a wrong bound would show.
@pytest.mark.parametrize("status", [500, 599])
def test_5xx_is_retried(client, requests_mock, sleeps, status):
    requests_mock.get(f"{BASE}/v1/teams", [{"status_code": status, "text": "oops"}, {"json": OK}])
    assert client.get("/v1/teams") == OK
    assert client.retries == 1
    assert len(sleeps) == 1


def test_a_4xx_without_its_own_error_is_not_retried(client, requests_mock, sleeps):
    requests_mock.get(f"{BASE}/v1/teams", [{"status_code": 499, "text": "oops"}, {"json": OK}])
    with pytest.raises(KustomerAPIError, match="GET /v1/teams: 499"):
        client.get("/v1/teams")
    assert client.retries == 0
    assert not sleeps


def test_a_reset_connection_is_retried(client, requests_mock, sleeps):
    requests_mock.get(
        f"{BASE}/v1/teams", [{"exc": requests.exceptions.ConnectionError("reset")}, {"json": OK}]
    )
    assert client.get("/v1/teams") == OK


def test_truncated_json_is_retried_then_fails_naming_the_url(client, requests_mock, sleeps):
    requests_mock.get(f"{BASE}/v1/teams", text='{"data": [{"id": "a"')
    with pytest.raises(TransientAPIError) as caught:
        client.get("/v1/teams")
    assert str(caught.value) == "GET /v1/teams returned a body that is not valid JSON (20 bytes)"
    assert requests_mock.call_count == 4


def test_a_search_that_timed_out_is_retried(client, requests_mock, sleeps):
    partial = {"meta": {"timed_out": True}, "links": {}, "data": []}
    requests_mock.post(f"{BASE}/v1/customers/search", [{"json": partial}, {"json": OK}])
    assert client.search({"queryContext": "conversation"}, page=1, page_size=500) == OK


def test_refuses_a_next_link_to_another_host(client, requests_mock):
    page = {"links": {"next": "https://evil.example/v1/teams?page=2"}, "data": [{"id": "a"}]}
    requests_mock.get(f"{BASE}/v1/teams", json=page)
    with pytest.raises(KustomerAPIError, match="another host"):
        list(client.iter_pages("/v1/teams", {}))
    assert requests_mock.call_count == 1


def test_follows_relative_next_links(client, requests_mock):
    requests_mock.get(
        f"{BASE}/v1/teams?page=1",
        json={"links": {"next": "/v1/teams?page=2&pageSize=500"}, "data": [{"id": "a"}]},
    )
    requests_mock.get(
        f"{BASE}/v1/teams?page=2", json={"links": {"next": None}, "data": [{"id": "b"}]}
    )
    pages = list(client.iter_pages("/v1/teams", {"page": 1}))
    assert [p["data"][0]["id"] for p in pages] == ["a", "b"]


def test_the_token_never_reaches_a_message_or_log(client, requests_mock, sleeps, caplog):
    caplog.set_level(logging.DEBUG)
    requests_mock.get(f"{BASE}/v1/a", status_code=401, json=errors(f"bad {TOKEN[:3]}"))
    requests_mock.get(f"{BASE}/v1/b", status_code=403, json=errors("no"))
    requests_mock.get(f"{BASE}/v1/c", [{"status_code": 503}] * 4)
    requests_mock.get(f"{BASE}/v1/d", exc=requests.exceptions.ConnectionError(f"to {BASE}"))
    messages = []
    for path in ("/v1/a", "/v1/b", "/v1/c", "/v1/d"):
        with pytest.raises(Exception) as caught:  # noqa: PT011 - each path fails its own way
            client.get(path)
        messages.append(str(caught.value))
    assert TOKEN not in "\n".join(messages) + caplog.text
