"""The Assembled mapping rules, one case per table row and fallback, plus messy data."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tap_kustomer.mapping import (
    TicketRules,
    agent_state,
    assembled_role,
    kustomer_channel,
    needs_messages,
    ticket,
    ticket_status,
)

RULES = TicketRules()
BUSINESS = TicketRules(use_business_time=True)
CREATED = "2026-03-02T14:35:34.848Z"
EMPTY_SHAPES = [None, {}, {"createdByTeams": [], "assignedTeams": [], "assignedUsers": []}]


def conversation(**attributes):
    return {"id": "c1", "attributes": {"createdAt": CREATED, "updatedAt": CREATED, **attributes}}


def message(channel="email", direction_type="response-out", sent=None, created=None, **extra):
    return {
        "channel": channel,
        "directionType": direction_type,
        "sentAt": sent,
        "createdAt": created,
        **extra,
    }


@pytest.mark.parametrize(
    ("kustomer", "assembled"),
    [
        ("voice", "Phone"),
        ("chat", "Chat"),
        ("sms", "SMS"),
        ("email", "Email"),
        ("facebook", "Social"),
        ("twitter-dm", "Social"),
        ("twitter-tweet", "Social"),
        ("instagram", "Social"),
        ("whatsapp", "Social"),  # open in the document: a messaging app, like the rest
        ("form", None),  # unknown channels are not guessed
        (None, None),
    ],
)
def test_channel_table(kustomer, assembled):
    assert RULES.channel(kustomer) == assembled


def test_channel_overrides_replace_and_extend_the_table():
    rules = TicketRules(channel_overrides={"whatsapp": "Chat", "form": "Email", "sms": None})
    assert [rules.channel(c) for c in ("whatsapp", "form", "sms", "chat")] == [
        "Chat",
        "Email",
        None,
        "Chat",
    ]


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        ({"firstMessageIn": {"channel": "sms"}, "firstMessageOut": {"channel": "email"}}, "sms"),
        ({"firstMessageIn": {"id": "m"}, "firstMessageOut": {"channel": "email"}}, "email"),
        ({"firstMessageIn": None, "firstMessageOut": {}, "channels": ["chat", "sms"]}, "chat"),
        ({"firstMessageIn": {}, "channels": []}, None),
        ({}, None),
    ],
    ids=["first-in", "in-without-channel", "channels", "empty-channels", "nothing"],
)
def test_kustomer_channel_fallbacks(attributes, expected):
    assert kustomer_channel(attributes) == expected


@pytest.mark.parametrize(
    ("kustomer", "assembled"),
    [
        ("done", "closed"),
        ("open", "open"),
        ("snoozed", "snoozed"),
        ("pending", None),
        (None, None),
        (3, None),
    ],
)
def test_status_table(kustomer, assembled):
    assert ticket_status(kustomer) == assembled


@pytest.mark.parametrize(
    ("user_type", "role"),
    [("user", "Standard"), ("machine", None), ("limited", None), (None, None)],
)
def test_user_roles(user_type, role):
    assert assembled_role(user_type) == role


def test_first_response_from_the_summary():
    conv = conversation(
        channels=["email"],
        firstResponse={"createdAt": "2026-03-02T14:39:36.539Z", "businessTime": 1000},
    )
    record = ticket(conv, None, RULES)
    assert record["first_responded_at"] == "2026-03-02T14:39:36.539Z"
    assert record["first_response_duration"] == 241.691


def test_business_time_when_turned_on():
    conv = conversation(
        channels=["chat"],
        firstResponse={"createdAt": "2026-03-02T14:39:36.539Z", "businessTime": 1500},
    )
    assert ticket(conv, None, BUSINESS)["first_response_duration"] == 1.5


@pytest.mark.parametrize("business_time", [None, "12", True])
def test_business_time_on_but_not_a_number_falls_back_to_wall_clock(business_time):
    conv = conversation(
        channels=["chat"],
        firstResponse={"createdAt": "2026-03-02T14:36:34.848Z", "businessTime": business_time},
    )
    assert ticket(conv, None, BUSINESS)["first_response_duration"] == 60.0


@pytest.mark.parametrize("first_response", [*EMPTY_SHAPES, "absent"])
def test_empty_first_response_falls_back_to_the_earliest_response_message(first_response):
    attributes = {"channels": ["email"], "firstMessageOut": {"directionType": "initial-out"}}
    if first_response != "absent":
        attributes["firstResponse"] = first_response
    conv = conversation(**attributes)
    messages = [
        message(direction_type="initial-out", sent="2026-03-02T14:35:00.000Z"),
        message(direction_type="response-out", sent=None, created="2026-03-02T15:00:00.000Z"),
        message(direction_type="response-out", sent="2026-03-02T14:50:00.000Z"),
        message(direction_type="response-in", sent="2026-03-02T14:40:00.000Z"),
    ]
    assert needs_messages(conv["attributes"], RULES)
    record = ticket(conv, messages, RULES)
    assert record["first_responded_at"] == "2026-03-02T14:50:00.000Z"
    assert record["first_response_duration"] == 865.152


def test_empty_first_response_with_first_message_out_as_the_response_needs_no_request():
    out = {"directionType": "response-out", "sentAt": "2026-03-02T14:45:34.848Z"}
    conv = conversation(channels=["sms"], firstResponse={}, firstMessageOut=out)
    assert not needs_messages(conv["attributes"], RULES)
    assert ticket(conv, None, RULES)["first_response_duration"] == 600.0


@pytest.mark.parametrize("first_response", EMPTY_SHAPES)
def test_no_response_at_all_is_null_and_costs_no_request_when_nothing_went_out(first_response):
    conv = conversation(channels=["chat"], firstResponse=first_response, outboundMessageCount=0)
    assert not needs_messages(conv["attributes"], RULES)
    record = ticket(conv, None, RULES)
    assert (record["first_responded_at"], record["first_response_duration"]) == (None, None)


def test_outbound_first_conversation_without_a_response_is_null():
    conv = conversation(
        direction="out",
        firstMessageIn=None,
        firstMessageOut={"channel": "email", "directionType": "initial-out"},
    )
    messages = [message(direction_type="initial-out", sent="2026-03-02T14:36:00.000Z")]
    record = ticket(conv, messages, RULES)
    assert record["kustomer_channel"] == "email"
    assert record["first_responded_at"] is None


def voice_call(answered=True, placed="2026-03-02T14:35:34.786Z", **extra):
    meta = {"placedAt": placed}
    if answered:
        meta["answeredAt"] = "2026-03-02T14:35:52.286Z"
    return message(channel="voice", direction_type="initial-in", sent=placed, meta=meta, **extra)


def test_answered_call():
    conv = conversation(firstMessageIn={"channel": "voice"})
    record = ticket(conv, [voice_call()], RULES)
    assert record["channel"] == "Phone"
    assert record["first_responded_at"] == "2026-03-02T14:35:52.286Z"
    assert record["first_response_duration"] == 17.5


def test_unanswered_call_is_null_even_with_a_first_response_summary():
    conv = conversation(
        firstMessageIn={"channel": "voice"}, firstResponse={"createdAt": "2026-03-02T14:39:00.000Z"}
    )
    assert needs_messages(conv["attributes"], RULES)
    record = ticket(conv, [voice_call(answered=False)], RULES)
    assert (record["first_responded_at"], record["first_response_duration"]) == (None, None)


def test_call_without_placed_at_has_a_time_but_no_duration():
    record = ticket(
        conversation(firstMessageIn={"channel": "voice"}),
        [voice_call(placed=None, created=CREATED)],
        RULES,
    )
    assert record["first_responded_at"] == "2026-03-02T14:35:52.286Z"
    assert record["first_response_duration"] is None


def test_the_earliest_voice_message_counts_not_a_later_one():
    later = voice_call(placed="2026-03-02T16:00:00.000Z")
    first = voice_call(answered=False)
    record = ticket(conversation(firstMessageIn={"channel": "voice"}), [later, first], RULES)
    assert record["first_responded_at"] is None


def test_first_message_in_meta_serves_when_it_is_that_message():
    summary = {
        "id": "m1",
        "channel": "voice",
        "meta": {"placedAt": "2026-03-02T14:35:00.000Z", "answeredAt": "2026-03-02T14:35:10.000Z"},
    }
    call = message(
        channel="voice",
        direction_type="initial-in",
        sent="2026-03-02T14:35:00.000Z",
        id="m1",
        meta=None,
    )
    record = ticket(conversation(firstMessageIn=summary), [call], RULES)
    assert record["first_response_duration"] == 10.0


def test_ticket_fields_and_lists():
    conv = {
        "id": "c9",
        "attributes": {
            "createdAt": CREATED,
            "updatedAt": "2026-03-03T00:00:00.000Z",
            "status": "done",
            "channels": ["email"],
            "assignedUsers": ["u1"],
            "tags": ["t1", "t1", "t2"],
            "direction": "in",
            "priority": 3,
        },
        "relationships": {
            "customer": {"data": {"type": "customer", "id": "k1"}},
            "queue": {"data": None},
        },
    }
    record = ticket(conv, None, RULES)
    assert record == {
        "id": "c9",
        "channel": "Email",
        "kustomer_channel": "email",
        "status": "closed",
        "kustomer_status": "done",
        "created_at": CREATED,
        "updated_at": "2026-03-03T00:00:00.000Z",
        "first_responded_at": None,
        "first_response_duration": None,
        "customer_id": "k1",
        "queue_id": None,
        "assigned_user_ids": ["u1"],
        "assigned_team_ids": [],
        "tag_ids": ["t1", "t2"],
        "direction": "in",
        "priority": 3,
    }


def test_agent_state_of_an_active_session():
    session = {
        "id": "w1",
        "attributes": {
            "active": True,
            "statusType": "available",
            "signedInAt": CREATED,
            "capacityRemaining": 2,
            "totalTimeByStatus": {"s1": {"statusAt": "2026-03-02T15:00:00.000Z"}},
        },
        "relationships": {
            "user": {"data": {"id": "u1"}},
            "status": {"data": {"id": "s1"}},
            "queues": {"data": [{"id": "q1"}]},
        },
    }
    statuses = {"s1": {"attributes": {"name": "Lunch", "statusType": "unavailable"}}}
    queues = {"q1": {"attributes": {"name": "Chat"}}}
    state = agent_state(session, statuses, queues, "2026-03-02T16:00:00.000Z")
    assert state is not None
    assert (state["status_name"], state["status_type"], state["status_since"]) == (
        "Lunch",
        "unavailable",
        "2026-03-02T15:00:00.000Z",
    )
    assert state["queue_names"] == ["Chat"]
    session["attributes"]["signedOutAt"] = "2026-03-02T17:00:00.000Z"
    assert agent_state(session, statuses, queues, "x") is None


# Any JSON-ish value where the API sends a sub-object, a list, a string or a number.
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
_timestamp = st.none() | st.sampled_from(
    ["", "soon", "2026-03-02T14:35:34.848Z", "2026-03-02T15:00:00.000Z"]
)
_summary = (
    st.none()
    | _json
    | st.fixed_dictionaries(
        {},
        optional={
            "id": st.sampled_from(["m1", "m2"]),
            "channel": st.none() | st.sampled_from(["voice", "email", "chat", ""]),
            "directionType": st.sampled_from(["response-out", "initial-out", "initial-in"]),
            "sentAt": _timestamp,
            "createdAt": _timestamp,
            "businessTime": _json,
            "meta": _json
            | st.fixed_dictionaries(
                {}, optional={"placedAt": _timestamp, "answeredAt": _timestamp}
            ),
        },
    )
)
_attributes = st.fixed_dictionaries(
    {},
    optional={
        "createdAt": _timestamp,
        "status": _json,
        "channels": _json,
        "firstMessageIn": _summary,
        "firstMessageOut": _summary,
        "firstResponse": _summary,
        "assignedUsers": _json,
        "tags": _json,
        "priority": _json,
        "outboundMessageCount": _json,
    },
)


@pytest.mark.slow
@settings(max_examples=1500, deadline=None)
@given(
    attributes=_attributes,
    messages=st.none() | st.lists(_summary.filter(lambda m: isinstance(m, dict)), max_size=4),
    business=st.booleans(),
)
def test_any_mix_of_messy_sub_objects_gives_a_valid_ticket(attributes, messages, business):
    rules = TicketRules(use_business_time=business)
    record = ticket({"id": "c", "attributes": attributes}, messages, rules)
    assert record["status"] in {None, "closed", "open", "snoozed"}
    assert record["channel"] in {None, "Email", "Chat", "SMS", "Phone", "Social"}
    for key in ("assigned_user_ids", "assigned_team_ids", "tag_ids"):
        assert isinstance(record[key], list)
    duration = record["first_response_duration"]
    assert duration is None or (isinstance(duration, float) and math.isfinite(duration))
    if record["first_responded_at"] is None:
        assert duration is None
