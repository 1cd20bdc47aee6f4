"""Every RECORD valid against its SCHEMA, as a target judges it, in every mode a user can turn on."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
from dataclasses import dataclass
from functools import cache
from typing import Any

import pytest
from conftest import (
    ALL_STREAMS,
    LOG_STREAMS,
    SyncResult,
    catalog_for,
    cli_config,
    discovered_catalog,
    install_loaders,
    output_of_sync,
    run_cli,
    run_tap,
    unlimited_api,
    unpaced_runs,
    write_json,
)
from jsonschema import Draft7Validator
from kustomer_api import OrgSpec
from kustomer_api.seed.custom_data import SENSITIVE
from loaders import duckdb_counts, duckdb_query, load, postgres_counts, postgres_target, psql

from tap_kustomer.klass_directory import klass_stream_name
from tap_kustomer.pii import hashed
from tap_kustomer.tap import TapKustomer

# Runs Meltano in this project: one such module at a time (conftest.meltano_lock).
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("meltano_lock")]

# Five years: a full run's history pass reaches back as the default start_date does.
HISTORY_DAYS = 5 * 365

MODES = {
    "keep": {},
    "hash": {"pii_mode": "hash"},
    "drop": {"pii_mode": "drop"},
    "flattened": {"flattening_enabled": True, "flattening_max_depth": 1},
    "mapped": {
        "stream_maps": {
            "conversations": {"status_copy": "status", "snooze_copy": "snooze"},
        }
    },
}


@pytest.fixture(scope="module")
def org():
    # Half the conversations past the search horizon (the archive pass) and a tie larger
    # than a page, served in a new order per request.
    spec = OrgSpec(
        seed=29, conversations=600, history_days=HISTORY_DAYS, old_fraction=0.5, tie_size=550
    )
    with unlimited_api(spec, tie_order="shuffled") as api:
        # The tie leaves no status change in the audit log's window: a few of today's.
        api.change_status(5)
        yield api


@dataclass(frozen=True)
class ModeRun:
    """One mode's Singer output, and the warnings the run logged."""

    output: str
    warnings: str


@pytest.fixture(scope="module")
def output_of(org):
    """Each mode's run over every stream and every Klass's, one per mode, whichever test
    asks first.

    The catalog is the discovered one: custom attributes typed, a stream per Klass.
    """

    @cache
    def run(mode: str) -> ModeRun:
        config = {
            "api_token": org.token,
            "api_url": org.base_url,
            "start_date": start_date(org),
            **MODES[mode],
        }
        # Kept with the output, so that each mode's check of them runs whichever test
        # built the run.
        warnings = io.StringIO()
        handler = logging.StreamHandler(warnings)
        handler.setLevel(logging.WARNING)
        logging.getLogger().addHandler(handler)
        try:
            with unpaced_runs():
                catalog = discovered_catalog(config, (*ALL_STREAMS, *LOG_STREAMS))
            output = output_of_sync(TapKustomer(config=config, catalog=catalog))
        finally:
            logging.getLogger().removeHandler(handler)
        return ModeRun(output, warnings.getvalue())

    return run


def klass_streams(api) -> list[str]:
    return [klass_stream_name(k["attributes"]["name"]) for k in api.org.truth("klasses")]


def start_date(api) -> str:
    now = dt.datetime.fromtimestamp(api.org.now_ms / 1000, tz=dt.timezone.utc)
    return (now - dt.timedelta(days=HISTORY_DAYS)).strftime("%Y-%m-%dT%H:%M:%SZ")


def invalid_records(result, stream: str) -> tuple[list[str], set[str]]:
    """Schema violations (Draft 7, formats checked) and the keys, at any depth, of objects
    whose schema declares their properties and does not leave them open."""
    schema = result.schema_of[stream]
    validator = Draft7Validator(schema, format_checker=Draft7Validator.FORMAT_CHECKER)
    errors, outside = [], set()
    for record in result.records.get(stream, []):
        errors += [
            f"{'/'.join(map(str, e.absolute_path))}: {e.message[:120]}"
            for e in validator.iter_errors(record)
        ]
        outside |= keys_outside(record, schema)
    return errors, outside


