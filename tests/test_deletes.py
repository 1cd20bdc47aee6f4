"""Issue 22: deletes reach the target, and the audit log becomes tables before it expires.

The truth is the local API's own audit log (``api.audit_log()``) and the objects it
deleted; the tap's output is checked against it, never against the tap's own logic.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging

import pytest
from conftest import (
    LOG_STREAMS,
    Kill,
    SyncResult,
    captured_stdout,
    catalog_for,
    cli_config,
    discovered_catalog,
    in_phase,
    install_loaders,
    output_of_sync,
    run_killed_at,
    run_tap,
    selected_catalog,
    unlimited_api,
    written,
)
from jsonschema import Draft7Validator
from kustomer_api import OrgSpec
from loaders import duckdb_query, load, postgres_target, psql
from test_output_validity import MODES

from tap_kustomer.run import UnreadListsError
from tap_kustomer.streams.directory import TagsStream
from tap_kustomer.tap import TapKustomer

DELETED_AT = "_sdc_deleted_at"
# Streams read by search (the minute job) and by list (the directory and agent-state jobs),
# each with the audit log's object type of its objects.
SEARCHED = {
    "conversations": "conversation",
    "tickets": "conversation",
    "messages": "message",
    "customers": "customer",
    "companies": "company",
    "notes": "note",
}
LISTED = {"tags": "tag", "teams": "team", "users": "user", "queues": "queue"}


@pytest.fixture(scope="module")
def api():
    with unlimited_api(OrgSpec(seed=5, conversations=150, history_days=150)) as server:
        yield server


def config(api, **extra):
    return {
        "api_token": api.token,
        "api_url": api.base_url,
        "start_date": "2020-01-01T00:00:00Z",
        **extra,
    }


def marked(result: SyncResult, stream: str) -> set[str]:
    return {r["id"] for r in result.records.get(stream, []) if r.get(DELETED_AT)}


def deletes_in_log(api, since: str) -> dict[str, set[str]]:
    """The objects the local API's log says were deleted after ``since``, by object type."""
    found: dict[str, set[str]] = {}
    for entry in api.audit_log():
        attributes = entry["attributes"]
        if attributes["eventVerb"] == "delete" and attributes["createdAt"] > since:
            found.setdefault(attributes["objectType"], set()).add(attributes["objectId"])
    return found


def assert_valid(result: SyncResult) -> None:
    """Every record, delete records included, valid against its stream's SCHEMA (formats too)."""
    for stream, records in result.records.items():
        schema = result.schema_of[stream]
        validator = Draft7Validator(schema, format_checker=Draft7Validator.FORMAT_CHECKER)
        errors = [e.message[:100] for r in records for e in validator.iter_errors(r)]
        assert not errors, (stream, errors[:3])


def now(minutes_back: int = 0) -> str:
    at = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=minutes_back)
    return at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def test_every_deleted_object_is_marked_after_the_next_run_and_nothing_else(api, unpaced):
    streams = (*SEARCHED, *LISTED, "kobjects")
    # The next run re-reads the log from 5 minutes before this one (entries written late).
    since = now(minutes_back=5)
    first = run_tap(config(api), streams=streams)
    assert not any(marked(first, stream) for stream in streams), "a first run marks nothing"
    for stream in (*dict.fromkeys(s for s in SEARCHED if s != "tickets"), *LISTED, "kobjects"):
        assert api.delete(stream, 2), stream
    second = run_tap(config(api), state=first.state, streams=streams)
    assert_valid(second)
    logged = deletes_in_log(api, since)
    for stream, object_type in {**SEARCHED, **LISTED}.items():
        # Messages of a deleted conversation are deleted with it, each with its own entry.
        assert marked(second, stream) == logged[object_type], stream
    kobjects = set().union(*(ids for kind, ids in logged.items() if kind.startswith("kobject")))
    assert marked(second, "kobjects") == kobjects
    # 0 deleted by mistake: every mark names an object no route serves any more.
    for stream in streams:
        served = {o["id"] for o in api.org.truth(_store(stream))}
        assert not marked(second, stream) & served, stream


