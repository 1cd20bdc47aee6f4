"""The record shape rule: snake_case attributes, relationship ids, nested objects untouched."""

from __future__ import annotations

from tap_kustomer.records import flatten, format_timestamp, parse_timestamp


def test_flattens_a_real_work_session_shape():
    obj = {
        "type": "work_session",
        "id": "6021541b2819dc001bda6686",
        "attributes": {
            "statusType": "offline",
            "signedInAt": "2021-02-08T15:09:15.058Z",
            "totalTimeByStatus": {"5f7763a0ead38a001a5a526a": {"statusAt": "x", "time": 1}},
        },
        "relationships": {
            "user": {"data": {"type": "user", "id": "u1"}, "links": {"self": "/v1/users/u1"}},
            "queues": {"data": [{"type": "queue", "id": "q1"}, {"type": "queue", "id": "q2"}]},
            "workItems": {"data": []},
            "pendingItem": {"data": None},
            "messages": {"links": {"self": "/v1/conversations/c/messages"}},
            "modifiedBy": {"data": {"type": "user", "id": "u2"}},
        },
        "links": {"self": "/v1/routing/work-sessions/6021541b2819dc001bda6686"},
    }
    assert flatten(obj) == {
        "id": "6021541b2819dc001bda6686",
        "status_type": "offline",
        "signed_in_at": "2021-02-08T15:09:15.058Z",
        # nested objects keep the API's own keys
        "total_time_by_status": {"5f7763a0ead38a001a5a526a": {"statusAt": "x", "time": 1}},
        "user_id": "u1",
        "queue_ids": ["q1", "q2"],
        "work_item_ids": [],
        "pending_item_id": None,
        "modified_by_id": "u2",
    }


def test_missing_attributes_and_relationships_give_just_the_id():
    assert flatten({"id": "x", "attributes": None}) == {"id": "x"}


def test_timestamps_round_trip_in_kustomers_format():
    value = "2022-03-02T14:35:34.848Z"
    assert format_timestamp(parse_timestamp(value)) == value
