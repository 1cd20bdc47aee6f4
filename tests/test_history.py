"""Five years against an API that behaves as Kustomer's documentation and reports say it may.

Ties come back in a new order on every request and tied records are edited while the
tap walks them; history is read through the archive search; the list endpoints stop
at 10,000 records, by a 400 or by an empty page.
"""

from __future__ import annotations

import datetime as dt
import math

import pytest
from conftest import cli_config, run_cli, run_tap, selected_catalog, unlimited_api
from kustomer_api import OrgSpec

from tap_kustomer.records import parse_timestamp

pytestmark = pytest.mark.slow

TWO_YEARS = dt.timedelta(days=730)
SEARCH_STREAMS = ("conversations", "messages", "conversation_events", "tickets", "customers")
ARCHIVE = "POST /v1/customers/archive/search"
# Inside the search horizon: the tie tests need no history pass.
RECENT_START = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=700)).strftime(
    "%Y-%m-%dT%H:%M:%SZ"
)


def final_versions(api, stream: str) -> dict[str, str]:
    source = "conversations" if stream == "tickets" else stream
    return {o["id"]: o["attributes"]["updatedAt"] for o in api.org.truth(source)}


def latest_emitted(records: list[dict]) -> dict[str, str]:
    latest: dict[str, str] = {}
    for record in records:
        if record["updated_at"] >= latest.get(record["id"], ""):
            latest[record["id"]] = record["updated_at"]
    return latest


def event_ids(api) -> set[str]:
    return {o["id"] for o in api.org.truth("conversation_events")}


# ---- ties in a new order per request, edited while walked ------------------------------


@pytest.fixture(scope="module")
def shuffled_ties():
    # 700 of 1,500 conversations (and 700 messages) share one updatedAt.
    spec = OrgSpec(seed=13, conversations=1500, history_days=540, tie_size=700)
    with unlimited_api(spec, tie_order="shuffled") as api:
        yield api


@pytest.mark.parametrize("stream", ["conversations", "tickets", "conversation_events", "messages"])
def test_shuffled_ties_edited_mid_walk_lose_nothing(shuffled_ties, stream, unpaced):
    api = shuffled_ties
    api.configure(edit_tied_records=5)
    api.reset_stats()
    config = {
        "api_token": api.token,
        "api_url": api.base_url,
        "start_date": RECENT_START,
        # Pages of 200: the 700-tie is served by enough responses for five edits.
        "page_size": 200,
    }
    result = run_tap(config, streams=(stream,))
    stats = api.stats()
    assert stats["tie_edits"] == 5, "five tied records were edited while the tap walked the tie"
    records = result.records[stream]
    if stream == "conversation_events":
        assert event_ids(api) <= {r["id"] for r in records}
        return
    expected = final_versions(api, stream)
    got = latest_emitted(records)
    missing = [i for i, updated in expected.items() if got.get(i) != updated]
    assert not missing, f"{stream}: {len(missing)} of {len(expected)} missing or stale"
    edited = set(stats["tie_edited_ids"])
    assert edited <= got.keys()


def test_ties_are_walked_by_page_one_queries_only(shuffled_ties, unpaced):
    api = shuffled_ties
    api.configure(edit_tied_records=0)
    config = {"api_token": api.token, "api_url": api.base_url, "start_date": RECENT_START}
    api.reset_stats()
    result = run_tap(config, streams=("conversations",))
    searches = api.stats()["by_route"]["POST /v1/customers/search"]
    # 1,500 conversations at 500 a page, plus the walk of the 700-tie (2 pages) and
    # the query after it.
    assert searches <= math.ceil(1500 / 500) + 4
    assert len(result.ids("conversations")) == len(set(result.ids("conversations")))


# ---- five years through the archive search, with capped lists ---------------------------


@pytest.fixture(scope="module")
def five_years_capped():
    # 70% of 3,500 conversations (with their messages and customers) last updated over two
    # years ago: more than 10,000 messages only the archive or an uncapped list can reach.
    spec = OrgSpec(seed=31, conversations=3500, history_days=5 * 365, old_fraction=0.7)
    with unlimited_api(spec, list_max_records=10_000) as api:
        yield api


def start_date_for(api) -> str:
    now = dt.datetime.fromtimestamp(api.org.now_ms / 1000, tz=dt.timezone.utc)
    return (now - dt.timedelta(days=5 * 365 + 2)).strftime("%Y-%m-%dT%H:%M:%SZ")