@pytest.mark.parametrize("mode", [m for m in MODES if m != "keep"])
def test_delete_records_are_valid_in_every_mode(api, unpaced, mode):
    # keep is the test above; here the others, each over a stream of each kind.
    streams = ("conversations", "customers", "tags")
    first = run_tap(config(api, **MODES[mode]), streams=streams)
    deleted = {stream: set(api.delete(stream, 2)) for stream in streams}
    second = run_tap(config(api, **MODES[mode]), state=first.state, streams=streams)
    assert_valid(second)
    for stream in streams:
        # Deletes of the tests before, within the log's 5-minute overlap, may come again.
        assert deleted[stream] <= marked(second, stream), (mode, stream)
        served = {o["id"] for o in api.org.truth(stream)}
        assert not marked(second, stream) & served, (mode, stream)


def _store(stream: str) -> str:
    return "conversations" if stream == "tickets" else stream


def test_an_idle_minute_run_costs_one_request_for_the_log(api, unpaced):
    streams = (*LOG_STREAMS, *SEARCHED, *LISTED, "kobjects")
    first = run_tap(config(api), streams=streams)
    api.reset_stats()
    run_tap(config(api), state=first.state, streams=streams)
    assert api.stats()["by_route"].get("GET /v1/audit-logs") == 1


@pytest.mark.parametrize(
    ("order", "after", "changes"),
    [
        *(
            (o, a, "nested")
            for o in ("newest_first", "oldest_first")
            for a in ("honoured", "ignored")
        ),
        ("newest_first", "honoured", "flat"),
    ],
)
def test_the_log_streams_miss_no_entry_in_any_order_or_shape(api, unpaced, order, after, changes):
    api.configure(audit_order=order, audit_after=after, audit_changes=changes)
    try:
        first = run_tap(config(api), streams=LOG_STREAMS)
        api.change_status(4)
        api.mutate("customers", 3)
        second = run_tap(config(api), state=first.state, streams=LOG_STREAMS)
        api.configure(audit_changes="nested")
        truth = api.audit_log()
    finally:
        api.configure(audit_order="newest_first", audit_after="honoured", audit_changes="nested")
    assert_valid(first)
    assert_valid(second)
    emitted = set(first.ids("audit_logs")) | set(second.ids("audit_logs"))
    assert {entry["id"] for entry in truth} <= emitted
    changes = {r["id"]: r for r in first.records.get("conversation_status_changes", [])}
    changes |= {r["id"]: r for r in second.records.get("conversation_status_changes", [])}
    expected = {
        entry["id"]: entry["attributes"]["changes"]["attributes"]["status"]
        for entry in truth
        if entry["attributes"]["objectType"] == "conversation"
        and "status" in (entry["attributes"].get("changes") or {}).get("attributes", {})
    }
    assert set(changes) == set(expected)
    for entry_id, status in expected.items():
        assert (changes[entry_id]["from_status"], changes[entry_id]["to_status"]) == (
            status["before"],
            status["after"],
        )


def test_a_killed_read_of_the_log_resumes_without_a_gap(tmp_path):
    # An org of its own with a log of some 30 pages: enough requests for each fault to fire.
    with unlimited_api(OrgSpec(seed=6, conversations=600, history_days=150)) as api:
        config_path = cli_config(api, tmp_path, start_date="2020-01-01T00:00:00Z")
        catalog_path = selected_catalog(tmp_path, config_path, ["audit_logs"])
        faults = {"500": 0.15, "reset": 0.15}
        api.configure(faults=faults)
        kill = Kill("mid-read", in_phase("audit_logs", "any", 1000))
        records = run_killed_at(tmp_path, config_path, catalog_path, [kill])
        assert set(api.stats()["faults"]) == set(faults)
        truth = {entry["id"] for entry in api.audit_log()}
    assert len(truth) > 2 * kill.records_seen, "the kill lands mid-read"
    assert truth <= records["audit_logs"]


