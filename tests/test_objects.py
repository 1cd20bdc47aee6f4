"""The issue-15 streams against the local Kustomer API: complete, exact, valid and cheap when idle.

One small org with history past the search horizon (so companies, notes, KObjects and the
messages that carry files are read partly through the archive search), customers linked to
companies and files on some messages; one full run serves most tests.
"""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import run_tap, unlimited_api, unpaced_runs
from jsonschema import Draft7Validator
from kustomer_api import OrgSpec
from kustomer_api.auth import ALL_ROLES
from kustomer_api.seed import OBJECT_STREAMS
from kustomer_api.seed.side import ms

HISTORY_DAYS = 1100
SEARCH_STREAMS = ("companies", "notes", "kobjects", "attachments")
# Pages of two: a keyset page repeats the last hit of the page before, so each page past
# the first brings one object, and a scan that drops a page loses one. Each stream here
# has more than two pages of search and two or more of history (companies: 2 objects).
PAGED_STREAMS = ("companies", "notes", "kobjects")
PAGE_SIZE = 2
STREAMS = (*OBJECT_STREAMS, "custom_attributes")


@pytest.fixture(scope="module")
def api():
    spec = OrgSpec(
        seed=61, conversations=150, history_days=HISTORY_DAYS, old_fraction=0.3, object_links=True
    )
    with unlimited_api(spec) as server:
        yield server


@pytest.fixture(scope="module")
def unpaced_module():
    with unpaced_runs():
        yield


@pytest.fixture(scope="module")
def config(api):
    now = dt.datetime.fromtimestamp(api.org.now_ms / 1000, tz=dt.timezone.utc)
    start = now - dt.timedelta(days=HISTORY_DAYS + 1)
    return {
        "api_token": api.token,
        "api_url": api.base_url,
        "start_date": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


@pytest.fixture(scope="module")
def first_run(api, config, unpaced_module):
    return run_tap(config, streams=STREAMS)


@pytest.fixture(scope="module")
def paged_runs(api, config, unpaced_module):
    """Per stream, a full run in pages of two, and the search requests it sent."""
    runs = {}
    for stream in PAGED_STREAMS:
        api.reset_stats()
        result = run_tap({**config, "page_size": PAGE_SIZE}, streams=(stream,))
        runs[stream] = result, api.stats()["by_route"]
    return runs


def truth(api, stream):
    return {o["id"]: o for o in api.org.truth(stream)}


def attribute_truth(api):
    return {
        f"{doc['id']}.{name}": doc["attributes"]["updatedAt"]
        for doc in api.org.truth("metadata")
        for name in doc["attributes"]["properties"]
    }


def test_the_org_has_objects_past_the_search_horizon(api):
    horizon_ms = api.org.now_ms - 730 * 86_400_000
    for stream in ("companies", "notes", "kobjects", "attachments"):
        times = [ms(o["attributes"]["updatedAt"]) for o in api.org.truth(stream)]
        assert min(times) < horizon_ms < max(times), stream


@pytest.mark.parametrize("stream", OBJECT_STREAMS)
def test_every_object_arrives_once_with_its_updated_at(api, first_run, stream):
    records = first_run.records.get(stream, [])
    expected = {i: o["attributes"].get("updatedAt") for i, o in truth(api, stream).items()}
    got = {r["id"]: r["updated_at"] for r in records}
    assert len(records) == len(got), "no record is emitted twice in one run"
    missing = expected.keys() - got.keys()
    assert not missing, f"{len(missing)} of {len(expected)} {stream} missing"
    assert got == expected


@pytest.mark.parametrize("stream", PAGED_STREAMS)
def test_a_scan_of_many_pages_reads_every_object_once(api, paged_runs, stream):
    result, routes = paged_runs[stream]
    searches = routes.get("POST /v1/customers/search", 0)
    history = routes.get("POST /v1/customers/archive/search", 0) + routes.get(
        f"GET /v1/{stream}", 0
    )
    assert searches > 2, routes
    assert history >= 2, routes
    ids = result.ids(stream)
    assert len(ids) == len(set(ids))
    assert set(ids) == truth(api, stream).keys()


def test_every_custom_attribute_arrives_once(api, first_run):
    records = first_run.records["custom_attributes"]
    got = {r["id"]: r["metadata_updated_at"] for r in records}
    assert len(records) == len(got)
    assert got == attribute_truth(api)
    tier = next(r for r in records if r["id"] == "customer.tierStr")
    assert (tier["resource"], tier["name"], tier["enumeration"]) == ("customer", "tierStr", True)
    assert {r["resource"] for r in records} >= {"conversation", "kobject.ecomm-order"}


@pytest.mark.parametrize("stream", STREAMS)
def test_every_record_is_valid_against_its_schema(first_run, stream):
    schema = first_run.schema_of[stream]
    validator = Draft7Validator(schema, format_checker=Draft7Validator.FORMAT_CHECKER)
    records = first_run.records[stream]
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message[:120]}"
        for record in records
        for e in validator.iter_errors(record)
    ]
    assert not errors, errors[:5]
    # Every record carries every property of its schema, and nothing else.
    assert all(record.keys() == schema["properties"].keys() for record in records)