def old_count(api, stream: str) -> int:
    horizon = dt.datetime.now(dt.timezone.utc) - TWO_YEARS
    return sum(
        parse_timestamp(o["attributes"]["updatedAt"]) < horizon for o in api.org.truth(stream)
    )


def test_the_org_has_more_history_than_a_capped_list_reaches(five_years_capped):
    assert old_count(five_years_capped, "messages") > 10_000
    conversations = five_years_capped.org.truth("conversations")
    assert old_count(five_years_capped, "conversations") >= 0.65 * len(conversations)
    assert old_count(five_years_capped, "customers") > 0


def test_five_years_arrive_whole_through_the_archive_search(five_years_capped, unpaced):
    # The lists' caps do not matter here: the archive search serves the history, and no
    # list is read (below). How a capped list answers is tested where one is read.
    api = five_years_capped
    api.reset_stats()
    config = {"api_token": api.token, "api_url": api.base_url, "start_date": start_date_for(api)}
    result = run_tap(config, streams=SEARCH_STREAMS)
    for stream in ("conversations", "messages", "tickets", "customers"):
        expected = final_versions(api, stream)
        got = latest_emitted(result.records[stream])
        missing = [i for i, updated in expected.items() if got.get(i) != updated]
        assert not missing, f"{stream}: {len(missing)} of {len(expected)} missing"
    assert event_ids(api) <= set(result.ids("conversation_events"))
    # The lists are never read: the archive search serves the history.
    routes = api.stats()["by_route"]
    assert "GET /v1/conversations" not in routes
    assert "GET /v1/messages" not in routes
    for stream in SEARCH_STREAMS:
        assert result.state["bookmarks"][stream]["position"]["history"]["done"] is True


def test_history_costs_one_archive_search_per_500_objects(five_years_capped, unpaced):
    api = five_years_capped
    config = {"api_token": api.token, "api_url": api.base_url, "start_date": start_date_for(api)}
    for stream in ("conversations", "messages", "customers"):
        api.reset_stats()
        run_tap(config, streams=(stream,))
        archived = api.stats()["by_route"][ARCHIVE]
        # Keyset pages of 500 (the last one not full), no ties in this org.
        assert archived <= math.floor(old_count(api, stream) / 500) + 1, stream


# Each refusal and each way a capped list answers, once: the two are independent.
@pytest.mark.parametrize(("refusal", "cap_mode"), [("forbidden", "error"), ("missing", "empty")])
def test_a_refused_archive_with_capped_lists_fails_naming_the_gap(
    five_years_capped, tmp_path, refusal, cap_mode
):
    api = five_years_capped
    # Kustomer's error bodies come in two documented shapes: one per refusal here.
    shape = "code_message" if refusal == "forbidden" else "jsonapi"
    api.configure(archive_search=refusal, list_cap_mode=cap_mode, error_shape=shape)
    try:
        config = cli_config(api, tmp_path, start_date=start_date_for(api))
        catalog = selected_catalog(tmp_path, config, ("messages",))
        run = run_cli(["--config", str(config), "--catalog", str(catalog)])
    finally:
        api.configure(archive_search="on", error_shape="jsonapi")
    assert run.returncode == 1
    failures = [line for line in run.stderr.splitlines() if "tap-kustomer failed" in line]
    assert len(failures) == 1, run.stderr[-2000:]
    (line,) = failures
    assert "messages: /v1/messages answered page" in line
    assert "are unread" in line
    if cap_mode == "error":
        assert "Page limit exceeded" in line, "Kustomer's own words"
    assert "the archive search of message was refused" in run.stderr
    assert "Traceback" not in run.stderr


def test_a_refused_archive_reads_customers_past_the_horizon_from_their_list(
    five_years_capped, unpaced
):
    api = five_years_capped
    api.configure(archive_search="missing")
    api.reset_stats()
    try:
        config = {"api_token": api.token, "api_url": api.base_url}
        result = run_tap({**config, "start_date": start_date_for(api)}, streams=("customers",))
    finally:
        api.configure(archive_search="on")
    # The list hides soft-deleted customers: those only the archive search could give.
    expected = {
        i: updated
        for i, updated in final_versions(api, "customers").items()
        if not api.org.get(i)["attributes"].get("deleted")
    }
    got = latest_emitted(result.records["customers"])
    missing = [i for i, updated in expected.items() if got.get(i) != updated]
    assert not missing, f"{len(missing)} of {len(expected)} customers missing"
    assert old_count(api, "customers") > 0
    assert api.stats()["by_route"]["GET /v1/customers"] > 0
