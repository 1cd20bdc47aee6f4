"""Fidelity tests of the local Kustomer API, over real sockets with ``requests``."""

from __future__ import annotations

import contextlib
import random
import re
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests
from kustomer_api import LocalKustomer, Org, OrgSpec
from kustomer_api.auth import SEARCH_READ_ROLE
from kustomer_api.faults import FAULT_KINDS
from kustomer_api.seed import KNOWN_CHANNELS, STREAMS

NOW = 1_767_225_600.0  # fixed "now" for builds compared with each other
HORIZON_S = 730 * 86_400
# history_days > 730 puts part of the org beyond the search horizon.
SPEC = OrgSpec(seed=11, conversations=300, history_days=900, tie_size=120)
ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")
SEARCH = "/v1/customers/search"
ARCHIVE = "/v1/customers/archive/search"


def epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


@pytest.fixture(scope="module")
def api():
    # Budgets are high so that the module's own traffic never trips them by accident.
    with LocalKustomer(SPEC, org_rpm=100_000, search_rpm=100_000) as server:
        yield server


@pytest.fixture
def fresh():
    """A small server of its own, for tests that mutate data or inject faults."""
    with LocalKustomer(OrgSpec(seed=3, conversations=60), org_rpm=100_000) as server:
        yield server


def session(token: str) -> requests.Session:
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {token}"
    return http


@pytest.fixture
def http(api):
    with session(api.token) as client:
        yield client


def get(api, http, path, **params) -> requests.Response:
    return http.get(api.base_url + path, params=params, timeout=10)


def search(api, http, body, **params) -> requests.Response:
    return http.post(api.base_url + SEARCH, params=params, json=body, timeout=10)


def archive(api, http, body, **params) -> requests.Response:
    return http.post(api.base_url + ARCHIVE, params=params, json=body, timeout=10)


def walk(api, http, path, body=None, **params) -> list[dict]:
    """Every record of a list or (archive) search, following relative ``links.next``."""
    if body:
        response = http.post(api.base_url + path, params=params, json=body, timeout=10)
    else:
        response = get(api, http, path, **params)
    records = []
    while True:
        assert response.status_code == 200, response.text
        page = response.json()
        records += page["data"]
        nxt = page["links"]["next"]
        if nxt is None:
            return records
        url = api.base_url + nxt
        response = http.post(url, json=body, timeout=10) if body else http.get(url, timeout=10)


def ids(records: list[dict]) -> list[str]:
    return [r["id"] for r in records]


def searchable(truth: list[dict], *, include_deleted: bool = False) -> list[dict]:
    cutoff = time.time() - HORIZON_S
    return [
        o
        for o in truth
        if epoch(o["attributes"]["updatedAt"]) >= cutoff
        and (include_deleted or not o["attributes"].get("deleted"))
    ]


# ---- envelopes and lists ---------------------------------------------------------------


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


def test_new_settings_are_validated(fresh):
    url = fresh.base_url + "/__admin/configure"
    for bad in (
        {"tie_order": "random"},
        {"edit_tied_records": -1},
        {"edit_tied_records": 1.5},
        {"archive_search": "off"},
        {"list_max_records": True},
        {"list_cap_mode": "truncate"},
        {"error_shape": "xml"},
        {"accept_search_read_role": "yes"},
        {"faults_seed": "seven"},
    ):
        assert requests.post(url, json=bad, timeout=10).status_code == 400, bad
    with pytest.raises(ValueError, match="tie_order"):
        LocalKustomer(OrgSpec(conversations=5), tie_order="sorted")
    defaults = requests.post(url, json={}, timeout=10).json()
    assert {
        k: defaults[k]
        for k in (
            "tie_order",
            "edit_tied_records",
            "archive_search",
            "list_max_records",
            "list_cap_mode",
            "error_shape",
            "accept_search_read_role",
            "faults_seed",
        )
    } == {
        "tie_order": "id",
        "edit_tied_records": 0,
        "archive_search": "on",
        "list_max_records": 0,
        "list_cap_mode": "error",
        "error_shape": "jsonapi",
        "accept_search_read_role": False,
        "faults_seed": None,
    }


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


# ---- search ----------------------------------------------------------------------------


