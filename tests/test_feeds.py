"""One conversation scan per run feeds conversations, tickets and conversation_events."""

from __future__ import annotations

import threading

import pytest
from conftest import (
    Kill,
    cli_config,
    in_phase,
    run_killed_at,
    run_tap,
    selected_catalog,
    unlimited_api,
)
from kustomer_api import OrgSpec
from test_faults import visible_truth

from tap_kustomer.channel import Channel, ChannelClosedError

CONVERSATION_STREAMS = ("conversation_events", "conversations", "tickets")
SEARCH_ROUTE = "POST /v1/customers/search"
ARCHIVE_ROUTE = "POST /v1/customers/archive/search"


@pytest.fixture(scope="module")
def api():
    # A third of the conversations past the search horizon: the archive pass is shared too.
    spec = OrgSpec(seed=53, conversations=1200, history_days=1500, old_fraction=0.3)
    with unlimited_api(spec) as server:
        yield server


def config_for(api, **extra):
    return {
        "api_token": api.token,
        "api_url": api.base_url,
        "start_date": "2020-01-01T00:00:00Z",
        "page_size": 200,
        **extra,
    }


def searches(api) -> tuple[int, int]:
    routes = api.stats()["by_route"]
    return routes.get(SEARCH_ROUTE, 0), routes.get(ARCHIVE_ROUTE, 0)


@pytest.mark.slow
def test_one_scan_feeds_all_three_with_the_records_and_state_of_separate_runs(api, unpaced):
    config = config_for(api)
    alone = {}
    alone_searches = {}
    for stream in CONVERSATION_STREAMS:
        api.reset_stats()
        alone[stream] = run_tap(config, streams=(stream,))
        alone_searches[stream] = searches(api)
    api.reset_stats()
    together = run_tap(config, streams=CONVERSATION_STREAMS)
    # The searches of one scan (and one archive pass), not three.
    assert searches(api) == alone_searches["conversations"]
    assert alone_searches["conversations"][1] >= 2, "the archive pass is part of the scan"
    for stream in CONVERSATION_STREAMS:
        assert together.records[stream] == alone[stream].records[stream], stream
        assert without_lag_floor(together, stream) == without_lag_floor(alone[stream], stream)


def without_lag_floor(result, stream: str) -> dict:
    """A stream's final STATE less what depends on the run's start: the search position (the
    start less the lag) and where its deletes start (the start of its first run)."""
    bookmark = dict(result.state["bookmarks"][stream])
    bookmark.pop("deletes_since", None)
    position = dict(bookmark.pop("position"))
    position["search"] = dict(position["search"], resume_from="the run's lag floor")
    return {**bookmark, "position": position}


def test_streams_resumed_from_different_positions_each_read_only_what_they_lack(api, unpaced):
    config = config_for(api, search_lag_seconds=0)
    first = run_tap(config, streams=("conversations",))
    touched = api.mutate("conversations", 40)
    # conversations resumes from its STATE, tickets starts afresh: one scan serves both.
    again = run_tap(config, state=first.state, streams=("conversations", "tickets"))
    assert set(touched) <= set(again.ids("conversations"))
    assert len(again.ids("conversations")) < 60
    assert set(again.ids("tickets")) == set(first.ids("conversations"))


def test_events_start_date_keeps_events_to_a_shorter_window(api, unpaced):
    events_start = "2026-01-01T00:00:00Z"
    config = config_for(api, events_start_date=events_start)
    api.reset_stats()
    result = run_tap(config, streams=("conversation_events", "conversations"))
    updated = [r["conversation_updated_at"] for r in result.records["conversation_events"]]
    assert updated
    assert min(updated) >= events_start
    conversations_in_window = {
        r["id"] for r in result.records["conversations"] if r["updated_at"] >= events_start
    }
    event_requests = api.stats()["by_route"].get("GET /v1/conversations/{id}/events", 0)
    # One request per conversation in the window (a second page where it has over 100 events).
    assert len(conversations_in_window) <= event_requests < 1.1 * len(conversations_in_window)
    assert min(r["updated_at"] for r in result.records["conversations"]) < "2023-01-01"


@pytest.mark.slow
def test_a_kill_during_the_shared_scan_resumes_with_nothing_lost(api, tmp_path):
    config_path = cli_config(api, tmp_path, start_date="2020-01-01T00:00:00Z", page_size=200)
    catalog_path = selected_catalog(tmp_path, config_path, CONVERSATION_STREAMS)
    kills = [
        Kill(
            "events while the scan feeds all three", in_phase("conversation_events", "search", 200)
        ),
        Kill("conversations from the channel", in_phase("conversations", "history", 50)),
        Kill("tickets after a resumed scan", in_phase("tickets", "any", 300)),
    ]
    records = run_killed_at(tmp_path, config_path, catalog_path, kills)
    conversations = set(visible_truth(api, "conversations"))
    assert records["conversations"] >= conversations
    assert records["tickets"] >= conversations
    assert records["conversation_events"] >= set(visible_truth(api, "conversation_events"))


def test_a_channel_keeps_order_across_its_spill_to_disk():
    channel = Channel(memory_records=5)
    sent = [([{"n": n}] * (n % 3), [["mark", n]]) for n in range(200)]

    def produce():
        for records, marks in sent:
            channel.put(records, marks)
        channel.close()

    producer = threading.Thread(target=produce)
    producer.start()
    got = list(channel.items())
    producer.join()
    assert got == sent


def test_a_channel_raises_the_producers_error_after_its_last_item_and_stops_it():
    channel = Channel(memory_records=1)
    channel.put([{"a": 1}], [])
    channel.put([{"a": 2}], [])
    channel.close(RuntimeError("refused"))
    items = channel.items()
    assert next(items) == ([{"a": 1}], [])
    assert next(items) == ([{"a": 2}], [])
    with pytest.raises(RuntimeError, match="refused"):
        next(items)
    channel.stop()
    with pytest.raises(ChannelClosedError):
        channel.put([], [])
