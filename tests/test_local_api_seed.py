"""The local API's seeded org: determinism, ids and timestamps, and the shapes a tap meets."""

from __future__ import annotations

import re
import time

import pytest
from kustomer_api import LocalKustomer, Org, OrgSpec
from kustomer_api.seed import KNOWN_CHANNELS, STREAMS
from local_api_client import ARCHIVE, HORIZON_S, ISO, SEARCH, epoch, ids, session, walk

pytest_plugins = ("local_api_fixtures",)


NOW = 1_767_225_600.0  # fixed "now" for builds compared with each other


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


def test_recent_days_add_a_busy_past_to_the_same_org():
    base = Org.build(OrgSpec(seed=5, conversations=80, now=NOW))
    busy = Org.build(OrgSpec(seed=5, conversations=80, now=NOW, recent_days=3, recent_per_day=30))
    added = {}
    for stream in STREAMS:
        before = {o["id"]: o for o in base.truth(stream)}
        after = {o["id"]: o for o in busy.truth(stream)}
        assert {i: after[i] for i in before} == before, stream  # the same org, plus objects
        added[stream] = [o for i, o in after.items() if i not in before]
    assert len(added["conversations"]) == 90
    assert len(added["customers"]) == 45
    by_day: dict[int, list[dict]] = {}
    for conversation in added["conversations"]:
        attrs = conversation["attributes"]
        age_days = (NOW - epoch(attrs["createdAt"])) // 86_400
        by_day.setdefault(int(age_days), []).append(attrs)
        response = attrs.get("firstResponse")
        if isinstance(response, dict) and "time" in response:
            assert response["time"] < 12 * 3_600_000
    assert sorted(by_day) == [0, 1, 2]
    for day in by_day.values():
        assert len(day) == 30
        assert set(KNOWN_CHANNELS) <= {a["channels"][0] for a in day if a["channels"]}
    statuses = {s["id"]: s["attributes"]["name"] for s in busy.truth("routing_statuses")}
    active = [s for s in busy.truth("work_sessions") if s["attributes"]["active"]]
    agents = {s["relationships"]["user"]["data"]["id"] for s in active}
    humans = [u for u in busy.truth("users") if u["attributes"]["userType"] == "user"]
    signed_up = [u["id"] for u in humans if not u["attributes"]["deleted"]]
    assert agents == {u for u in signed_up if busy.get(u)["attributes"]["firstLoginAt"]}
    assert len(agents) == len(active)
    used = {statuses[s["relationships"]["status"]["data"]["id"]] for s in active}
    assert used == set(statuses.values()) - {"Offline"}