def test_search_gte_sorted_ascending(api, http):
    truth = searchable(api.org.truth("messages"))
    stamps = sorted(m["attributes"]["updatedAt"] for m in truth)
    bound = stamps[len(stamps) // 2]
    body = {
        "queryContext": "message",
        "and": [{"message_updated_at": {"gte": bound}}],
        "sort": [{"message_updated_at": "asc"}],
    }
    got = walk(api, http, SEARCH, body, pageSize=100)
    expected = sorted(
        (m for m in truth if m["attributes"]["updatedAt"] >= bound),
        key=lambda m: (m["attributes"]["updatedAt"], m["id"]),
    )
    assert ids(got) == ids(expected)
    first = search(api, http, body, pageSize=100).json()
    assert first["meta"] == {
        "pageSize": 100,
        "page": 1,
        "total": len(expected),
        "totalPages": -(-len(expected) // 100),
        "aggregations": {},
        "timed_out": False,
    }
    assert first["links"]["next"] == f"{SEARCH}?page=2&pageSize=100"
    assert first["links"]["last"] == f"{SEARCH}?page={first['meta']['totalPages']}&pageSize=100"
    assert first["links"]["prev"] is None
    descending = search(api, http, {**body, "sort": {"message_updated_at": "desc"}}, pageSize=5)
    top = descending.json()["data"]
    assert [m["attributes"]["updatedAt"] for m in top] == stamps[::-1][:5]


def test_search_page_cap(api, http):
    body = {"queryContext": "message"}
    at_cap = search(api, http, body, page=100, pageSize=1)
    assert at_cap.status_code == 200
    assert len(at_cap.json()["data"]) == 1
    assert at_cap.json()["meta"]["total"] > 100
    # The real API advertises page 101 even though it refuses to serve it.
    assert at_cap.json()["links"]["next"] == f"{SEARCH}?page=101&pageSize=1"
    beyond = search(api, http, body, page=101, pageSize=1)
    assert beyond.status_code == 400
    assert "page limit" in beyond.json()["errors"][0]["detail"].lower()
    assert search(api, http, body, page=20, pageSize=500).status_code == 200
    assert search(api, http, body, page=21, pageSize=500).status_code == 400
    assert search(api, http, body, page=21, pageSize=1000).status_code == 400  # clamped to 500
    assert search(api, http, body, pageSize=1000).json()["meta"]["pageSize"] == 500


def test_search_horizon_and_include_deleted(api, http):
    truth = api.org.truth("conversations")
    cutoff = time.time() - HORIZON_S
    old = {c["id"] for c in truth if epoch(c["attributes"]["updatedAt"]) < cutoff - 60}
    deleted = {
        c["id"] for c in searchable(truth, include_deleted=True) if c["attributes"]["deleted"]
    }
    assert old
    assert deleted
    default = set(ids(walk(api, http, SEARCH, {"queryContext": "conversation"}, pageSize=500)))
    assert default == {c["id"] for c in searchable(truth)}
    assert not default & (old | deleted)
    body = {"queryContext": "conversation", "includeDeleted": True}
    with_deleted = set(ids(walk(api, http, SEARCH, body, pageSize=500)))
    assert deleted <= with_deleted
    assert not with_deleted & old


@pytest.mark.parametrize(
    ("context", "attribute"),
    [("conversation", "conversation_updated_at"), ("message", "message_updated_at")],
)
def test_search_ties(api, http, context, attribute):
    stream = f"{context}s"
    tie = api.org.tie_at[stream]
    tied = sorted(o["id"] for o in api.org.truth(stream) if o["attributes"]["updatedAt"] == tie)
    assert len(tied) == 120
    body = {
        "queryContext": context,
        "and": [{attribute: {"gte": tie}}],
        "sort": [{attribute: "asc"}],
    }
    pages = [search(api, http, body, page=n, pageSize=100).json() for n in (1, 2)]
    assert pages[0]["meta"]["total"] > 120
    leading = pages[0]["data"] + pages[1]["data"][:20]
    assert ids(leading) == tied  # ties come back in id order, stably across pages
    assert {o["attributes"]["updatedAt"] for o in leading} == {tie}
    assert pages[1]["data"][20]["attributes"]["updatedAt"] > tie
    exact = search(api, http, {**body, "and": [{attribute: {"equals": tie}}]}, pageSize=500)
    assert exact.json()["meta"]["total"] == 120


def test_search_operators(api, http):
    convs = searchable(api.org.truth("conversations"))

    def found(criteria: dict, context: str = "conversation") -> set[str]:
        return set(
            ids(walk(api, http, SEARCH, {"queryContext": context, **criteria}, pageSize=500))
        )

    def where(predicate) -> set[str]:
        return {c["id"] for c in convs if predicate(c["attributes"])}

    voice_or_sms = {"and": [{"conversation_channels": {"in": ["voice", "sms"]}}]}
    assert found(voice_or_sms) == where(lambda a: {"voice", "sms"} & set(a["channels"]))
    assert found({"and": [{"conversation_status": {"not_set": ""}}]}) == where(
        lambda a: "status" not in a
    )
    assert found({"and": [{"conversation_channels": {"not_set": ""}}]}) == where(
        lambda a: not a["channels"]
    )
    mixed = {
        "or": [
            {"conversation_status": {"equals": "snoozed"}},
            {"conversation_priority": {"gte": 5}},
        ],
        "not": {"conversation_direction": {"equals": "out"}},
    }
    assert found(mixed) == where(
        lambda a: (a.get("status") == "snoozed" or a["priority"] >= 5) and a["direction"] != "out"
    )
    customer = convs[0]["relationships"]["customer"]["data"]["id"]
    assert found({"and": [{"conversation_customer_id": {"equals": customer}}]}) == {
        c["id"] for c in convs if c["relationships"]["customer"]["data"]["id"] == customer
    }
    nested = {"and": [{"conversation_first_response_time": {"lt": 60_000}}]}
    assert found(nested) == where(
        lambda a: (
            isinstance(a.get("firstResponse"), dict)
            and a["firstResponse"].get("time", 10**12) < 60_000
        )
    )
    custom = {"and": [{"conversation_custom_vipBool": {"equals": True}}]}
    assert found(custom) == where(lambda a: (a["custom"] or {}).get("vipBool") is True)
    # Date-only values are midnight in timeZone (default GMT).
    day = convs[len(convs) // 2]["attributes"]["createdAt"][:10]
    for zone in ("GMT", "America/New_York"):
        tz = timezone.utc if zone == "GMT" else ZoneInfo(zone)
        start = datetime.combine(date.fromisoformat(day), datetime.min.time(), tzinfo=tz)
        body = {"and": [{"conversation_created_at": {"gte": day}}], "timeZone": zone}
        assert found(body) == where(lambda a, s=start: epoch(a["createdAt"]) >= s.timestamp())
    messages = searchable(api.org.truth("messages"))
    whole = found({"and": [{"message_body": {"contains": "refund"}}]}, "message")
    assert whole == {
        m["id"]
        for m in messages
        if "refund" in re.findall(r"\w+", m["attributes"].get("body", "").lower())
    }
    assert whole
    assert not found({"and": [{"message_body": {"contains": "refun"}}]}, "message")


@pytest.mark.parametrize(
    "body",
    [
        {"queryContext": "company"},
        {"queryContext": "conversation", "and": [{"conversation_status": {"matches": "x"}}]},
        {"queryContext": "conversation", "and": [{"message_status": {"equals": "sent"}}]},
        {"queryContext": "conversation", "sort": [{"conversation_updated_at": "up"}]},
        {"queryContext": "conversation", "and": [{"conversation_updated_at": {"gte": "soon"}}]},
        {"queryContext": "conversation", "timeZone": "Mars/Olympus"},
    ],
)
def test_search_rejects_bad_bodies(api, http, body):
    response = search(api, http, body)
    assert response.status_code == 400
    assert response.json()["errors"][0]["status"] == "400"


def test_search_rejects_invalid_json(api, http):
    response = http.post(api.base_url + SEARCH, data=b"{nope", timeout=10)
    assert response.status_code == 400


def tie_body(api, context: str) -> dict:
    attribute = f"{context}_updated_at"
    tie = api.org.tie_at[f"{context}s"]
    return {
        "queryContext": context,
        "and": [{attribute: {"equals": tie}}],
        "sort": [{attribute: "asc"}],
    }


def test_shuffled_ties_change_order_per_request(api, http):
    api.configure(tie_order="shuffled")
    try:
        body = tie_body(api, "conversation")
        first, second = (ids(search(api, http, body, pageSize=500).json()["data"]) for _ in "ab")
        assert first != second
        assert sorted(first) == sorted(second)
        assert len(first) == 120
        # Only equal keys move: a priority sort keeps its key sequence, in search and archive.
        for path in (SEARCH, ARCHIVE):
            by_priority = {
                "queryContext": "conversation",
                "sort": [{"conversation_priority": "desc"}],
            }
            pages = [
                http.post(
                    api.base_url + path, params={"pageSize": 500}, json=by_priority, timeout=10
                ).json()["data"]
                for _ in "ab"
            ]
            keys = [[c["attributes"]["priority"] for c in page] for page in pages]
            assert keys[0] == keys[1] == sorted(keys[0], reverse=True)
            assert ids(pages[0]) != ids(pages[1])
            assert sorted(ids(pages[0])) == sorted(ids(pages[1]))
    finally:
        api.configure(tie_order="id")
    by_id = [ids(search(api, http, body, pageSize=500).json()["data"]) for _ in "ab"]
    assert by_id[0] == by_id[1] == sorted(first)


def test_edit_tied_records_once_per_tied_response():
    spec = OrgSpec(seed=3, conversations=60, tie_size=20)
    with (
        LocalKustomer(spec, org_rpm=100_000, edit_tied_records=3) as server,
        session(server.token) as client,
    ):
        body = tie_body(server, "message")
        tie = server.org.tie_at["messages"]
        before = {m["id"]: m["attributes"] for m in server.org.truth("messages")}
        later = {**body, "and": [{"message_updated_at": {"gt": tie}}]}
        assert client.post(server.base_url + SEARCH, json=later, timeout=10).status_code == 200
        assert server.stats()["tie_edits"] == 0  # served no tied record: nothing edited
        served = []
        for _ in range(5):
            page = client.post(
                server.base_url + SEARCH, params={"pageSize": 5}, json=body, timeout=10
            ).json()
            served.append(ids(page["data"]))
            stats = server.stats()
            assert stats["tie_edits"] == min(len(served), 3)
        edited = stats["tie_edited_ids"]
        assert len(set(edited)) == 3
        for n, record in enumerate(edited):
            assert record in served[n]  # one of the records that response served
        after = {m["id"]: m["attributes"] for m in server.org.truth("messages")}
        for record in edited:
            assert after[record]["updatedAt"] > tie
            assert after[record]["rev"] == before[record]["rev"] + 1
        assert sum(a["updatedAt"] == tie for a in after.values()) == 17
        assert (
            requests.post(server.base_url + "/__admin/configure", json={}, timeout=10).json()[
                "edit_tied_records"
            ]
            == 0
        )
    # The last record of a tie is never edited: no tie is left to page through.
    with (
        LocalKustomer(
            OrgSpec(seed=3, conversations=30, tie_size=2), org_rpm=100_000, edit_tied_records=5
        ) as server,
        session(server.token) as client,
    ):
        for _ in range(3):
            client.post(server.base_url + SEARCH, json=tie_body(server, "conversation"), timeout=10)
        assert server.stats()["tie_edits"] == 1


# ---- archive search --------------------------------------------------------------------


@pytest.mark.parametrize("context", ["conversation", "message", "customer"])
def test_archive_search_is_the_complement_of_search(api, http, context):
    truth = api.org.truth(f"{context}s")
    cutoff = time.time() - HORIZON_S
    old = {o["id"] for o in truth if epoch(o["attributes"]["updatedAt"]) < cutoff}
    live = {o["id"] for o in truth if not o["attributes"].get("deleted")}
    body = {"queryContext": context}
    archived = set(ids(walk(api, http, ARCHIVE, body, pageSize=500)))
    current = set(ids(walk(api, http, SEARCH, body, pageSize=500)))
    assert archived == old & live
    assert not archived & current
    assert archived | current == live
    with_deleted = {**body, "includeDeleted": True}
    everything = set(ids(walk(api, http, ARCHIVE, with_deleted, pageSize=500))) | set(
        ids(walk(api, http, SEARCH, with_deleted, pageSize=500))
    )
    assert everything == {o["id"] for o in truth}
    if context != "customer":
        assert archived
    first = archive(api, http, body, pageSize=10).json()
    assert first["meta"] == {
        "pageSize": 10,
        "page": 1,
        "total": len(archived),
        "totalPages": -(-len(archived) // 10),
        "aggregations": {},
        "timed_out": False,
    }
    if len(archived) > 10:
        assert first["links"]["next"] == f"{ARCHIVE}?page=2&pageSize=10"


def test_archive_search_filters_sorts_and_caps(api, http):
    cutoff = time.time() - HORIZON_S
    old = [
        m for m in api.org.truth("messages") if epoch(m["attributes"]["updatedAt"]) < cutoff - 60
    ]
    assert len(old) > 101
    bound = sorted(m["attributes"]["updatedAt"] for m in old)[len(old) // 2]
    body = {
        "queryContext": "message",
        "and": [{"message_updated_at": {"gte": bound}}],
        "sort": [{"message_updated_at": "desc"}],
    }
    got = walk(api, http, ARCHIVE, body, pageSize=50)
    stamps = [m["attributes"]["updatedAt"] for m in got]
    assert stamps == sorted(stamps, reverse=True)
    assert min(stamps) >= bound
    body = {"queryContext": "message"}
    at_cap = archive(api, http, body, page=100, pageSize=1)
    assert at_cap.status_code == 200
    assert at_cap.json()["links"]["next"] == f"{ARCHIVE}?page=101&pageSize=1"
    beyond = archive(api, http, body, page=101, pageSize=1)
    assert beyond.status_code == 400
    assert "page limit" in beyond.json()["errors"][0]["detail"].lower()
    assert archive(api, http, body, page=21, pageSize=500).status_code == 400
    assert archive(api, http, body, pageSize=1000).json()["meta"]["pageSize"] == 500
    assert archive(api, http, {"queryContext": "company"}).status_code == 400


def test_archive_search_switch_stats_and_budget(fresh):
    body = {"queryContext": "conversation"}
    with session(fresh.token) as client:
        call = lambda: client.post(fresh.base_url + ARCHIVE, json=body, timeout=10)  # noqa: E731
        assert call().status_code == 200
        fresh.configure(archive_search="forbidden")
        forbidden = call()
        assert forbidden.status_code == 403
        assert forbidden.json() == error(
            403, "forbidden", "Forbidden", "Forbidden: missing required role"
        )
        fresh.configure(archive_search="missing")
        missing = call()
        assert missing.status_code == 404
        assert missing.json()["errors"][0]["detail"] == f"No route for POST {ARCHIVE}"
        assert client.post(fresh.base_url + SEARCH, json=body, timeout=10).status_code == 200
        stats = fresh.stats()
        assert stats["by_route"] == {f"POST {ARCHIVE}": 3, f"POST {SEARCH}": 1}
        assert stats["search_requests"] == 3  # a missing endpoint is no search
        fresh.configure(archive_search="on", search_rpm=1)
        limited = spend_until_429(call)
        assert limited.headers["x-ratelimit-limit"] == "1"
        assert client.get(fresh.base_url + "/v1/tags", timeout=10).status_code == 200


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


# ---- auth and errors -------------------------------------------------------------------


def error(status: int, code: str, title: str, detail: str) -> dict:
    return {"errors": [{"status": str(status), "code": code, "title": title, "detail": detail}]}


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


# ---- rate limits -----------------------------------------------------------------------


def test_rate_limit_headers(api, http):
    response = get(api, http, "/v1/routing/statuses")
    now = time.time()
    assert response.headers["x-ratelimit-limit"] == "100000"
    assert 0 <= int(response.headers["x-ratelimit-remaining"]) < 100_000
    reset = int(response.headers["x-ratelimit-reset"])
    assert now - 1 < reset <= now + 61
    assert reset % 60 == 0


def spend_until_429(call) -> requests.Response:
    # A window can roll over mid-loop; the next window's tiny budget is spent again.
    for _ in range(10):
        response = call()
        if response.status_code == 429:
            return response
    pytest.fail("no 429 within 10 requests")


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


# ---- faults ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", FAULT_KINDS)
def test_fault_injected_counted_and_harmless(fresh, kind):
    fresh.configure(faults={kind: 1.0}, slow_seconds=0.2, mutate_during_search=1)
    before = fresh.org.truth_index("messages")
    body = {"queryContext": "message"}
    with session(fresh.token) as client:
        if kind == "timed_out":
            # Only searches can time out.
            assert client.get(fresh.base_url + "/v1/tags", timeout=10).status_code == 200
        started = time.monotonic()
        call = lambda: client.post(  # noqa: E731
            fresh.base_url + SEARCH, params={"pageSize": 100}, json=body, timeout=10
        )
        if kind == "reset":
            with pytest.raises(requests.exceptions.RequestException):
                call()
        else:
            response = call()
            check_fault_response(kind, response, time.monotonic() - started)
    stats = fresh.stats()
    assert stats["faults"] == {kind: 1}
    # A faulted request changes nothing, even with mutate_during_search on.
    assert stats["search_mutations"] == 0
    assert fresh.org.truth_index("messages") == before
    fresh.configure(faults={})
    with session(fresh.token) as client:
        assert client.post(fresh.base_url + SEARCH, json=body, timeout=10).status_code == 200
    assert fresh.stats()["search_mutations"] == 2


def check_fault_response(kind: str, response: requests.Response, elapsed: float) -> None:
    if kind in ("500", "502", "503"):
        assert response.status_code == int(kind)
        assert response.json()["errors"][0]["status"] == kind
    elif kind == "429":
        assert response.status_code == 429
        assert response.headers["x-ratelimit-remaining"] == "0"
        assert response.json()["errors"][0]["code"] == "too_many_requests"
    elif kind == "truncate":
        assert response.status_code == 200
        assert int(response.headers["Content-Length"]) == len(response.content)
        with pytest.raises(ValueError, match=r".+"):
            response.json()
    elif kind == "slow":
        assert response.status_code == 200
        assert elapsed >= 0.2
    else:
        page = response.json()
        assert page["meta"]["timed_out"] is True
        assert page["meta"]["total"] > 100
        assert len(page["data"]) < 100


def test_reset_fault_closes_only_that_connection(fresh):
    fresh.configure(faults={"reset": 0.5})
    with session(fresh.token) as client:

        def outcome() -> int | str:
            try:
                return client.get(fresh.base_url + "/v1/tags", timeout=10).status_code
            except requests.exceptions.RequestException:
                return "reset"

        outcomes = [outcome() for _ in range(20)]
    assert outcomes.count("reset") == fresh.stats()["faults"]["reset"]
    assert 200 in outcomes


def run_requests(server, calls: list[tuple], order: list[int]) -> dict[tuple, list]:
    """Issue ``calls`` in ``order`` from 8 threads; the outcomes of each distinct call."""

    def one(index: int) -> tuple[tuple, tuple]:
        method, path, params, body = calls[index]
        with session(server.token) as client:
            response = client.request(
                method,
                server.base_url + path,
                params=params,
                json=dict(body) if body else None,
                timeout=10,
            )
        data = response.json() if response.status_code == 200 else None
        page = (ids(data["data"]), data["meta"].get("timed_out")) if data else None
        return calls[index], (response.status_code, page)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(one, order))
    grouped: dict[tuple, list] = {}
    for call, outcome in results:
        grouped.setdefault(call, []).append(outcome)
    return {call: sorted(found, key=repr) for call, found in grouped.items()}


def test_fault_decisions_do_not_depend_on_thread_timing():
    spec = OrgSpec(seed=3, conversations=60, now=time.time())
    faults = {"500": 0.15, "503": 0.1, "429": 0.1, "timed_out": 0.3}
    distinct = [
        ("GET", "/v1/conversations", (("page", n), ("pageSize", 5)), None) for n in range(1, 13)
    ]
    distinct += [("GET", "/v1/tags", (("page", n), ("pageSize", 3)), None) for n in range(1, 9)]
    distinct += [
        ("POST", SEARCH, (("pageSize", size),), (("queryContext", context),))
        for size in (10, 20, 30, 40)
        for context in ("conversation", "message")
    ]
    # Every call twice: the second is a retry and gets a decision of its own.
    calls = distinct * 2
    shuffled = list(range(len(calls)))
    random.Random(5).shuffle(shuffled)
    outcomes, stats = [], []
    for seed, order in ((None, range(len(calls))), (None, shuffled), (99, range(len(calls)))):
        with LocalKustomer(
            spec, org_rpm=100_000, search_rpm=100_000, faults=faults, faults_seed=seed
        ) as server:
            outcomes.append(run_requests(server, calls, list(order)))
            stats.append(server.stats()["faults"])
    assert outcomes[0] == outcomes[1]
    assert stats[0] == stats[1]
    assert sum(stats[0].values()) > 5
    assert outcomes[2] != outcomes[0]  # another faults_seed, other decisions
    timed_out = [page for found in outcomes[0].values() for _, page in found if page and page[1]]
    assert timed_out  # and which items those drop is decided the same way
    # A retry is decided afresh: some call fails once and succeeds once.
    assert any(len({repr(o) for o in found}) > 1 for found in outcomes[0].values())


# ---- mutation and admin ----------------------------------------------------------------


def test_mutate_bumps_updated_at(fresh):
    before = {c["id"]: c["attributes"] for c in fresh.org.truth("conversations")}
    newest = max(a["updatedAt"] for a in before.values())
    changed = fresh.mutate("conversations", count=5)
    after = {c["id"]: c["attributes"] for c in fresh.org.truth("conversations")}
    stamps = [after[i]["updatedAt"] for i in changed]
    assert len(set(changed)) == 5
    assert stamps == sorted(set(stamps))
    assert stamps[0] > newest
    assert all(ISO.fullmatch(s) for s in stamps)
    assert all(after[i]["rev"] == before[i]["rev"] + 1 for i in changed)
    assert not any(before[i]["deleted"] for i in changed)
    body = {
        "queryContext": "conversation",
        "and": [{"conversation_updated_at": {"gt": newest}}],
        "sort": [{"conversation_updated_at": "asc"}],
    }
    with session(fresh.token) as client:
        assert ids(walk(fresh, client, SEARCH, body)) == changed
    assert len(fresh.mutate("messages", count=3)) == 3
    assert len(fresh.mutate("customers", count=3)) == 3
    with pytest.raises(ValueError, match="cannot mutate"):
        fresh.mutate("users", count=1)


def test_mutate_during_search(fresh):
    fresh.configure(mutate_during_search=2)
    start = max(c["attributes"]["updatedAt"] for c in fresh.org.truth("conversations"))
    body = {"queryContext": "conversation", "and": [{"conversation_priority": {"equals": 3}}]}
    with session(fresh.token) as client:
        for _ in range(4):
            assert client.post(fresh.base_url + SEARCH, json=body, timeout=10).status_code == 200
    assert fresh.stats()["search_mutations"] == 4
    bumped = [c for c in fresh.org.truth("conversations") if c["attributes"]["updatedAt"] > start]
    assert 2 <= len(bumped) <= 4
    assert {c["attributes"]["priority"] for c in bumped} == {3}  # visible to the query


def test_admin_endpoints(fresh):
    base = fresh.base_url + "/__admin"
    with session(fresh.token) as client:
        client.get(fresh.base_url + "/v1/tags", timeout=10)
    stats = requests.get(f"{base}/stats", timeout=10).json()
    assert stats["requests"] == 1
    assert stats["by_route"] == {"GET /v1/tags": 1}
    assert requests.post(f"{base}/reset-stats", timeout=10).status_code == 200
    assert fresh.stats()["requests"] == 0
    configured = requests.post(f"{base}/configure", json={"latency_ms": 150}, timeout=10)
    assert configured.json()["latency_ms"] == 150
    assert requests.post(f"{base}/configure", json={"colour": 1}, timeout=10).status_code == 400
    bad_fault = requests.post(f"{base}/configure", json={"faults": {"teapot": 1}}, timeout=10)
    assert bad_fault.status_code == 400
    with session(fresh.token) as client:
        started = time.monotonic()
        client.get(fresh.base_url + "/v1/tags", timeout=10)
        assert time.monotonic() - started >= 0.15
    truth = requests.get(f"{base}/truth", params={"stream": "users"}, timeout=10).json()
    assert truth == [
        {"id": u["id"], "updatedAt": u["attributes"]["updatedAt"]} for u in fresh.org.truth("users")
    ]
    assert requests.get(f"{base}/truth", params={"stream": "x"}, timeout=10).status_code == 400
    mutated = requests.post(f"{base}/mutate", json={"stream": "customers", "count": 2}, timeout=10)
    assert len(mutated.json()["ids"]) == 2
    assert fresh.stats()["by_route"] == {"GET /v1/tags": 1}  # admin calls are not counted


def test_stats_route_names(fresh):
    conversation = fresh.org.truth("conversations")[0]["id"]
    with session(fresh.token) as client:
        client.get(f"{fresh.base_url}/v1/conversations/{conversation}/events", timeout=10)
        client.get(f"{fresh.base_url}/v1/conversations/{conversation}/messages", timeout=10)
        client.post(fresh.base_url + SEARCH, json={"queryContext": "message"}, timeout=10)
    stats = fresh.stats()
    assert stats["by_route"] == {
        "GET /v1/conversations/{id}/events": 1,
        "GET /v1/conversations/{id}/messages": 1,
        "POST /v1/customers/search": 1,
    }
    assert stats["search_requests"] == 1
    assert stats["by_status"] == {"200": 3}


def test_keep_alive_over_one_socket(api):
    request = (
        f"GET /v1/routing/queues HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {api.token}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", int(api.base_url.rsplit(":", 1)[1]))) as sock:
        reader = sock.makefile("rb")
        for _ in range(3):
            sock.sendall(request)
            status = reader.readline()
            assert status.startswith(b"HTTP/1.1 200")
            headers = {}
            while (line := reader.readline()) != b"\r\n":
                name, _, value = line.decode().partition(":")
                headers[name.lower()] = value.strip()
            assert headers.get("connection", "keep-alive") != "close"
            body = reader.read(int(headers["content-length"]))
            assert body.endswith(b"]}")


# ---- data ------------------------------------------------------------------------------


def test_same_spec_same_org():
    spec = OrgSpec(seed=5, conversations=80, tie_size=20, now=NOW)
    first, second = Org.build(spec), Org.build(spec)
    for stream in STREAMS:
        assert first.truth(stream) == second.truth(stream), stream
    other = Org.build(OrgSpec(seed=6, conversations=80, tie_size=20, now=NOW))
    assert ids(other.truth("conversations")) != ids(first.truth("conversations"))


def test_ids_and_timestamps(api):
    seen = set()
    now = time.time()
    for stream in STREAMS:
        for obj in api.org.truth(stream):
            attrs = obj["attributes"]
            assert re.fullmatch(r"[0-9a-f]{24}", obj["id"])
            assert obj["id"] not in seen
            seen.add(obj["id"])
            assert ISO.fullmatch(attrs["createdAt"]), (stream, attrs["createdAt"])
            assert ISO.fullmatch(attrs["updatedAt"])
            assert int(obj["id"][:8], 16) == int(epoch(attrs["createdAt"])), stream
            assert attrs["createdAt"] <= attrs["updatedAt"], (stream, obj["id"])
            assert epoch(attrs["updatedAt"]) <= now


def test_conversation_coverage(api):
    convs = [c["attributes"] for c in api.org.truth("conversations")]
    channels = {ch for a in convs for ch in a["channels"]}
    assert set(KNOWN_CHANNELS) < channels
    assert channels - set(KNOWN_CHANNELS)  # unknown channels such as "form"
    assert any(not a["channels"] for a in convs)
    statuses = {a.get("status", "<missing>") for a in convs}
    assert {"open", "snoozed", "done", "<missing>"} < statuses
    assert statuses - {"open", "snoozed", "done", "<missing>"}
    assert {a["direction"] for a in convs} == {"in", "out"}
    assert {a["priority"] for a in convs} == {1, 2, 3, 4, 5}
    assert any(a["assignedUsers"] for a in convs)
    assert any(not a["assignedUsers"] for a in convs)
    assert any(a["tags"] for a in convs)
    assert any(a["custom"] is None for a in convs)
    assert any(a["custom"] and "orderNumberStr" in a["custom"] for a in convs)
    assert any(a["snooze"] is not None for a in convs)
    assert any(a["deleted"] and a["deletedAt"] for a in convs)
    queue_rels = [c["relationships"].get("queue") for c in api.org.truth("conversations")]
    assert any(queue_rels)
    assert not all(queue_rels)
    out = [a for a in convs if a["direction"] == "out"]
    assert any("firstMessageIn" not in a for a in out)
    assert any(a.get("firstMessageIn", 0) is None for a in out)
    summaries = [a[k] for a in convs for k in ("firstMessageIn", "firstMessageOut") if a.get(k)]
    assert any("channel" not in s for s in summaries)
    users = {u["id"] for u in api.org.truth("users")}
    tags = {t["id"] for t in api.org.truth("tags")}
    assert all(set(a["assignedUsers"]) <= users and set(a["tags"]) <= tags for a in convs)


def messages_by_conversation(org) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = {}
    for message in org.truth("messages"):
        cid = message["relationships"]["conversation"]["data"]["id"]
        grouped.setdefault(cid, []).append(message)
    for items in grouped.values():
        items.sort(key=lambda m: (m["attributes"]["createdAt"], m["id"]))
    return grouped


def first_response_shape(attrs: dict) -> str:
    if "firstResponse" not in attrs:
        return "absent"
    value = attrs["firstResponse"]
    if value is None:
        return "null"
    if value == {}:
        return "{}"
    if value == {"createdByTeams": [], "assignedTeams": [], "assignedUsers": []}:
        return "arrays"
    return "full"


def test_first_response_and_summaries_match_messages(api):
    grouped = messages_by_conversation(api.org)
    shapes = set()
    full = []
    for conv in api.org.truth("conversations"):
        attrs = conv["attributes"]
        msgs = grouped.get(conv["id"], [])
        responses = [m for m in msgs if m["attributes"]["directionType"] == "response-out"]
        shape = first_response_shape(attrs)
        shapes.add((shape, bool(responses)))
        assert attrs["messageCount"] == len(msgs)
        if shape == "full":
            first = responses[0]["attributes"]
            response = attrs["firstResponse"]
            full.append(response)
            assert response["id"] == responses[0]["id"]
            assert response["sentAt"] == first["sentAt"]
            assert response["time"] == round(
                (epoch(first["createdAt"]) - epoch(attrs["createdAt"])) * 1000
            )
            if response.get("businessTime") is not None:
                assert response["businessTime"] <= response["time"]
        inbound = [m for m in msgs if m["attributes"]["direction"] == "in"]
        if attrs.get("firstMessageIn"):
            summary = attrs["firstMessageIn"]
            message = inbound[0]["attributes"]
            assert summary["id"] == inbound[0]["id"]
            assert summary["sentAt"] == message["sentAt"]
            assert summary["directionType"] == message["directionType"]
            assert summary.get("channel", message["channel"]) == message["channel"]
            if message["channel"] == "voice":
                assert summary["meta"] == message["meta"]
        if msgs and attrs["direction"] == "out":
            assert msgs[0]["attributes"]["directionType"] == "initial-out"
    assert {s for s, _ in shapes} == {"absent", "null", "{}", "arrays", "full"}
    assert ("arrays", True) in shapes  # empty summary although a response-out exists
    assert any(not replied for _, replied in shapes)
    assert any("businessTime" not in r for r in full)
    assert any(r.get("businessTime", 0) is None for r in full)


def test_messages_shapes(api):
    messages = api.org.truth("messages")
    attrs = [m["attributes"] for m in messages]
    assert {a["directionType"] for a in attrs} == {
        f"{kind}-{way}" for kind in ("initial", "response", "followup") for way in ("in", "out")
    }
    emails = [a["meta"]["to"] for a in attrs if a["channel"] == "email"]
    assert {type(to) for to in emails} == {str, dict, list}
    sms = next(a["meta"] for a in attrs if a["channel"] == "sms")
    assert set(sms) >= {"from", "to", "proxy"}
    voice = [a["meta"] for a in attrs if a["channel"] == "voice"]
    assert any("answeredAt" in m for m in voice)
    assert any("answeredAt" not in m for m in voice)
    assert any("placedAt" not in m for m in voice)
    assert all({"endedAt", "status"} <= set(m) for m in voice)
    assert {m["relationships"]["customer"]["data"]["type"] for m in messages} == {
        "customer",
        "customers",
    }
    outbound = [m for m in messages if m["attributes"]["direction"] == "out"]
    assert all("createdBy" in m["relationships"] for m in outbound)
    customers = {c["id"] for c in api.org.truth("customers")}
    assert all(m["relationships"]["customer"]["data"]["id"] in customers for m in messages)


def test_customers(api):
    customers = api.org.truth("customers")
    assert len(customers) == 150
    assert any(c["attributes"]["deleted"] for c in customers)
    counts = customers[0]["attributes"]["conversationCounts"]
    assert set(counts) == {"all", "open", "done", "snoozed"}
    known = {c["id"] for c in customers}
    refs = {c["relationships"]["customer"]["data"]["id"] for c in api.org.truth("conversations")}
    assert refs <= known


def test_old_fraction():
    now = time.time()
    spec = OrgSpec(
        seed=4, conversations=100, history_days=1000, tie_size=10, old_fraction=0.3, now=now
    )
    org = Org.build(spec)
    cutoff = now - HORIZON_S
    convs = org.truth("conversations")
    old = {c["id"] for c in convs if epoch(c["attributes"]["updatedAt"]) < cutoff}
    assert len(old) == 30
    assert all(epoch(c["attributes"]["createdAt"]) >= cutoff for c in convs if c["id"] not in old)
    for stream in ("messages", "conversation_events"):
        for obj in org.truth(stream):
            is_old = obj["relationships"]["conversation"]["data"]["id"] in old
            assert (epoch(obj["attributes"]["updatedAt"]) < cutoff) == is_old, stream
    by_customer: dict[str, list[bool]] = {}
    for conv in convs:
        customer = conv["relationships"]["customer"]["data"]["id"]
        by_customer.setdefault(customer, []).append(conv["id"] in old)
    customers = {c["id"]: c["attributes"] for c in org.truth("customers")}
    all_old = [c for c, flags in by_customer.items() if all(flags)]
    assert all_old
    for customer, flags in by_customer.items():
        assert (epoch(customers[customer]["updatedAt"]) < cutoff) == all(flags)
    assert (
        len([c for c in convs if c["attributes"]["updatedAt"] == org.tie_at["conversations"]]) == 10
    )
    with pytest.raises(ValueError, match="history_days"):
        Org.build(OrgSpec(conversations=10, history_days=731, old_fraction=0.5))
    with pytest.raises(ValueError, match="old_fraction"):
        Org.build(OrgSpec(conversations=10, history_days=900, old_fraction=1.5))


def test_old_fraction_is_what_archive_search_serves():
    spec = OrgSpec(seed=4, conversations=50, history_days=800, old_fraction=0.4)
    with (
        LocalKustomer(spec, org_rpm=100_000, search_rpm=100_000) as server,
        session(server.token) as client,
    ):
        cutoff = time.time() - HORIZON_S
        truth = server.org.truth("conversations")
        old = {c["id"] for c in truth if epoch(c["attributes"]["updatedAt"]) < cutoff}
        assert len(old) == 20
        body = {"queryContext": "conversation", "includeDeleted": True}
        assert set(ids(walk(server, client, ARCHIVE, body))) == old
        assert set(ids(walk(server, client, SEARCH, body))) == {c["id"] for c in truth} - old


@contextlib.contextmanager
def cli_server(*flags: str):
    """``python -m kustomer_api`` on a free port; yields the first line it prints."""
    tests_dir = Path(__file__).parent
    command = [sys.executable, "-m", "kustomer_api", "--port", "0", "--conversations", "30"]
    with subprocess.Popen(
        [*command, *flags],
        cwd=tests_dir,
        stdout=subprocess.PIPE,
        text=True,
        env={"PYTHONPATH": str(tests_dir), "PATH": ""},
    ) as process:
        try:
            yield process.stdout.readline()
        finally:
            process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0


def test_cli_serves_until_sigterm():
    with cli_server() as line:
        match = re.fullmatch(
            r"Local Kustomer API on (http://127\.0\.0\.1:\d+) \(token: local-admin-token\)\n",
            line,
        )
        assert match, line
        with session("local-admin-token") as client:
            response = client.get(match.group(1) + "/v1/routing/statuses", timeout=10)
        assert response.status_code == 200


def test_cli_new_flags():
    flags = (
        *("--history-days", "800", "--old-fraction", "0.5", "--archive-search", "missing"),
        *("--error-shape", "code_message", "--tie-order", "shuffled", "--edit-tied-records", "1"),
        *("--list-max-records", "100", "--list-cap-mode", "empty", "--faults-seed", "4"),
        "--accept-search-read-role",
    )
    with cli_server(*flags) as line:
        base = line.split()[4]
        with session("local-admin-token") as client:
            missing = client.post(base + ARCHIVE, json={}, timeout=10)
            refused = client.get(base + "/v1/tags", params={"page": 2}, timeout=10)
        assert missing.status_code == 404
        assert set(missing.json()["errors"][0]) == {"code", "message", "meta"}
        assert refused.json()["data"] == []
        settings = requests.post(base + "/__admin/configure", json={}, timeout=10).json()
        assert settings["tie_order"] == "shuffled"
        assert settings["edit_tied_records"] == 1
        assert settings["faults_seed"] == 4
        assert settings["accept_search_read_role"] is True
        index = requests.get(
            base + "/__admin/truth", params={"stream": "conversations"}, timeout=10
        ).json()
        cutoff = time.time() - HORIZON_S
        assert sum(epoch(c["updatedAt"]) < cutoff for c in index) == 15  # --old-fraction