def test_relations_are_resolved(api, first_run):
    records = first_run.records
    klass_names = {k["id"]: k["attributes"]["name"] for k in api.org.truth("klasses")}
    assert all(r["klass_name"] == klass_names[r["klass_id"]] for r in records["kobjects"])
    messages = {m["id"]: m for m in api.org.truth("messages")}
    for attachment in records["attachments"]:
        message = messages[attachment["message_id"]]
        conversation = message["relationships"]["conversation"]["data"]["id"]
        assert attachment["conversation_id"] == conversation
        assert attachment["message_updated_at"] == message["attributes"]["updatedAt"]
        assert attachment["content_type"]
    slas = {s["id"]: s for s in api.org.truth("slas")}
    for version in records["sla_versions"]:
        assert version["id"] in {
            v["id"] for v in slas[version["sla_id"]]["relationships"]["versions"]["data"]
        }
    holidays = truth(api, "holidays")
    for schedule in records["business_schedules"]:
        assert [h["id"] for h in schedule["holidays"]] == schedule["holiday_ids"]
        for holiday in schedule["holidays"]:
            assert holiday["name"] == holidays[holiday["id"]]["attributes"]["name"]
    assert any(s["deleted"] for s in records["business_schedules"])
    assert {r["conversation_id"] for r in records["notes"]} <= truth(api, "conversations").keys()


def test_an_idle_incremental_run_costs_one_search_per_stream(api, config, first_run):
    incremental = {**config, "sync_mode": "incremental", "search_lag_seconds": 0}
    for stream in SEARCH_STREAMS:
        api.reset_stats()
        again = run_tap(incremental, state=first_run.state, streams=(stream,))
        stats = api.stats()
        # And one page of the audit log for a stream with deletes (tests/test_deletes.py);
        # attachments have none of their own: they go with their message.
        log = {} if stream == "attachments" else {"GET /v1/audit-logs": 1}
        assert stats["by_route"] == {"POST /v1/customers/search": 1, **log}, stream
        assert not again.records.get(stream), stream


def test_a_change_is_picked_up_by_the_next_run(api, config, first_run):
    incremental = {**config, "sync_mode": "incremental", "search_lag_seconds": 0}
    changed = {
        stream: set(api.mutate(stream, count=3)) for stream in ("companies", "notes", "kobjects")
    }
    after = run_tap(incremental, state=first_run.state, streams=("companies", "notes", "kobjects"))
    for stream, ids in changed.items():
        assert set(after.ids(stream)) == ids, stream


def test_a_missing_endpoint_or_role_skips_only_its_stream(api, config, caplog):
    api.add_token("no-schedules-token", roles=[r for r in ALL_ROLES if "schedule" not in r])
    api.configure(missing_routes=("GET /v1/klasses",))
    try:
        result = run_tap(
            {**config, "api_token": "no-schedules-token"},
            streams=("klasses", "kobjects", "business_schedules", "custom_attributes", "brands"),
        )
    finally:
        api.configure(missing_routes=())
    assert "klasses" not in result.records
    assert "business_schedules" not in result.records
    assert "Stream business_schedules skipped" in caplog.text
    assert "org.permission.schedule.read" in caplog.text
    assert "Stream klasses skipped" in caplog.text
    # The others go on: KObjects without Klass names, metadata without the KObject resources.
    assert len(result.records["kobjects"]) == len(api.org.truth("kobjects"))
    assert {r["klass_name"] for r in result.records["kobjects"]} == {None}
    resources = {r["resource"] for r in result.records["custom_attributes"]}
    assert resources == {"company", "conversation", "customer", "message", "note"}
    assert len(result.records["brands"]) == len(api.org.truth("brands"))
