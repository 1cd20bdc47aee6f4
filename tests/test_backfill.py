"""The backfill past search's 2-year horizon, its resumability, and the incremental job."""

from __future__ import annotations

import datetime as dt
import time

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
from hypothesis import given, settings
from hypothesis import strategies as st
from kustomer_api import OrgSpec

from tap_kustomer.records import parse_timestamp
from tap_kustomer.streams.feed import Consumer
from tap_kustomer.streams.history import HistoryPass, ListReader, created_at

pytestmark = pytest.mark.slow

HISTORY_STREAMS = ("conversations", "messages", "conversation_events", "tickets")
INCREMENTAL_STREAMS = ("conversations", "messages", "conversation_events", "customers", "tickets")
FIVE_YEARS = dt.timedelta(days=5 * 365)
TWO_YEARS = dt.timedelta(days=730)


def truth_ids(api, stream: str) -> set[str]:
    """Every object a client without the archive search can read: search hides
    soft-deleted conversations unless asked, the list endpoint hides them always
    (kustomer-api.md [?]), so those updated before the search horizon (and their
    events) cannot be reached."""
    horizon = dt.datetime.now(dt.timezone.utc) - TWO_YEARS
    hidden = {
        obj["id"]
        for obj in api.org.truth("conversations")
        if obj["attributes"].get("deleted")
        and parse_timestamp(obj["attributes"]["updatedAt"]) < horizon
    }
    if stream == "conversation_events":
        return {
            obj["id"]
            for obj in api.org.truth(stream)
            if obj["relationships"]["conversation"]["data"]["id"] not in hidden
        }
    source = "conversations" if stream == "tickets" else stream
    return {obj["id"] for obj in api.org.truth(source)} - hidden


def in_horizon_band(api, stream: str) -> set[str]:
    """Ids updated within 30 days (the default overlap) of the documented horizon.

    Events follow their conversation: they are read again with it.
    """
    horizon = dt.datetime.now(dt.timezone.utc) - TWO_YEARS
    band = dt.timedelta(days=30)
    source = stream if stream in ("conversations", "messages") else "conversations"
    ids = {
        obj["id"]
        for obj in api.org.truth(source)
        if abs(parse_timestamp(obj["attributes"]["updatedAt"]) - horizon) <= band
    }
    if stream != "conversation_events":
        return ids
    return {
        event["id"]
        for event in api.org.truth("conversation_events")
        if event["relationships"]["conversation"]["data"]["id"] in ids
    }