def keys_outside(value: Any, schema: dict[str, Any], path: str = "") -> set[str]:
    """Paths of the keys in ``value`` its schema does not declare.

    The tap's nested objects stay open (additionalProperties true) so that a key the real
    API adds is kept, but every key the local API sends must be declared: only ``custom``
    (attributes added after discovery) and maps keyed by id (additionalProperties a schema)
    may hold others.
    """
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        found: set[str] = set()
        for item in value:
            found |= keys_outside(item, schema["items"], f"{path}[]")
        return found
    if not isinstance(value, dict) or "properties" not in schema:
        return set()
    properties = schema["properties"]
    is_open = path == "custom" or isinstance(schema.get("additionalProperties"), dict)
    found = set()
    for key, item in value.items():
        where = f"{path}.{key}" if path else key
        if key in properties:
            found |= keys_outside(item, properties[key], where)
        elif not is_open:
            found.add(where)
    return found


def test_keys_outside_a_closed_object_are_found_at_any_depth():
    closed = {"properties": {"a": {"type": "string"}}}
    schema = {
        "properties": {
            "meta": {**closed, "additionalProperties": True},
            "custom": {**closed, "additionalProperties": True},
            "totals": {"type": "object", "additionalProperties": closed},
            "lines": {"type": "array", "items": closed},
        }
    }
    record = {
        "meta": {"a": "x", "b": 1},
        "custom": {"a": "x", "anything": 1},
        "totals": {"some id": {"a": "x"}},
        "lines": [{"a": "x"}, {"c": 2}],
        "extra": 3,
    }
    assert keys_outside(record, schema) == {"meta.b", "lines[].c", "extra"}


@pytest.mark.parametrize("mode", MODES)
def test_every_record_is_valid_against_its_schema(org, output_of, mode, unpaced):
    result = SyncResult.parse(output_of(mode).output)
    report = {}
    for stream in (*ALL_STREAMS, *LOG_STREAMS, *klass_streams(org)):
        assert result.records.get(stream), f"{mode}: {stream} has records"
        errors, outside = invalid_records(result, stream)
        if errors or outside:
            report[stream] = (len(errors), sorted(set(errors))[:5], sorted(outside)[:10])
    assert not report, f"{mode}: {report}"
    if mode == "mapped":
        conversations = result.records["conversations"]
        assert all(r["status_copy"] == r["status"] for r in conversations)
        assert any(r["snooze_copy"] for r in conversations)


@pytest.mark.parametrize("mode", MODES)
def test_nothing_the_api_sent_is_dropped_to_fit_the_schema(output_of, mode, unpaced):
    # The SDK drops, with this warning, what a schema does not declare, flattened or not.
    assert "Fields not in the schema" not in output_of(mode).warnings


def distinct_keys(result: SyncResult, stream: str) -> int:
    keys = ("user_id", "observed_at") if stream == "agent_states" else ("id",)
    return len({tuple(r[k] for k in keys) for r in result.records[stream]})


@pytest.fixture(scope="module")
def loaders_installed(org, tmp_path_factory):
    install_loaders(org, tmp_path_factory.mktemp("meltano"))


