"""Per-conversation requests run a few at a time, yet output and STATE are those of a sequential run."""

from __future__ import annotations

import time

import pytest
from conftest import run_tap, unlimited_api
from kustomer_api import OrgSpec

from tap_kustomer.concurrency import ordered_map

pytestmark = pytest.mark.slow

STREAMS = ("conversation_events", "tickets")


@pytest.fixture(scope="module")
def api():
    spec = OrgSpec(seed=29, conversations=400, history_days=1000, now=time.time() - 600)
    with unlimited_api(spec, latency_ms=2) as server:
        yield server


def test_concurrent_children_give_the_records_and_state_of_a_sequential_run(api, unpaced):
    config = {"api_token": api.token, "api_url": api.base_url, "start_date": "2020-01-01T00:00:00Z"}
    # The worker count follows the budget: 60/min gives one worker, 2000/min 32.
    sequential = run_tap({**config, "max_requests_per_minute": 60}, streams=STREAMS)
    concurrent = run_tap({**config, "max_requests_per_minute": 2000}, streams=STREAMS)
    for stream in STREAMS:
        assert concurrent.records[stream] == sequential.records[stream], stream
    assert without_run_start(concurrent.state) == without_run_start(sequential.state)
    # And every STATE written mid-run only claims work already written.
    assert len(concurrent.states) == len(sequential.states)


def without_run_start(state: dict) -> dict:
    """The bookmarks less where each stream's deletes start: a first run's own start time."""
    bookmarks = {}
    for stream, bookmark in state["bookmarks"].items():
        bookmarks[stream] = {k: v for k, v in bookmark.items() if k != "deletes_since"}
        assert bookmark.get("deletes_since", {}).get("after") is None, stream
    return bookmarks


def test_ordered_map_keeps_order_and_bounds_work_in_flight():
    in_flight = 0
    most = 0

    def slow_square(n):
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        time.sleep(0.001 * (n % 5))
        in_flight -= 1
        return n * n

    consumed = iter(range(200))
    results = list(ordered_map(slow_square, consumed, workers=4))
    assert results == [(n, n * n) for n in range(200)]
    assert most <= 4


def test_ordered_map_raises_an_error_at_its_turn():
    def fail_on_seven(n):
        if n == 7:
            raise ValueError(n)
        return n

    seen = []

    def consume():
        for item, _ in ordered_map(fail_on_seven, range(20), workers=3):
            seen.append(item)

    with pytest.raises(ValueError, match="7"):
        consume()
    assert seen == list(range(7))
