"""Property selection: a deselected property never reaches a target, top-level or nested.

With every property selected the streams skip the SDK's per-record deselection walk
(``KustomerStream._generate_record_messages``); these tests hold that shortcut to the
SDK's own output, and the SDK's path to the catalog's selection.
"""

from __future__ import annotations

import pytest
from conftest import SyncResult, catalog_for, output_of_sync, unlimited_api
from jsonschema import Draft7Validator
from kustomer_api import OrgSpec

from tap_kustomer.streams.base import KustomerStream
from tap_kustomer.tap import TapKustomer

STREAMS = ("conversations", "messages")


@pytest.fixture(scope="module")
def api():
    with unlimited_api(OrgSpec(seed=41, conversations=60, history_days=300)) as local:
        yield local


def config_for(api):
    return {
        "api_token": api.token,
        "api_url": api.base_url,
        "start_date": "2020-01-01T00:00:00Z",
        "page_size": 50,
    }


def sync(config, catalog):
    return SyncResult.parse(output_of_sync(TapKustomer(config=config, catalog=catalog)))


def deselect(catalog, stream, *path):
    """Deselect the property at ``path`` (nested names give a nested breadcrumb)."""
    entry = next(e for e in catalog["streams"] if e["tap_stream_id"] == stream)
    breadcrumb = [part for name in path for part in ("properties", name)]
    for item in entry["metadata"]:
        if item["breadcrumb"] == breadcrumb:
            item["metadata"]["selected"] = False
            return catalog
    entry["metadata"].append({"breadcrumb": breadcrumb, "metadata": {"selected": False}})
    return catalog


def without_time(records):
    return {stream: sorted(rows, key=lambda r: r["id"]) for stream, rows in records.items()}


def test_with_everything_selected_the_shortcut_writes_what_the_sdk_would(api, unpaced, monkeypatch):
    config = config_for(api)
    fast = sync(config, catalog_for(config, STREAMS))
    monkeypatch.setattr(KustomerStream, "_nothing_deselected", lambda _self: False)
    sdk = sync(config, catalog_for(config, STREAMS))
    assert without_time(fast.records) == without_time(sdk.records)
    assert len(fast.records["conversations"]) >= 60


def test_a_deselected_property_is_absent_top_level_and_nested(api, unpaced):
    config = config_for(api)
    catalog = catalog_for(config, STREAMS)
    deselect(catalog, "conversations", "preview")
    deselect(catalog, "conversations", "first_done", "time")
    deselect(catalog, "messages", "preview")
    result = sync(config, catalog)
    conversations = result.records["conversations"]
    assert conversations
    assert all("preview" not in r for r in conversations)
    assert all("time" not in (r.get("first_done") or {}) for r in conversations)
    assert any(r.get("first_done") for r in conversations), "some conversation is done"
    assert all("preview" not in r for r in result.records["messages"])
    for stream in STREAMS:
        validator = Draft7Validator(result.schema_of[stream])
        assert "preview" not in result.schema_of[stream]["properties"]
        for record in result.records[stream]:
            validator.validate(record)