@pytest.mark.parametrize("mode", MODES)
def test_every_mode_loads_into_duckdb_and_postgres_with_a_row_per_key(
    output_of, mode, unpaced, loaders_installed, postgres, tmp_path
):
    output = output_of(mode).output
    result = SyncResult.parse(output)
    expected = {stream: distinct_keys(result, stream) for stream in result.records}
    duckdb_path = tmp_path / "warehouse.duckdb"
    load(
        "target-duckdb",
        {"filepath": str(duckdb_path), "default_target_schema": "kustomer"},
        output,
        tmp_path,
    )
    schema = f"mode_{mode}"
    load(
        "target-postgres",
        postgres_target(postgres, schema, add_record_metadata=False, activate_version=False),
        output,
        tmp_path,
    )
    assert duckdb_counts(duckdb_path, "kustomer") == expected, f"{mode}: duckdb"
    assert postgres_counts(postgres, schema) == expected, f"{mode}: postgres"
    if mode == "flattened":
        assert_typed_custom_columns(result, duckdb_path, postgres, schema)


# Typed custom attributes of customers, as each warehouse names the column's type.
TYPED_COLUMNS = {
    "custom__lifetimeValueNum": ({"DOUBLE", "DECIMAL", "NUMERIC"}, {"numeric", "double precision"}),
    "custom__marketingOptInBool": ({"BOOLEAN"}, {"boolean"}),
    "custom__lastOrderAt": (
        {"TIMESTAMP", "TIMESTAMP WITH TIME ZONE"},
        {"timestamp without time zone", "timestamp with time zone"},
    ),
    "custom__tierStr": ({"VARCHAR"}, {"character varying", "text"}),
}


def assert_typed_custom_columns(result, duckdb_path, postgres, schema):
    """Each typed attribute is a column of its type, and a sum needs no cast."""
    # The overlap at the search horizon may send a customer twice: the tables keep one row.
    latest = {r["id"]: r for r in result.records["customers"]}
    total = sum((r.get("custom__lifetimeValueNum") or 0) for r in latest.values())
    duck_types = dict(
        duckdb_query(
            duckdb_path,
            "select lower(column_name), data_type from information_schema.columns "
            "where table_schema = 'kustomer' and table_name = 'customers'",
        )
    )
    pg_types = dict(
        psql(
            postgres,
            "select lower(column_name), data_type from information_schema.columns "  # noqa: S608
            f"where table_schema = '{schema}' and table_name = 'customers'",
        )
    )
    for column, (duck, pg) in TYPED_COLUMNS.items():
        assert duck_types[column.lower()].split("(")[0] in duck, (
            column,
            duck_types[column.lower()],
        )
        assert pg_types[column.lower()] in pg, (column, pg_types[column.lower()])
    ((duck_sum,),) = duckdb_query(
        duckdb_path, "select sum(custom__lifetimevaluenum) from kustomer.customers"
    )
    ((pg_sum,),) = psql(
        postgres,
        f'select sum("custom__lifetimeValueNum") from "{schema}".customers',  # noqa: S608
    )
    assert float(duck_sum) == pytest.approx(total)
    assert float(pg_sum) == pytest.approx(total)


def test_discovery_types_every_declared_custom_attribute(org, output_of, unpaced):
    result = SyncResult.parse(output_of("keep").output)
    custom = result.schema_of["customers"]["properties"]["custom"]
    assert custom["additionalProperties"] is True
    properties = custom["properties"]
    assert properties["lifetimeValueNum"]["type"] == ["number", "null"]
    assert properties["lastOrderAt"]["format"] == "date-time"
    assert properties["marketingOptInBool"]["type"] == ["boolean", "null"]
    assert "enum" not in properties["tierStr"]
    assert "Allowed values: gold, silver" in properties["tierStr"]["description"]
    # An attribute no metadata declares is typed by its suffix, one without a suffix left open.
    assert properties["legacyCodeStr"]["type"] == ["string", "null"]
    assert "type" not in properties["sourceSystem"]
    for stream in klass_streams(org):
        assert result.schema_of[stream]["properties"]["custom"]["properties"], stream


