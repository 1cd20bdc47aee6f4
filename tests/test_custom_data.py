"""Issue 21: typed custom attributes, a stream per Klass, values that break their type.

Against the local API, whose objects carry custom attributes of every suffix, metadata with
sensitive and dropdown attributes, values that break their type and attributes no metadata
declares (``kustomer_api.seed.custom_data``). Validity in every mode, sensitivity under
``pii_mode`` and the warehouses' column types are proven in ``test_output_validity``.
"""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from conftest import (
    SyncResult,
    discovered_catalog,
    output_of_sync,
    unlimited_api,
    unpaced_runs,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft7Validator
from kustomer_api import OrgSpec
from kustomer_api.seed.custom_data import CUSTOM_ATTRIBUTES

from tap_kustomer.custom import Attribute, CustomTypes, custom_schema
from tap_kustomer.klass_directory import klass_stream_name
from tap_kustomer.plan_api import report
from tap_kustomer.tap import TapKustomer

SEARCH = "POST /v1/customers/search"
KLASS_LIST = "GET /v1/klasses"


@pytest.fixture(scope="module")
def api():
    with unlimited_api(OrgSpec(seed=71, conversations=480, history_days=300)) as server:
        yield server


@pytest.fixture(autouse=True)
def fresh_switches(api):
    yield
    api.configure(kobject_context="accepted", metadata_route="on")


@pytest.fixture(scope="module", autouse=True)
def unpaced_module():
    with unpaced_runs():
        yield


def config_of(api, **extra):
    now = dt.datetime.fromtimestamp(api.org.now_ms / 1000, tz=dt.timezone.utc)
    return {
        "api_token": api.token,
        "api_url": api.base_url,
        "start_date": (now - dt.timedelta(days=400)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        # Several search pages for every Klass.
        "page_size": 5,
        **extra,
    }


def klass_streams(api) -> dict[str, str]:
    """Per-Klass stream name -> Klass id."""
    return {klass_stream_name(k["attributes"]["name"]): k["id"] for k in api.org.truth("klasses")}


def sync(config, catalog, state=None) -> SyncResult:
    tap = TapKustomer(config=config, catalog=catalog, state=state)
    return SyncResult.parse(output_of_sync(tap))


def searches(api) -> int:
    return api.stats()["by_route"].get(SEARCH, 0)


def requests_of(api, before, route):
    return api.stats()["by_route"].get(route, 0) - before.get(route, 0)


@pytest.mark.parametrize("kobject_context", ["accepted", "refused"])
def test_every_klass_stream_is_complete_and_an_idle_run_costs_a_search_per_scan(
    api, kobject_context, caplog
):
    config = config_of(api)
    catalog = discovered_catalog(config, ["kobjects"])
    api.configure(kobject_context=kobject_context)
    first = sync(config, catalog)
    by_klass = klass_streams(api)
    assert len(by_klass) >= 3
    for stream, klass_id in by_klass.items():
        expected = {
            o["id"]
            for o in api.org.truth("kobjects")
            if o["relationships"]["klass"]["data"]["id"] == klass_id
        }
        assert expected
        assert set(first.ids(stream)) == expected, stream
        assert {r["klass_id"] for r in first.records[stream]} == {klass_id}
    if kobject_context == "accepted":
        assert len(first.ids("kobjects")) == len(api.org.truth("kobjects"))
    else:
        assert "kobjects" not in first.records
        assert "Stream kobjects skipped" in caplog.text
        assert "select the per-Klass streams" in caplog.text

    # An idle minute run from that STATE: one search for every Klass where the org accepts
    # the single context, one per Klass where it refuses it (kobjects, skipped, not selected).
    selected = list(by_klass) if kobject_context == "refused" else [*by_klass, "kobjects"]
    idle_catalog = discovered_catalog(config, [])
    for entry in idle_catalog["streams"]:
        entry["metadata"][0]["metadata"]["selected"] = entry["tap_stream_id"] in selected
    before = api.stats()["by_route"]
    again = sync({**config, "sync_mode": "incremental"}, idle_catalog, first.state)
    expected_searches = 1 if kobject_context == "accepted" else len(by_klass)
    assert requests_of(api, before, SEARCH) == expected_searches
    assert requests_of(api, before, KLASS_LIST) == 1
    assert set(again.records) <= set(selected)


@pytest.mark.parametrize("kobject_context", ["accepted", "refused"])
def test_the_plan_prices_the_klass_streams(api, kobject_context):
    config = config_of(api)
    api.configure(kobject_context=kobject_context)
    catalog = discovered_catalog(config, [])
    for entry in catalog["streams"]:
        name = entry["tap_stream_id"]
        entry["metadata"][0]["metadata"]["selected"] = name in klass_streams(api)
    text = report(TapKustomer(config=config, catalog=catalog))
    minute = text.split("Minute job, one run")[1]
    rows = [line.split() for line in minute.splitlines() if line.strip().startswith("kobject_")]
    assert len(rows) == len(klass_streams(api))
    priced = sum(float(row[2]) for row in rows)
    assert priced == (1 if kobject_context == "accepted" else len(rows))


def test_without_the_metadata_role_discovery_types_by_suffix_and_loses_nothing(api, caplog):
    config = config_of(api)
    api.configure(metadata_route="forbidden")
    with caplog.at_level(logging.WARNING):
        catalog = discovered_catalog(config, ["customers", "kobjects"])
    warnings = [r for r in caplog.records if "typed by their names only" in r.getMessage()]
    assert len(warnings) == 1
    customers = next(e for e in catalog["streams"] if e["tap_stream_id"] == "customers")
    properties = customers["schema"]["properties"]["custom"]["properties"]
    assert properties["lifetimeValueNum"]["type"] == ["number", "null"]
    assert properties["lastOrderAt"]["format"] == "date-time"
    # No label without metadata: the name is the description.
    assert properties["lifetimeValueNum"]["description"].startswith("lifetimeValueNum")
    result = sync(config, catalog)
    assert set(result.ids("customers")) == {c["id"] for c in api.org.truth("customers")}
    assert len(result.ids("kobjects")) == len(api.org.truth("kobjects"))
    for stream in klass_streams(api):
        assert result.records[stream], stream


def test_values_that_break_their_type_are_nulled_counted_and_named_once(api, caplog):
    config = config_of(api, page_size=500)
    catalog = discovered_catalog(config, ["customers"])
    with caplog.at_level(logging.WARNING):
        result = sync(config, catalog)
    truth = {c["id"]: c["attributes"]["custom"] or {} for c in api.org.truth("customers")}
    nulled = coerced = 0
    for record in result.records["customers"]:
        raw = truth[record["id"]].get("lifetimeValueNum")
        value = record["custom"].get("lifetimeValueNum") if record["custom"] else None
        if isinstance(raw, str):
            try:
                assert value == pytest.approx(float(raw))
                coerced += 1
            except ValueError:
                assert value is None
                nulled += 1
    assert coerced
    assert nulled
    named = [r for r in caplog.records if "custom.lifetimeValueNum holds a value" in r.getMessage()]
    assert len(named) == 1
    assert f"lifetimeValueNum {nulled}" in caplog.text
    # The value itself is never logged.
    assert "n/a" not in caplog.text


def test_an_attribute_added_after_discovery_passes_and_is_named_once(api, caplog):
    config = config_of(api, page_size=500)
    catalog = discovered_catalog(config, ["customers"])
    entry = next(e for e in catalog["streams"] if e["tap_stream_id"] == "customers")
    del entry["schema"]["properties"]["custom"]["properties"]["marketingOptInBool"]
    with caplog.at_level(logging.WARNING):
        result = sync(config, catalog)
    assert any(
        (r["custom"] or {}).get("marketingOptInBool") is not None
        for r in result.records["customers"]
    )
    named = [r for r in caplog.records if "not in the catalog" in r.getMessage()]
    assert len(named) == 1
    assert "marketingOptInBool" in named[0].getMessage()
    assert "--discover" in named[0].getMessage()


def test_the_local_api_declares_what_discovery_finds(api):
    config = config_of(api)
    catalog = {e["tap_stream_id"]: e for e in discovered_catalog(config)["streams"]}
    for stream, resource in (("customers", "customer"), ("notes", "note")):
        declared = catalog[stream]["schema"]["properties"]["custom"]["properties"]
        assert set(CUSTOM_ATTRIBUTES[resource]) <= set(declared), stream


# ---- the rules alone -------------------------------------------------------------------------

SUFFIXED = [Attribute(name) for name in ("aNum", "bAt", "cBool", "dStr", "eUrl", "fId", "gTree")]
SCHEMA = {"type": "object", "properties": {"custom": custom_schema(SUFFIXED)}}
SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30)
JSON_VALUES = (
    SCALARS | st.lists(SCALARS, max_size=3) | st.dictionaries(st.text(max_size=5), SCALARS)
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from([a.name for a in SUFFIXED] + ["free"]), JSON_VALUES))
def test_kept_values_are_always_valid_against_their_declared_type(custom):
    types = CustomTypes.of(SCHEMA["properties"]["custom"])
    kept, broken, undeclared = types.keep(dict(custom))
    validator = Draft7Validator(SCHEMA, format_checker=Draft7Validator.FORMAT_CHECKER)
    assert not list(validator.iter_errors({"custom": kept}))
    assert set(broken) <= set(custom)
    assert all(kept[name] is None for name in broken)
    assert undeclared == (["free"] if "free" in custom else [])


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("aNum", "12", 12),
        ("aNum", " 3.5 ", 3.5),
        ("aNum", "n/a", None),
        ("aNum", True, None),
        ("bAt", "2024-05-01 10:00:00", "2024-05-01T10:00:00Z"),
        ("bAt", "2024-05-01T10:00:00.123Z", "2024-05-01T10:00:00.123Z"),
        ("bAt", "not a date", None),
        ("cBool", "TRUE", True),
        ("cBool", "yes", None),
        ("dStr", 42, "42"),
        ("dStr", ["a", "b"], '["a","b"]'),
    ],
)
def test_safe_coercions_and_nulls(name, value, expected):
    kept, _, _ = CustomTypes.of(SCHEMA["properties"]["custom"]).keep({name: value})
    assert kept[name] == expected