def start_date_for(api) -> str:
    now = dt.datetime.fromtimestamp(api.org.now_ms / 1000, tz=dt.timezone.utc)
    return (now - FIVE_YEARS - dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def five_years():
    # Without the archive search: the history comes from the list endpoints (the
    # archive route is tested in test_history.py).
    spec = OrgSpec(seed=5, conversations=1200, history_days=5 * 365)
    with unlimited_api(spec, archive_search="missing") as api:
        yield api


def test_the_seeded_org_reaches_past_the_search_horizon(five_years):
    now = dt.datetime.now(dt.timezone.utc)
    updated = [obj["attributes"]["updatedAt"] for obj in five_years.org.truth("conversations")]
    old = [u for u in updated if u < (now - TWO_YEARS).isoformat()]
    assert len(old) > len(updated) / 4, "a good part of the org is invisible to search"


def test_backfill_gets_every_record_of_every_year(five_years, unpaced):
    config = {
        "api_token": five_years.token,
        "api_url": five_years.base_url,
        "start_date": start_date_for(five_years),
    }
    result = run_tap(config, streams=HISTORY_STREAMS)
    for stream in HISTORY_STREAMS:
        got = result.ids(stream)
        expected = truth_ids(five_years, stream)
        assert set(got) == expected, stream
        # Only what was updated in the band both passes cover (horizon_overlap_days
        # either side of the documented horizon) may come twice.
        twice = {i for i in got if got.count(i) > 1}
        assert twice <= in_horizon_band(five_years, stream), f"{stream}: passes overlap"
        by_year = {}
        for object_id in got:
            year = created_at(object_id).year
            by_year[year] = by_year.get(year, 0) + 1
        assert len(by_year) >= 5, stream
    state = result.state["bookmarks"]["conversations"]
    assert state["position"]["history"] == {
        "done": True,
        "source": None,
        "archive": None,
        "list_before": None,
        "list_page": None,
    }


def test_a_later_full_run_does_not_read_history_again(five_years, unpaced):
    config = {
        "api_token": five_years.token,
        "api_url": five_years.base_url,
        "start_date": start_date_for(five_years),
        "search_lag_seconds": 0,
    }
    first = run_tap(config, streams=("conversations",))
    five_years.reset_stats()
    again = run_tap(config, state=first.state, streams=("conversations",))
    assert again.ids("conversations") == []
    # One search, and one page of the audit log for the stream's deletes.
    assert five_years.stats()["by_route"] == {
        "POST /v1/customers/search": 1,
        "GET /v1/audit-logs": 1,
    }


def test_a_list_pass_killed_in_every_stream_resumes_without_losing_a_record(tmp_path):
    spec = OrgSpec(seed=23, conversations=250, history_days=5 * 365)
    with unlimited_api(spec, archive_search="missing") as api:
        config_path = cli_config(api, tmp_path, start_date=start_date_for(api))
        catalog_path = selected_catalog(tmp_path, config_path, HISTORY_STREAMS)
        plan = (
            ("conversation_events", 150),
            ("conversations", 100),
            ("messages", 200),
            ("tickets", 100),
        )
        kills = [Kill(f"{stream} list pass", in_phase(stream, "history", n)) for stream, n in plan]
        records = run_killed_at(tmp_path, config_path, catalog_path, kills)
        for stream in HISTORY_STREAMS:
            missing = truth_ids(api, stream) - records.get(stream, set())
            assert not missing, f"{stream}: {len(missing)} missing after kills in the list pass"


@pytest.fixture(scope="module")
def quiet_org():
    # Nothing changed in the last 10 minutes, so the indexing-lag overlap is empty.
    spec = OrgSpec(seed=9, conversations=600, history_days=300, now=time.time() - 600)
    with unlimited_api(spec) as api:
        yield api


def test_an_incremental_run_with_nothing_changed_costs_one_request_per_stream(quiet_org, unpaced):
    config = {
        "api_token": quiet_org.token,
        "api_url": quiet_org.base_url,
        "start_date": "2020-01-01T00:00:00Z",
    }
    first = run_tap(config, streams=INCREMENTAL_STREAMS)
    quiet_org.reset_stats()
    again = run_tap(config, state=first.state, streams=INCREMENTAL_STREAMS)
    assert sum(len(again.records.get(s, [])) for s in INCREMENTAL_STREAMS) == 0
    assert quiet_org.stats()["requests"] <= len(INCREMENTAL_STREAMS)


def test_records_changed_during_a_run_are_picked_up_by_the_next(quiet_org, unpaced):
    config = {
        "api_token": quiet_org.token,
        "api_url": quiet_org.base_url,
        "start_date": "2020-01-01T00:00:00Z",
    }
    quiet_org.configure(mutate_during_search=1)
    try:
        first = run_tap(config, streams=("conversations", "messages"))
    finally:
        quiet_org.configure(mutate_during_search=0)
    second = run_tap(config, state=first.state, streams=("conversations", "messages"))
    for stream in ("conversations", "messages"):
        latest = {}
        for result in (first, second):
            for record in result.records.get(stream, []):
                latest[record["id"]] = record["updated_at"]
        expected = {
            obj["id"]: obj["attributes"]["updatedAt"] for obj in quiet_org.org.truth(stream)
        }
        stale = {k for k, v in expected.items() if latest.get(k) != v}
        assert not stale, f"{stream}: {len(stale)} stale or missing"


def list_reader(tap, stream_name: str, bound: dt.datetime) -> ListReader:
    stream = tap.streams[stream_name]
    history = HistoryPass([Consumer(stream)])
    return ListReader(history, str(stream.history_path), bound)


def test_the_list_pass_finds_its_first_page_in_a_few_requests(unpaced):
    spec = OrgSpec(seed=43, conversations=6000, history_days=5 * 365)
    with unlimited_api(spec) as api:
        config = {
            "api_token": api.token,
            "api_url": api.base_url,
            "start_date": start_date_for(api),
        }
        from tap_kustomer.tap import TapKustomer

        tap = TapKustomer(config=config)
        boundary = tap.run.started_at - TWO_YEARS
        api.reset_stats()
        page = list_reader(tap, "conversations", boundary).first_page(resume=None)
        probes = api.stats()["requests"]
        # The answer is right: the page before it is all newer than the boundary.
        newest_first = sorted(api.org.truth("conversations"), key=lambda c: c["id"], reverse=True)
        live = [c for c in newest_first if not c["attributes"].get("deleted")]
        before = live[(page - 2) * 100 : (page - 1) * 100]
        at = live[(page - 1) * 100 : page * 100]
        assert all(created_at(c["id"]) >= boundary for c in before)
        assert created_at(at[-1]["id"]) < boundary
        assert probes <= 6, f"{probes} requests to find page {page} of {len(live) // 100 + 1}"


@settings(max_examples=300, deadline=None)
@given(
    gaps=st.lists(st.integers(min_value=0, max_value=10**6), min_size=0, max_size=3000),
    cut=st.floats(min_value=0, max_value=1),
)
def test_the_first_list_page_is_exact_for_any_spacing_of_ids(gaps, cut):
    """Against a synthetic endpoint: ids newest first, created at arbitrary times."""
    from tap_kustomer.tap import TapKustomer

    newest = 1_700_000_000
    times = []
    for gap in gaps:
        newest -= gap
        times.append(newest)
    ids = [f"{t:08x}{i:016x}" for i, t in enumerate(times)]
    span = (times[0] - times[-1]) if times else 1
    boundary = dt.datetime.fromtimestamp(
        (times[-1] if times else newest) + span * cut, tz=dt.timezone.utc
    )
    pages = [ids[i : i + 100] for i in range(0, len(ids), 100)]

    def page_of(page):
        return [{"id": i} for i in pages[page - 1]] if page <= len(pages) else []

    reader = list_reader(TapKustomer(config={"api_token": "t"}), "conversations", boundary)
    reads = []
    reader._probe = lambda page: reads.append(page) or page_of(page)
    reader.may_hold_history = lambda: True
    expected = next(
        (n for n, page in enumerate(pages, start=1) if created_at(page[-1]) < boundary),
        len(pages) + 1,
    )
    assert reader.first_page(resume=None) == expected
    assert len(reads) <= 2 * max(1, len(pages)).bit_length() + 2


def test_an_org_without_history_costs_the_full_mode_one_archive_search_per_context(
    quiet_org, unpaced
):
    config = {
        "api_token": quiet_org.token,
        "api_url": quiet_org.base_url,
        "start_date": "2020-01-01T00:00:00Z",
    }
    quiet_org.reset_stats()
    result = run_tap(config, streams=("conversations", "tickets", "messages"))
    routes = quiet_org.stats()["by_route"]
    # One archive search per search context (conversations and tickets share theirs) finds
    # nothing before the horizon.
    assert routes["POST /v1/customers/archive/search"] == 2
    assert "GET /v1/conversations" not in routes
    assert result.state["bookmarks"]["tickets"]["position"]["history"]["done"] is True
