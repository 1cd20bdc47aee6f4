"""The local API's list endpoints: envelopes, paging, filters and the list cap."""

from __future__ import annotations

import pytest
from local_api_client import error, get, ids, walk

pytest_plugins = ("local_api_fixtures",)


def test_envelope_and_relative_links(api, http):
    response = get(api, http, "/v1/users", pageSize=10, deleted="false")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert list(body) == ["meta", "links", "data"]
    assert body["meta"] == {"pageSize": 10, "page": 1}
    link = "/v1/users?page={}&pageSize=10&deleted=false"
    assert body["links"] == {
        "self": link.format(1),
        "first": link.format(1),
        "prev": None,
        "next": link.format(2),
    }
    user = body["data"][0]
    assert set(user) == {"type", "id", "attributes", "relationships", "links"}
    assert user["type"] == "user"
    assert user["links"]["self"] == f"/v1/users/{user['id']}"
    last = http.get(api.base_url + link.format(4), timeout=10).json()
    assert last["links"]["prev"] == link.format(3)
    assert last["links"]["next"] is None  # 35 active users
    assert len(last["data"]) == 5


def test_list_pagination_order_and_clamping(api, http):
    live = sorted(c["id"] for c in api.org.truth("conversations") if not c["attributes"]["deleted"])
    assert ids(walk(api, http, "/v1/conversations", pageSize=100)) == live
    assert ids(walk(api, http, "/v1/conversations", pageSize=100, sort="desc")) == live[::-1]
    clamped = get(api, http, "/v1/conversations", pageSize=1000).json()
    assert clamped["meta"]["pageSize"] == 100
    assert len(clamped["data"]) == 100
    assert get(api, http, "/v1/users", pageSize=9999).json()["meta"]["pageSize"] == 500
    past = get(api, http, "/v1/conversations", page=50)
    assert past.status_code == 200
    assert past.json()["data"] == []
    assert past.json()["links"]["next"] is None
    for bad in ({"pageSize": 0}, {"page": "x"}, {"sort": "sideways"}):
        response = get(api, http, "/v1/conversations", **bad)
        assert response.status_code == 400
        assert response.json()["errors"][0]["code"] == "bad_request"
    messages = ids(walk(api, http, "/v1/messages", pageSize=100))
    assert messages == sorted(m["id"] for m in api.org.truth("messages"))


@pytest.mark.parametrize(
    ("path", "stream", "size", "deleted_count"),
    [("/v1/users", "users", 500, 5), ("/v1/teams", "teams", 500, 2), ("/v1/tags", "tags", 100, 4)],
)
def test_deleted_filters(api, http, path, stream, size, deleted_count):
    truth = api.org.truth(stream)
    live = sorted(o["id"] for o in truth if not o["attributes"]["deleted"])
    gone = sorted(o["id"] for o in truth if o["attributes"]["deleted"])
    assert len(gone) == deleted_count
    assert all(o["attributes"]["deletedAt"] for o in truth if o["attributes"]["deleted"])
    assert ids(walk(api, http, path, pageSize=size)) == live
    assert ids(walk(api, http, path, pageSize=size, deleted="false")) == live
    assert ids(walk(api, http, path, pageSize=size, deleted="true")) == gone
    assert get(api, http, path, deleted="maybe").status_code == 400


def test_user_filters(api, http):
    machines = walk(api, http, "/v1/users", userType="machine")
    assert machines
    assert {u["attributes"]["userType"] for u in machines} == {"machine"}
    limited = walk(api, http, "/v1/users", userType="limited")
    assert {u["attributes"]["userType"] for u in limited} == {"limited"}
    pending = walk(api, http, "/v1/users", pending="true")
    assert pending
    assert all(u["attributes"]["firstLoginAt"] is None for u in pending)
    target = pending[0]["attributes"]["email"]
    assert ids(walk(api, http, "/v1/users", email=target.upper())) == [pending[0]["id"]]
    assert get(api, http, "/v1/users", userType="robot").status_code == 400


def test_routing_lists(api, http):
    queues = walk(api, http, "/v1/routing/queues")
    default = [q for q in queues if q["attributes"]["name"] == "DEFAULT_QUEUE"]
    assert len(default) == 1
    assert default[0]["attributes"]["system"] is True
    assert {"priority", "itemSize", "restrictTransfersByUsers", "displayName"} <= set(
        default[0]["attributes"]
    )
    statuses = walk(api, http, "/v1/routing/statuses")
    kinds = {(s["attributes"]["statusType"], s["attributes"]["system"]) for s in statuses}
    assert {("available", True), ("busy", True), ("unavailable", False)} <= kinds
    assert "offline" in {k for k, _ in kinds}
    assistants = walk(api, http, "/v1/assistants")
    assert {a["attributes"]["type"] for a in assistants} == {
        "customer",
        "rep",
        "conversational",
        "workflow",
    }
    assert all(a["type"] == "assistant" for a in assistants)