def test_without_the_audit_role_streams_go_on_and_say_so_once(api, unpaced, caplog):
    api.configure(audit_logs_route="forbidden")
    try:
        first = run_tap(config(api), streams=("conversations", "tags"))
        api.delete("tags", 1)
        with caplog.at_level(logging.WARNING):
            second = run_tap(
                config(api), state=first.state, streams=("audit_logs", "conversations", "tags")
            )
    finally:
        api.configure(audit_logs_route="on")
    assert "audit_logs" not in second.records
    assert second.records["conversations"], "the other streams are read"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert sum("Deletes not read" in w for w in warnings) == 1
    assert any("audit_logs skipped" in w and "audit_logs.read" in w for w in warnings)


def test_a_bookmark_older_than_the_log_warns_of_the_days_lost(api, unpaced, caplog):
    first = run_tap(config(api), streams=("audit_logs",))
    state = json.loads(json.dumps(first.state))
    old = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=40)).strftime("%Y-%m-%dT%H:%M:%SZ")
    state["bookmarks"]["audit_logs"]["log_position"] = {"at": old, "after": None}
    api.configure(audit_retention_days=30)
    try:
        with caplog.at_level(logging.WARNING):
            run_tap(config(api), state=state, streams=("audit_logs",))
    finally:
        api.configure(audit_retention_days=90)
    lost = [r.getMessage() for r in caplog.records if "expired before this run" in r.getMessage()]
    assert len(lost) == 1
    assert "10.0 days missing" in lost[0]


@pytest.mark.parametrize("kobject_type", ["klass", "plain"])
def test_klass_streams_take_the_deletes_the_log_names_by_klass(api, unpaced, kobject_type):
    api.configure(audit_kobject_type=kobject_type)
    try:
        catalog = discovered_catalog(config(api), ["kobjects"])
        since = now(minutes_back=5)
        first = _sync(config(api), catalog, None)
        api.delete("kobjects", 3)
        second = _sync(config(api), catalog, first.state)
    finally:
        api.configure(audit_kobject_type="klass")
    logged = deletes_in_log(api, since)
    by_klass = {k: ids for k, ids in logged.items() if k.startswith("kobject")}
    everything = set().union(*by_klass.values())
    assert marked(second, "kobjects") == everything
    klass_marks = set().union(
        *(marked(second, s) for s in second.records if s.startswith("kobject_"))
    )
    assert klass_marks == (everything if kobject_type == "klass" else set())


def _sync(config, catalog, state) -> SyncResult:
    return SyncResult.parse(
        output_of_sync(TapKustomer(config=config, catalog=catalog, state=state))
    )


@pytest.fixture(scope="module")
def loaders_installed(api, tmp_path_factory):
    install_loaders(api, tmp_path_factory.mktemp("meltano"))


