"""Tickets and agent states from the local API, checked against values worked out by hand."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from conftest import run_tap, unlimited_api
from kustomer_api import OrgSpec

from tap_kustomer.run import RunContext
from tap_kustomer.streams.routing import AgentStatesStream

# The integration document's channel table (whatsapp decided as Social).
CHANNELS = {
    "email": "Email",
    "chat": "Chat",
    "sms": "SMS",
    "voice": "Phone",
    "facebook": "Social",
    "twitter-dm": "Social",
    "twitter-tweet": "Social",
    "instagram": "Social",
    "whatsapp": "Social",
}
STATUSES = {"done": "closed", "open": "open", "snoozed": "snoozed"}


def when(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def sent(message: dict) -> str | None:
    return message.get("sentAt") or message.get("createdAt")


def by_hand(conversation: dict, messages: list[dict], business_time: bool) -> dict:
    """The rules of issue 4, written out plainly, independent of tap_kustomer.mapping."""
    a = conversation["attributes"]
    first_in = a.get("firstMessageIn") or {}
    first_out = a.get("firstMessageOut") or {}
    kustomer_channel = (
        first_in.get("channel") or first_out.get("channel") or (a.get("channels") or [None])[0]
    )
    channel = CHANNELS.get(kustomer_channel)
    responded_at = duration = None
    if channel == "Phone":
        calls = sorted(
            (m for m in messages if m["channel"] == "voice"), key=lambda m: when(sent(m))
        )
        if calls:
            meta = calls[0].get("meta") or {}
            responded_at = meta.get("answeredAt")
            if responded_at and meta.get("placedAt"):
                duration = round((when(responded_at) - when(meta["placedAt"])).total_seconds(), 3)
    else:
        first_response = a.get("firstResponse") or {}
        responded_at = first_response.get("createdAt")
        if not responded_at:
            responses = sorted(
                (m for m in messages if m.get("directionType") == "response-out"),
                key=lambda m: when(sent(m)),
            )
            responded_at = sent(responses[0]) if responses else None
        business = first_response.get("businessTime")
        if responded_at and business_time and isinstance(business, (int, float)):
            duration = round(business / 1000, 3)
        elif responded_at:
            duration = round((when(responded_at) - when(a["createdAt"])).total_seconds(), 3)
    relationships = conversation.get("relationships") or {}

    def related(name):
        data = (relationships.get(name) or {}).get("data")
        return data["id"] if data else None

    return {
        "id": conversation["id"],
        "channel": channel,
        "kustomer_channel": kustomer_channel,
        "status": STATUSES.get(a.get("status")),
        "kustomer_status": a.get("status"),
        "created_at": a["createdAt"],
        "updated_at": a["updatedAt"],
        "first_responded_at": responded_at,
        "first_response_duration": duration,
        "customer_id": related("customer"),
        "queue_id": related("queue"),
        "assigned_user_ids": list(dict.fromkeys(a.get("assignedUsers") or [])),
        "assigned_team_ids": list(dict.fromkeys(a.get("assignedTeams") or [])),
        "tag_ids": list(dict.fromkeys(a.get("tags") or [])),
        "direction": a.get("direction"),
        "priority": a.get("priority"),
        # Live rows carry the delete column empty (tests/test_deletes.py).
        "_sdc_deleted_at": None,
    }


@pytest.fixture(scope="module")
def api():
    with unlimited_api(OrgSpec(seed=17, conversations=900, history_days=500)) as server:
        yield server


@pytest.mark.parametrize("business_time", [False, True])
def test_every_ticket_matches_the_rules_worked_by_hand(api, unpaced, business_time):
    config = {
        "api_token": api.token,
        "api_url": api.base_url,
        "start_date": "2020-01-01T00:00:00Z",
        "use_business_time": business_time,
    }
    result = run_tap(config, streams=("tickets",))
    messages: dict[str, list[dict]] = {}
    for message in api.org.truth("messages"):
        conversation_id = message["relationships"]["conversation"]["data"]["id"]
        messages.setdefault(conversation_id, []).append(message["attributes"])
    got = {record["id"]: record for record in result.records["tickets"]}
    conversations = api.org.truth("conversations")
    assert len(got) == len(conversations)
    mismatched = [
        c["id"]
        for c in conversations
        if got[c["id"]] != by_hand(c, messages.get(c["id"], []), business_time)
    ]
    assert not mismatched, f"{len(mismatched)} tickets differ, e.g. {mismatched[:3]}"
    channels = {r["channel"] for r in got.values()}
    assert {"Email", "Chat", "SMS", "Phone", "Social", None} <= channels
    assert {r["status"] for r in got.values()} == {"open", "closed", "snoozed", None}


def test_tickets_read_messages_only_where_a_rule_needs_them(api, unpaced):
    api.reset_stats()
    config = {"api_token": api.token, "api_url": api.base_url, "start_date": "2020-01-01T00:00:00Z"}
    run_tap(config, streams=("tickets",))
    per_conversation = api.stats()["by_route"].get("GET /v1/conversations/{id}/messages", 0)
    assert 0 < per_conversation < len(api.org.truth("conversations")) / 2


def test_agent_states_hold_exactly_the_active_agents(api, unpaced):
    config = {"api_token": api.token, "api_url": api.base_url}
    result = run_tap(config, streams=("agent_states",))
    statuses = {s["id"]: s["attributes"] for s in api.org.truth("routing_statuses")}
    active = {
        s["relationships"]["user"]["data"]["id"]: statuses[
            s["relationships"]["status"]["data"]["id"]
        ]
        for s in api.org.truth("work_sessions")
        if s["attributes"]["active"]
    }
    states = result.records["agent_states"]
    assert {s["user_id"]: (s["status_name"], s["status_type"]) for s in states} == {
        user: (status["name"], status["statusType"]) for user, status in active.items()
    }
    every_user = {u["id"] for u in api.org.truth("users") if u["attributes"]["userType"] == "user"}
    assert set(active) < every_user, "the org has offline agents too"
    assert {s["status_type"] for s in states} >= {"available", "unavailable"}


def test_users_carry_their_assembled_role(api, unpaced):
    config = {"api_token": api.token, "api_url": api.base_url}
    result = run_tap(config, streams=("users",))
    roles = {(u["user_type"], u["assembled_role"]) for u in result.records["users"]}
    assert roles == {("user", "Standard"), ("machine", None), ("limited", None)}


def test_four_snapshots_fifteen_seconds_apart(api, unpaced, monkeypatch):
    """Spacing on a fake clock: no real waiting, and no timing that a busy machine could skew."""
    clock = {"now": 0.0}
    start = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.timezone.utc)

    def now():
        observed = start + dt.timedelta(seconds=clock["now"])
        clock["now"] += 2.5  # each snapshot's requests take a while
        return observed

    def sleep(seconds):
        clock["now"] += seconds

    monkeypatch.setattr(AgentStatesStream, "monotonic", staticmethod(lambda: clock["now"]))
    monkeypatch.setattr(AgentStatesStream, "sleep", staticmethod(sleep))
    monkeypatch.setattr(RunContext, "now", staticmethod(now))
    config = {"api_token": api.token, "api_url": api.base_url, "agent_states_snapshots": 4}
    result = run_tap(config, streams=("agent_states",))
    times = sorted({when(s["observed_at"]) for s in result.records["agent_states"]})
    assert len(times) == 4
    # Evenly spaced although each snapshot itself took 2.5 s.
    assert [(b - a).total_seconds() for a, b in itertools.pairwise(times)] == [15, 15, 15]