@pytest.mark.parametrize("mode", ["hash", "drop"])
def test_sensitive_custom_attributes_follow_pii_mode(org, output_of, mode, unpaced):
    result = SyncResult.parse(output_of(mode).output)
    truth = {c["id"]: c["attributes"]["custom"] for c in org.org.truth("customers")}
    (sensitive,) = SENSITIVE["customer"]
    checked = 0
    for record in result.records["customers"]:
        value = (truth[record["id"]] or {}).get(sensitive)
        if value is None:
            continue
        expected = hashed(value) if mode == "hash" else None
        assert record["custom"][sensitive] == expected
        checked += 1
    assert checked > 10


def config_for(api, **settings):
    return {
        "api_token": api.token,
        "api_url": api.base_url,
        "start_date": start_date(api),
        **settings,
    }


def test_the_standard_bookmark_never_moves_back_over_a_five_year_run(org, unpaced):
    result = run_tap(config_for(org), streams=("conversations", "messages", "customers"))
    for stream in ("conversations", "messages", "customers"):
        values = [
            state["bookmarks"][stream]["replication_key_value"]
            for state in result.states
            if "replication_key_value" in state.get("bookmarks", {}).get(stream, {})
        ]
        assert values == sorted(values), stream
        newest = max(r["updated_at"] for r in result.records[stream])
        assert values[-1] == newest, f"{stream}: the bookmark is the newest record"
        assert result.state["bookmarks"][stream]["position"]["history"]["done"] is True


def test_a_stream_map_on_a_deselected_stream_does_not_stop_the_run(org, unpaced):
    config = config_for(org, stream_maps={"tickets": {"status_copy": "status"}})
    result = run_tap(config, streams=("users",))
    assert len(result.records["users"]) == len(org.org.truth("users"))


def test_a_stream_forced_to_full_table_ignores_its_state(org, unpaced):
    config = config_for(org, start_date="2025-06-01T00:00:00Z")
    first = run_tap(config, streams=("conversations",))
    catalog = catalog_for(config, ("conversations",))
    entry = next(e for e in catalog["streams"] if e["tap_stream_id"] == "conversations")
    entry["replication_method"] = "FULL_TABLE"
    tap = TapKustomer(config=config, state=first.state, catalog=catalog)
    again = sync(tap)
    assert sorted(again.ids("conversations")) == sorted(first.ids("conversations"))
    assert len(first.ids("conversations")) > 100


def test_a_replication_key_the_tap_cannot_honour_is_refused_in_one_line(org, tmp_path):
    config = cli_config(org, tmp_path)
    catalog = json.loads(run_cli(["--config", str(config), "--discover"]).stdout)
    for entry in catalog["streams"]:
        if entry["tap_stream_id"] == "conversations":
            entry["replication_key"] = "created_at"
    result = run_cli(
        ["--config", str(config), "--catalog", str(write_json(tmp_path / "c.json", catalog))]
    )
    assert result.returncode == 1
    (line,) = [x for x in result.stderr.splitlines() if "tap-kustomer failed" in x]
    assert (
        "conversations to replicate by created_at; conversations is incremental on updated_at"
        in line
    )


def test_batch_config_is_refused_in_one_line(org, tmp_path):
    config = cli_config(org, tmp_path, batch_config={"encoding": {"format": "jsonl"}})
    result = run_cli(["--config", str(config)])
    assert result.returncode == 1
    (line,) = [x for x in result.stderr.splitlines() if "tap-kustomer failed" in x]
    assert "batch_config is not supported" in line


def test_faker_config_works_in_stream_maps(org, unpaced):
    config = config_for(
        org,
        stream_maps={"customers": {"name": "fake.name()"}},
        faker_config={"seed": 7, "locale": "en_US"},
    )
    result = run_tap(config, streams=("customers",))
    truth = {c["attributes"]["name"] for c in org.org.truth("customers")}
    names = [r["name"] for r in result.records["customers"]]
    assert names
    assert not truth & set(names)


def test_help_describes_test_as_it_runs():
    result = run_cli(["--help"])
    text = " ".join(result.stdout.split())
    assert "check the key against each selected stream's endpoint" in text


def sync(tap):
    return SyncResult.parse(output_of_sync(tap))
