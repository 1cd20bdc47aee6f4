"""Every stream against the local Kustomer API: complete, exact, incremental."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import (
    ALL_STREAMS,
    ENDPOINT_STREAMS,
    LOG_STREAMS,
    run_tap,
    unlimited_api,
    unpaced_runs,
)
from kustomer_api import OrgSpec
from kustomer_api.seed import OBJECT_STREAMS

from tap_kustomer.records import parse_timestamp

pytestmark = pytest.mark.slow

LAG_SECONDS = 60


@pytest.fixture(scope="module")
def api():
    # A few thousand conversations; 1,200 conversations and 1,200 messages share one
    # updatedAt (more than a 500 page); ~15,000 messages is past the 10,000 search cap.
    spec = OrgSpec(seed=11, conversations=3000, history_days=540, tie_size=1200)
    with unlimited_api(spec) as server:
        yield server


@pytest.fixture(scope="module")
def config(api):
    return {
        "api_token": api.token,
        "api_url": api.base_url,
        "start_date": "2020-01-01T00:00:00Z",
        "search_lag_seconds": LAG_SECONDS,
    }


@pytest.fixture(scope="module")
def first_run(api, config):
    with unpaced_runs():
        started = dt.datetime.now(dt.timezone.utc)
        result = run_tap(config)
    return started, result


def truth(api, stream):
    return {obj["id"]: obj["attributes"]["updatedAt"] for obj in api.org.truth(stream)}


@pytest.mark.parametrize("stream", ENDPOINT_STREAMS)
def test_every_seeded_record_arrives_exactly_once(api, first_run, stream):
    _, result = first_run
    records = result.records.get(stream, [])
    expected = truth(api, stream)
    got = {r["id"]: r["updated_at"] for r in records}
    assert len(records) == len(got), "no record is emitted twice in one run"
    missing = expected.keys() - got.keys()
    assert not missing, f"{len(missing)} of {len(expected)} {stream} missing"
    assert got.keys() == expected.keys()
    assert got == expected


def test_one_schema_message_per_stream(first_run):
    _, result = first_run
    # The issue-15 streams are synced too (their records are checked in test_objects.py).
    every = (*ALL_STREAMS, *OBJECT_STREAMS, "custom_attributes", *LOG_STREAMS)
    assert result.schemas == dict.fromkeys(every, 1)


def test_deleted_and_deactivated_directory_records_are_emitted_with_their_flag(first_run):
    _, result = first_run
    for stream in ("users", "teams", "tags"):
        flags = {r["deleted"] for r in result.records[stream]}
        assert flags == {True, False}, stream


def test_records_follow_the_shape_rule(first_run):
    _, result = first_run
    conversation = next(r for r in result.records["conversations"] if r.get("queue_id"))
    assert {
        "created_at",
        "updated_at",
        "message_count",
        "customer_id",
        "org_id",
    } <= conversation.keys()
    assert "attributes" not in conversation
    assert "relationships" not in conversation
    session = next(r for r in result.records["work_sessions"] if r["queue_ids"])
    assert isinstance(session["queue_ids"], list)
    assert session["user_id"]


def test_a_second_run_with_nothing_changed_repeats_only_the_overlap(
    api, config, first_run, unpaced
):
    started, result = first_run
    again = run_tap(config, state=result.state)
    overlap_start = started - dt.timedelta(seconds=LAG_SECONDS + 1)
    for stream in ("conversations", "messages", "customers"):
        for record in again.records.get(stream, []):
            assert parse_timestamp(record["updated_at"]) >= overlap_start, stream
    # The directory and routing lists are small and read whole each run.
    assert len(again.records["users"]) == len(truth(api, "users"))


def test_changes_after_a_run_are_picked_up_by_the_next(api, config, first_run, unpaced):
    _, result = first_run
    changed = set(api.mutate("conversations", count=7))
    changed_messages = set(api.mutate("messages", count=5))
    after = run_tap(
        config, state=result.state, streams=("conversations", "messages", "conversation_events")
    )
    assert changed <= set(after.ids("conversations"))
    assert changed_messages <= set(after.ids("messages"))
    with_events = {
        event["relationships"]["conversation"]["data"]["id"]
        for event in api.org.truth("conversation_events")
    }
    refetched = {r["conversation_id"] for r in after.records["conversation_events"]}
    assert changed & with_events <= refetched
