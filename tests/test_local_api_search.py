"""The local API's search and archive search: criteria, sorting, paging, ties and the horizon."""

from __future__ import annotations

import re
import time
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest
import requests
from kustomer_api import LocalKustomer, OrgSpec
from local_api_client import (
    ARCHIVE,
    HORIZON_S,
    SEARCH,
    archive,
    epoch,
    error,
    ids,
    search,
    searchable,
    session,
    spend_until_429,
    walk,
)

pytest_plugins = ("local_api_fixtures",)


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
        {"queryContext": "order"},
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
    assert archive(api, http, {"queryContext": "order"}).status_code == 400


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
