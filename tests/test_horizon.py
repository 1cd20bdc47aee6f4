"""The two-year boundary and the archive search's contexts, as Kustomer may really draw them.

Kustomer documents only "updated in the past two years" for search and "older than 2
years ago" for the archive search, which it documents for messages, conversations,
companies and custom objects. The local API moves the boundary (``search_horizon_days``)
and refuses contexts (``archive_refused_contexts``, by a 400 or by an empty answer); the
org's objects are spread over 800 days, so every band around the boundary holds some.
"""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import cli_config, run_cli, run_tap, selected_catalog, unlimited_api
from kustomer_api import OrgSpec

from tap_kustomer.records import parse_timestamp

pytestmark = pytest.mark.slow

SEARCH = "POST /v1/customers/search"
ARCHIVE = "POST /v1/customers/archive/search"
# One stream per search context: each context's history is its own pass.
STREAMS = ("conversations", "messages", "customers", "companies", "notes", "kobjects")
DAY = dt.timedelta(days=1)


@pytest.fixture(scope="module")
def api():
    with unlimited_api(OrgSpec(seed=41, conversations=500, history_days=800)) as server:
        yield server


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def config_for(api, *, days_back: int = 805, **settings) -> dict:
    start = (now() - days_back * DAY).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"api_token": api.token, "api_url": api.base_url, "start_date": start, **settings}


def missing(api, result, stream: str, *, since: dt.datetime | None = None) -> list[str]:
    """Objects whose last version the run did not emit (updated since ``since``)."""
    got: dict[str, str] = {}
    for record in result.records.get(stream, []):
        got[record["id"]] = max(got.get(record["id"], ""), record["updated_at"])
    return [
        obj["id"]
        for obj in api.org.truth(stream)
        if (since is None or parse_timestamp(obj["attributes"]["updatedAt"]) >= since)
        and got.get(obj["id"]) != obj["attributes"]["updatedAt"]
    ]


def test_every_band_around_the_boundary_holds_objects(api):
    ages = [
        (now() - parse_timestamp(o["attributes"]["updatedAt"])) / DAY
        for stream in ("conversations", "messages", "customers")
        for o in api.org.truth(stream)
    ]
    for low, high in ((680, 700), (700, 730), (730, 760), (760, 780)):
        assert sum(low <= age < high for age in ages) >= 20, (low, high)


@pytest.mark.parametrize("horizon_days", [700, 730, 760])
def test_a_boundary_anywhere_from_700_to_760_days_loses_nothing(api, horizon_days, unpaced):
    api.configure(search_horizon_days=horizon_days)
    try:
        result = run_tap(config_for(api), streams=STREAMS)
    finally:
        api.configure(search_horizon_days=730)
    for stream in STREAMS:
        assert not missing(api, result, stream), f"{stream} at a {horizon_days}-day boundary"


def test_without_the_overlap_a_longer_horizon_loses_the_band(api, unpaced):
    # The proof above must be able to fail: with no overlap, search starts at 730 days and
    # the archive holds only what is older than 760, so the band between is in neither.
    api.configure(search_horizon_days=760)
    try:
        result = run_tap(config_for(api, horizon_overlap_days=0), streams=("conversations",))
    finally:
        api.configure(search_horizon_days=730)
    assert missing(api, result, "conversations")


def test_a_start_date_inside_the_band_still_reads_the_history(api, unpaced):
    # start_date 720 days back with a 700-day boundary: what was updated between 720 and
    # 700 days ago is only in the archive, although start_date is "within two years".
    api.configure(search_horizon_days=700)
    try:
        config = config_for(api, days_back=720)
        result = run_tap(config, streams=("conversations", "messages"))
        archived = api.stats()["by_route"].get(ARCHIVE, 0)
    finally:
        api.configure(search_horizon_days=730)
    since = parse_timestamp(config["start_date"])
    for stream in ("conversations", "messages"):
        assert not missing(api, result, stream, since=since), stream
    assert archived > 0


def test_the_overlap_costs_at_most_one_search_page_per_stream(api, unpaced):
    searches = {}
    for overlap in (0, 30):
        api.reset_stats()
        run_tap(config_for(api, horizon_overlap_days=overlap), streams=STREAMS)
        routes = api.stats()["by_route"]
        searches[overlap] = (routes[SEARCH], routes[ARCHIVE])
    (search_0, archive_0), (search_30, archive_30) = searches[0], searches[30]
    assert search_30 <= search_0 + len(STREAMS)
    assert archive_30 <= archive_0 + len(STREAMS)


def live_or_recent(api, stream: str) -> set[str]:
    """Ids a lossless read must give when history comes from the list, which hides deleted."""
    horizon = now() - 760 * DAY
    return {
        o["id"]
        for o in api.org.truth(stream)
        if not (
            o["attributes"].get("deleted")
            and parse_timestamp(o["attributes"]["updatedAt"]) < horizon
        )
    }


@pytest.mark.parametrize("refusal", ["error", "empty"])
def test_contexts_the_archive_refuses_read_their_history_from_their_lists(
    api, refusal, unpaced, caplog
):
    api.configure(archive_refused_contexts=["customer", "note"], archive_refusal=refusal)
    api.reset_stats()
    try:
        result = run_tap(config_for(api), streams=STREAMS)
    finally:
        api.configure(archive_refused_contexts=[], archive_refusal="error")
    routes = api.stats()["by_route"]
    for stream in ("customers", "notes"):
        absent = set(missing(api, result, stream)) & live_or_recent(api, stream)
        assert not absent, f"{stream}: {len(absent)} missing ({refusal})"
    for context, path in (("customer", "/v1/customers"), ("note", "/v1/notes")):
        warnings = [
            r.getMessage()
            for r in caplog.records
            if f"archive search of {context} " in r.getMessage()
        ]
        assert len(warnings) == 1, warnings
        assert path in warnings[0]
        assert routes.get(f"GET {path}", 0) > 0
    # The other contexts keep the archive search: no list of theirs is read.
    for stream in ("conversations", "messages", "companies", "kobjects"):
        assert not missing(api, result, stream), stream
    assert "GET /v1/conversations" not in routes
    assert "GET /v1/messages" not in routes


def test_a_note_list_that_ignores_sort_stops_the_run_naming_the_gap(api, tmp_path):
    api.configure(archive_refused_contexts=["note"], notes_sort_ignored=True)
    try:
        config = cli_config(api, tmp_path, start_date=config_for(api)["start_date"])
        catalog = selected_catalog(tmp_path, config, ("notes",))
        run = run_cli(["--config", str(config), "--catalog", str(catalog)])
    finally:
        api.configure(archive_refused_contexts=[], notes_sort_ignored=False)
    assert run.returncode == 1
    failures = [line for line in run.stderr.splitlines() if "tap-kustomer failed" in line]
    assert len(failures) == 1, run.stderr[-2000:]
    assert "notes: /v1/notes answered page" in failures[0]
    assert "oldest first" in failures[0]
    assert "Traceback" not in run.stderr