def test_work_sessions(api, http):
    every = walk(api, http, "/v1/routing/work-sessions")
    assert ids(every) == sorted(w["id"] for w in api.org.truth("work_sessions"))
    active = walk(api, http, "/v1/routing/work-sessions", active="true")
    assert active
    assert all(w["attributes"]["active"] and w["attributes"]["signedOutAt"] is None for w in active)
    assert {w["attributes"]["statusType"] for w in active} == {"available", "busy", "unavailable"}
    past = [w for w in every if not w["attributes"]["active"]]
    assert all(w["attributes"]["signedOutAt"] for w in past)
    busy = walk(api, http, "/v1/routing/work-sessions", statusType="busy")
    assert busy
    assert {w["attributes"]["statusType"] for w in busy} == {"busy"}
    assert walk(api, http, "/v1/routing/work-sessions", user="true") == []
    current = active[0]
    assert set(current["relationships"]) >= {"user", "status", "queues", "org"}
    assert isinstance(current["relationships"]["queues"]["data"], list)
    by_status = current["attributes"]["totalTimeByStatus"]
    status_ids = {s["id"] for s in api.org.truth("routing_statuses")}
    assert set(by_status) <= status_ids


@pytest.mark.parametrize("mode", ["error", "empty"])
def test_list_cap(api, http, mode):
    api.configure(list_max_records=10_000, list_cap_mode=mode)
    try:
        assert get(api, http, "/v1/messages", page=100, pageSize=100).status_code == 200
        conversation = api.org.truth("conversations")[0]["id"]
        for path in ("/v1/messages", "/v1/tags", f"/v1/conversations/{conversation}/events"):
            response = get(api, http, path, page=101, pageSize=100)
            if mode == "error":
                assert response.status_code == 400
                detail = "Page limit exceeded: page 101 with pageSize 100 is beyond 10000 records"
                assert response.json() == error(400, "bad_request", "Bad Request", detail)
            else:
                assert response.status_code == 200
                body = response.json()
                assert body["meta"] == {"pageSize": 100, "page": 101}
                assert body["data"] == []
                assert body["links"]["next"] is None
                assert body["links"]["self"] == f"{path}?page=101&pageSize=100"
        # The last page under the cap still advertises the next one, as it would without it.
        api.configure(list_max_records=250)
        messages = len(api.org.truth("messages"))
        assert messages > 400
        last = get(api, http, "/v1/messages", page=3, pageSize=100).json()
        assert len(last["data"]) == 100
        assert last["links"]["next"] == "/v1/messages?page=4&pageSize=100"
        refused = get(api, http, "/v1/messages", page=4, pageSize=100)
        assert refused.status_code == (400 if mode == "error" else 200)
        assert get(api, http, "/v1/messages", page=5, pageSize=50).status_code == 200
    finally:
        api.configure(list_max_records=0, list_cap_mode="error")
    assert len(get(api, http, "/v1/messages", page=4, pageSize=100).json()["data"]) == 100


def test_conversation_events_and_messages(api, http):
    events = api.org.truth("conversation_events")
    per_conversation: dict[str, list[dict]] = {}
    for event in events:
        cid = event["relationships"]["conversation"]["data"]["id"]
        per_conversation.setdefault(cid, []).append(event)
    big = max(per_conversation, key=lambda c: len(per_conversation[c]))
    assert len(per_conversation[big]) >= 120
    path = f"/v1/conversations/{big}/events"
    first = get(api, http, path, pageSize=500).json()
    assert first["meta"]["pageSize"] == 100
    assert first["links"]["next"] == f"{path}?page=2&pageSize=100"
    got = walk(api, http, path, pageSize=100)
    expected = sorted(per_conversation[big], key=lambda e: (e["attributes"]["createdAt"], e["id"]))
    assert ids(got) == ids(expected)
    assert ids(walk(api, http, path, sort="desc")) == ids(expected)[::-1]
    event = got[0]
    assert event["type"] == "event"
    assert event["attributes"]["name"] == "kustomer.conversation.create"
    assert event["attributes"]["location"] is None
    assert event["attributes"]["meta"] is None
    assert set(event["relationships"]) >= {"org", "createdBy", "customer", "conversation"}
    update = got[1]["attributes"]["changes"]
    assert set(update) == {"attributes", "relationships"}
    assert {"op", "before", "after"} <= set(update["attributes"]["updatedAt"])
    messages = walk(api, http, f"/v1/conversations/{big}/messages", pageSize=100)
    truth = [
        m
        for m in api.org.truth("messages")
        if m["relationships"]["conversation"]["data"]["id"] == big
    ]
    assert ids(messages) == ids(
        sorted(truth, key=lambda m: (m["attributes"]["createdAt"], m["id"]))
    )
    single = get(api, http, f"/v1/conversations/{big}").json()
    assert single["data"]["id"] == big
