"""The issue-15 streams' request and record logic at request level (requests-mock).

The local API syncs them end to end (test_objects.py); these pin the shapes the
reference leaves open: versions in ``included``, holidays embedded or included,
attachments missing from ``included``, metadata resources that 404, and a 403 or 404
skipping only its stream.
"""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import catalog_for

from tap_kustomer.streams.settings import METADATA_RESOURCES, SlaVersionsStream
from tap_kustomer.tap import TapKustomer

BASE = "https://acme.api.kustomerapp.com"
ORG = {"data": {"type": "org", "id": "0" * 24}}


def page(data, included=None, next_link=None):
    body = {"meta": {"page": 1}, "links": {"next": next_link}, "data": data}
    if included is not None:
        body["included"] = included
    return body


def rel(kind, obj_id):
    return {"data": {"type": kind, "id": obj_id}}


# A year back: inside every plausible search horizon, so no history pass is due.
START = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=365)
CONFIG = {"api_token": "t", "api_url": BASE, "start_date": START.strftime("%Y-%m-%dT%H:%M:%SZ")}
# Objects updated since START.
UPDATED = (START + dt.timedelta(days=30)).strftime("%Y-%m-%dT00:00:00.000Z")


@pytest.fixture(autouse=True)
def _unpaced(unpaced):
    """No pacing against requests-mock."""


def run(name, **settings):
    """The records of one stream, and its tap; only that stream is selected (search streams of
    one context share their scan with the context's other selected streams)."""
    config = {**CONFIG, **settings}
    tap = TapKustomer(config=config, catalog=catalog_for(config, (name,)))
    stream = tap.streams[name]
    return [stream.post_process(record) for record in stream.get_records(None)], tap


def records(name, **settings):
    return run(name, **settings)[0]


def test_sla_versions_come_from_included_with_their_sla(requests_mock):
    requests_mock.get(
        f"{BASE}/v1/slas",
        json=page(
            [
                {
                    "type": "sla",
                    "id": "s1",
                    "attributes": {"name": "Gold"},
                    "relationships": {
                        "versions": {
                            "data": [
                                {"type": "sla_version", "id": "v1"},
                                {"type": "sla_version", "id": "v2"},
                            ]
                        }
                    },
                }
            ],
            included=[
                {"type": "sla_version", "id": "v1", "attributes": {"name": "Gold", "version": 1}},
                {
                    "type": "sla_version",
                    "id": "v2",
                    "attributes": {"version": 2},
                    "relationships": {"sla": rel("sla", "s1"), "org": ORG},
                },
            ],
        ),
    )
    got = records("sla_versions")
    assert requests_mock.last_request.qs["versions"] == ["all"]
    assert [(r["id"], r["version"], r["sla_id"]) for r in got] == [("v1", 1, "s1"), ("v2", 2, "s1")]
    assert set(got[0]) == set(SlaVersionsStream.record_schema["properties"])


@pytest.mark.parametrize("embedded", [True, False])
def test_business_schedules_carry_their_holidays(requests_mock, embedded):
    holiday = {
        "name": "New Year",
        "startDate": "2026-01-01",
        "endDate": "2026-01-02",
        "enabled": True,
    }
    hours = {"0": None, "1": [[480, 1020]], "6": None}
    schedule = {
        "type": "schedule",
        "id": "b1",
        "attributes": {
            "name": "US",
            "timezone": "America/New_York",
            "hours": hours,
            "default": True,
        },
    }
    if embedded:
        schedule["attributes"]["holidays"] = [{"id": "h1", **holiday}]
        body = page([schedule])
    else:
        schedule["relationships"] = {"holidays": {"data": [{"type": "holiday", "id": "h1"}]}}
        body = page([schedule], included=[{"type": "holiday", "id": "h1", "attributes": holiday}])
    requests_mock.get(f"{BASE}/v1/schedules", json=body)
    (record,) = records("business_schedules")
    assert requests_mock.last_request.qs["include"] == ["holidays"]
    assert record["holidays"] == [{"id": "h1", **holiday}]
    assert record["hours"] == hours
    assert record["timezone"] == "America/New_York"