@pytest.mark.parametrize("hard_delete", [True, False])
def test_deleted_rows_leave_duckdb_and_postgres_or_stay_marked(
    api, unpaced, loaders_installed, postgres, tmp_path, hard_delete
):
    deleted = ("conversations", "tags")
    streams = (*deleted, *LOG_STREAMS)
    cfg = config(api)
    first = output_of_sync(TapKustomer(config=cfg, catalog=catalog_for(cfg, streams)))
    gone = {stream: api.delete(stream, 1)[0] for stream in deleted}
    second = output_of_sync(
        TapKustomer(
            config=cfg, state=SyncResult.parse(first).state, catalog=catalog_for(cfg, streams)
        )
    )
    duckdb_path = tmp_path / "warehouse.duckdb"
    schema = f"deletes_{str(hard_delete).lower()}"
    for output in (first, second):  # two runs of each loader, as two minute runs
        load(
            "target-duckdb",
            {
                "filepath": str(duckdb_path),
                "default_target_schema": "kustomer",
                "hard_delete": hard_delete,
            },
            output,
            tmp_path,
        )
        load(
            "target-postgres",
            postgres_target(
                postgres,
                schema,
                add_record_metadata=True,
                activate_version=True,
                hard_delete=hard_delete,
            ),
            output,
            tmp_path,
        )
    for stream, object_id in gone.items():
        where = f"from {{}}.{stream} where id = '{object_id}'"
        in_duckdb = duckdb_query(
            duckdb_path, "select _sdc_deleted_at is not null " + where.format("kustomer")
        )
        in_postgres = psql(postgres, "select _sdc_deleted_at is not null " + where.format(schema))
        assert in_duckdb == ([] if hard_delete else [[True]]), f"duckdb {stream}"
        # target-postgres 0.8.1 applies hard_delete to ACTIVATE_VERSION only: a tag left
        # out of the directory's whole read goes; a deleted conversation stays, marked.
        removed = hard_delete and stream == "tags"
        assert in_postgres == ([] if removed else [["t"]]), f"postgres {stream}"
    # 0 deleted by mistake: every row the API still serves is in both warehouses, unmarked.
    for stream in deleted:
        served = len(api.org.truth(stream))
        live = f"select count(*) from {{}}.{stream} where _sdc_deleted_at is null"  # noqa: S608
        assert duckdb_query(duckdb_path, live.format("kustomer")) == [[served]], stream
        assert psql(postgres, live.format(schema)) == [[str(served)]], stream

    # The log's tables: a row per entry, its times as timestamps.
    entries = len(api.audit_log())
    assert duckdb_query(duckdb_path, "select count(*) from kustomer.audit_logs") == [[entries]]
    assert psql(postgres, f"select count(*) from {schema}.audit_logs") == [[str(entries)]]  # noqa: S608
    for table, column in (
        ("audit_logs", "created_at"),
        ("conversation_status_changes", "changed_at"),
    ):
        (duck_type,) = duckdb_query(duckdb_path, COLUMN_TYPE.format("kustomer", table, column))
        (pg_type,) = psql(postgres, COLUMN_TYPE.format(schema, table, column))
        assert duck_type[0].startswith("TIMESTAMP"), (table, duck_type)
        assert pg_type[0].startswith("timestamp"), (table, pg_type)


def activate_versions(output: str, stream: str) -> tuple[list[int], set[int | None]]:
    """The ACTIVATE_VERSION versions of a stream, and its non-delete records' versions."""
    activated, versions = [], set()
    for line in output.splitlines():
        message = json.loads(line)
        if message.get("stream") != stream:
            continue
        if message["type"] == "ACTIVATE_VERSION":
            activated.append(message["version"])
        elif message["type"] == "RECORD" and not message["record"].get(DELETED_AT):
            assert not activated, "a record after ACTIVATE_VERSION"
            versions.add(message.get("version"))
    return activated, versions


def test_activate_version_ends_a_whole_read_only(api, unpaced, monkeypatch):
    cfg = config(api)
    whole = output_of_sync(TapKustomer(config=cfg, catalog=catalog_for(cfg, ("tags", "users"))))
    for stream in ("tags", "users"):
        activated, versions = activate_versions(whole, stream)
        assert len(activated) == 1, stream
        assert versions == set(activated), stream
    off = {**cfg, "emit_activate_version_messages": False}
    quiet = output_of_sync(TapKustomer(config=off, catalog=catalog_for(off, ("tags",))))
    assert activate_versions(quiet, "tags")[0] == []
    # Pages of 10 tags, and a list that refuses pages past its first 10 records.
    monkeypatch.setattr(TagsStream, "page_size", 10)
    api.configure(list_max_records=10)
    stdout = captured_stdout()
    try:
        with contextlib.redirect_stdout(stdout), pytest.raises(UnreadListsError):
            TapKustomer(config=cfg, catalog=catalog_for(cfg, ("tags",))).sync_all()
    finally:
        api.configure(list_max_records=0)
    # Rows past the cap were not read: the target must not drop them.
    assert activate_versions(written(stdout), "tags")[0] == []


COLUMN_TYPE = (
    "select data_type from information_schema.columns "
    "where table_schema = '{}' and table_name = '{}' and column_name = '{}'"
)