def test_custom_attributes_one_record_per_attribute_and_missing_resources_passed_over(
    requests_mock,
):
    for resource in METADATA_RESOURCES:
        requests_mock.get(f"{BASE}/v1/metadata/{resource}", status_code=404, json={"errors": []})
    requests_mock.get(
        f"{BASE}/v1/metadata/customer",
        json={
            "data": {
                "type": "metadata",
                "id": "m1",
                "attributes": {
                    "updatedAt": "2025-02-01T00:00:00.000Z",
                    "properties": {
                        "tierStr": {"displayName": "Tier", "type": "string", "modifiedBy": "u1"},
                        "vipBool": {"displayName": "VIP", "type": "boolean"},
                    },
                },
            }
        },
    )
    requests_mock.get(
        f"{BASE}/v1/klasses",
        json=page([{"type": "klass", "id": "k1", "attributes": {"name": "order"}}]),
    )
    requests_mock.get(
        f"{BASE}/v1/metadata/kobject.order",
        json={"data": {"attributes": {"properties": {"totalNum": {"type": "number"}}}}},
    )
    got = {r["id"]: r for r in records("custom_attributes")}
    assert set(got) == {"customer.tierStr", "customer.vipBool", "kobject.order.totalNum"}
    assert got["customer.tierStr"]["display_name"] == "Tier"
    assert got["customer.tierStr"]["modified_by"] == "u1"
    assert got["customer.tierStr"]["metadata_updated_at"] == "2025-02-01T00:00:00.000Z"
    assert got["kobject.order.totalNum"]["resource"] == "kobject.order"


def test_attachments_read_once_per_conversation_and_alone_when_included_lacks_them(requests_mock):
    def message(mid, files):
        return {
            "type": "message",
            "id": mid,
            "attributes": {"updatedAt": UPDATED},
            "relationships": {
                "conversation": rel("conversation", "c1"),
                "attachments": {"data": [{"type": "attachment", "id": f} for f in files]},
            },
        }

    requests_mock.post(
        f"{BASE}/v1/customers/search",
        [
            {"json": page([message("m1", ["a1"]), message("m2", ["a2", "a3"]), message("m3", [])])},
            {"json": page([])},
        ],
    )
    conversation = requests_mock.get(
        f"{BASE}/v1/conversations/c1/messages",
        json=page(
            [],
            included=[
                {
                    "type": "attachment",
                    "id": "a1",
                    "attributes": {
                        "name": "photo.png",
                        "contentType": "image/png",
                        "contentLength": 1024,
                    },
                },
                {"type": "attachment", "id": "a2", "attributes": {"name": "invoice.pdf"}},
            ],
        ),
    )
    # a3 is not in included: read alone through the documented route.
    file_route = requests_mock.get(
        f"{BASE}/v1/messages/m2/attachments/a3",
        json={"data": {"type": "attachment", "id": "a3", "attributes": {"name": "label.pdf"}}},
    )
    got = records("attachments")
    assert conversation.call_count == 1
    assert file_route.call_count == 1
    assert conversation.last_request.qs["include"] == ["attachments"]
    assert [(r["id"], r["message_id"], r["conversation_id"]) for r in got] == [
        ("a1", "m1", "c1"),
        ("a2", "m2", "c1"),
        ("a3", "m2", "c1"),
    ]
    assert got[0]["content_type"] == "image/png"
    assert got[2]["name"] == "label.pdf"
    assert {r["message_updated_at"] for r in got} == {UPDATED}


def test_kobjects_one_scan_of_every_klass_with_klass_names(requests_mock):
    kobject = {
        "type": "kobject",
        "id": "o1",
        "attributes": {"title": "Order #1", "updatedAt": UPDATED},
        "relationships": {"klass": rel("klass", "k1"), "customer": rel("customer", "cu1")},
    }
    search = requests_mock.post(f"{BASE}/v1/customers/search", json=page([kobject]))
    requests_mock.get(
        f"{BASE}/v1/klasses",
        json=page([{"type": "klass", "id": "k1", "attributes": {"name": "order"}}]),
    )
    (record,) = records("kobjects")
    body = search.request_history[0].json()
    assert body["queryContext"] == "kobject"
    assert body["sort"] == [{"kobject_updated_at": "asc"}]
    assert (record["klass_id"], record["klass_name"], record["customer_id"]) == (
        "k1",
        "order",
        "cu1",
    )


@pytest.mark.parametrize("status", [403, 404])
def test_a_refused_endpoint_skips_only_its_stream(requests_mock, status, caplog):
    requests_mock.get(
        f"{BASE}/v1/schedules", status_code=status, json={"errors": [{"detail": "nope"}]}
    )
    got, tap = run("business_schedules")
    assert got == []
    assert "business_schedules" in tap.run.unavailable_streams
    assert "Stream business_schedules skipped" in caplog.text
    if status == 403:
        assert "org.permission.schedule.read" in caplog.text


def test_pii_mode_hashes_note_bodies(requests_mock):
    note = {
        "type": "note",
        "id": "n1",
        "attributes": {"body": "call back at 555", "updatedAt": UPDATED},
        "relationships": {"conversation": rel("conversation", "c1")},
    }
    requests_mock.post(f"{BASE}/v1/customers/search", json=page([note]))
    (record,) = records("notes", pii_mode="hash")
    assert record["body"] != "call back at 555"
    assert len(record["body"]) == 64
    assert record["conversation_id"] == "c1"
