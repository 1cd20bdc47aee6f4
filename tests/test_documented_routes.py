"""Attachments, SLA versions and holidays in every shape the local API can send them.

Kustomer documents a file of a message on ``GET /v1/messages/{message_id}/attachments/{id}``,
an SLA's versions on ``GET /v1/slas/{id}?versions=`` and a schedule's holidays on
``GET /v1/schedules/{id}?include=holidays``; how the lists answer ``include=attachments``,
``versions=all`` and ``include=holidays`` is [?]. For each switch of the local API the
records are compared with its own data: every file with its documented attributes, every
SLA version, every schedule's holidays, each record valid against its SCHEMA.
"""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from conftest import run_tap, unlimited_api, unpaced_runs
from jsonschema import Draft7Validator
from kustomer_api import OrgSpec
from kustomer_api.auth import ALL_ROLES
from kustomer_api.config import Config

FILE_ROUTE = "GET /v1/messages/{id}/attachments/{id}"
SLA_ROUTE = "GET /v1/slas/{id}"
SCHEDULE_ROUTE = "GET /v1/schedules/{id}"
ATTACHMENT_ROLES = {"org.permission.attachment.read", "org.user.attachment.read"}
# Attribute -> record field of a file (its documented attributes and the seeded rest).
FILE_FIELDS = {
    "name": "name",
    "contentType": "content_type",
    "contentLength": "content_length",
    "redacted": "redacted",
    "uploaded": "uploaded",
    "createdAt": "created_at",
    "updatedAt": "updated_at",
}
VERSION_FIELDS = {
    "name": "name",
    "description": "description",
    "version": "version",
    "hours": "hours",
    "metrics": "metrics",
    "criteria": "criteria",
    "createdAt": "created_at",
}


@pytest.fixture(scope="module")
def api():
    with unlimited_api(OrgSpec(seed=23, conversations=80, object_links=True)) as server:
        yield server


@pytest.fixture(scope="module")
def config(api):
    now = dt.datetime.fromtimestamp(api.org.now_ms / 1000, tz=dt.timezone.utc)
    start = now - dt.timedelta(days=OrgSpec().history_days + 1)
    return {
        "api_token": api.token,
        "api_url": api.base_url,
        "start_date": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


@pytest.fixture(scope="module", autouse=True)
def unpaced_module():
    with unpaced_runs():
        yield


@pytest.fixture
def switch(api):
    """Set local API switches for one test (counters reset); the defaults come back after."""
    changed: set[str] = set()

    def apply(**settings):
        changed.update(settings)
        api.configure(**settings)
        api.reset_stats()

    yield apply
    api.configure(**{name: getattr(Config(), name) for name in changed})


def by_route(api, name):
    return api.stats()["by_route"].get(name, 0)


def assert_valid(result, stream):
    schema = result.schema_of[stream]
    validator = Draft7Validator(schema, format_checker=Draft7Validator.FORMAT_CHECKER)
    errors = [e.message[:120] for r in result.records[stream] for e in validator.iter_errors(r)]
    assert not errors, errors[:5]


def warnings_about(caplog, text):
    return [r for r in caplog.records if r.levelno >= logging.WARNING and text in r.getMessage()]


@pytest.mark.parametrize("include", ["on", "ignored"])
def test_every_file_arrives_with_its_documented_attributes(api, config, switch, include):
    switch(attachments_include=include)
    # One worker (a budget of one request a second): the requests below are exact.
    result = run_tap({**config, "max_requests_per_minute": 60}, streams=("attachments",))
    files = {a["id"]: a for a in api.org.truth("attachments")}
    records = result.records["attachments"]
    assert len(records) == len({r["id"] for r in records}) == len(files)
    for record in records:
        truth = files[record["id"]]
        expected = {field: truth["attributes"][key] for key, field in FILE_FIELDS.items()}
        assert {field: record[field] for field in FILE_FIELDS.values()} == expected
        assert record["message_id"] == truth["relationships"]["message"]["data"]["id"]
    assert_valid(result, "attachments")
    # The documented route costs one request per file the conversation reads lack: all of
    # them when include is ignored, none when it is honoured. Once a conversation read
    # shows include ignored, no other conversation is read for its files.
    messages = {m["id"]: m for m in api.org.truth("messages")}
    conversations = {
        messages[f["relationships"]["message"]["data"]["id"]]["relationships"]["conversation"][
            "data"
        ]["id"]
        for f in files.values()
    }
    reads = by_route(api, "GET /v1/conversations/{id}/messages")
    if include == "on":
        assert (by_route(api, FILE_ROUTE), reads) == (0, len(conversations))
    else:
        assert (by_route(api, FILE_ROUTE), reads) == (len(files), 1)


@pytest.mark.parametrize(
    ("denial", "status"), [({"token": "no-attachment-role"}, 403), ({"missing": True}, 404)]
)
def test_a_file_the_route_refuses_is_emitted_by_id_with_one_warning(
    api, config, switch, caplog, denial, status
):
    missing = (FILE_ROUTE,) if denial.get("missing") else ()
    switch(attachments_include="ignored", missing_routes=missing)
    run_config = config
    if "token" in denial:
        api.add_token(denial["token"], roles=sorted(set(ALL_ROLES) - ATTACHMENT_ROLES))
        run_config = {**config, "api_token": denial["token"]}
    caplog.set_level(logging.WARNING)
    result = run_tap(run_config, streams=("attachments",))
    files = api.org.truth("attachments")
    records = result.records["attachments"]
    assert {r["id"] for r in records} == {f["id"] for f in files}
    assert all(r["name"] is None and r["message_id"] and r["conversation_id"] for r in records)
    assert_valid(result, "attachments")
    warned = warnings_about(caplog, "attachments: GET /v1/messages/{id}/attachments/{id}")
    assert len(warned) == 1, [w.getMessage() for w in warned]
    assert f"answered {status}" in warned[0].getMessage()
    assert "org.permission.attachment.read" in warned[0].getMessage()
    # No file's name reaches the log.
    assert not any(f["attributes"]["name"] in caplog.text for f in files)
    # A 403 means the role is missing: the route is not asked again for every file.
    asked = by_route(api, FILE_ROUTE)
    if status == 403:
        assert 1 <= asked < len(files)
    else:
        assert asked == len(files)


SHAPES = [
    ("included", "accepted"),
    ("embedded", "accepted"),
    ("per_object", "accepted"),
    ("included", "rejected"),
]


@pytest.mark.parametrize(("shape", "params"), SHAPES)
def test_every_sla_version_arrives_once(api, config, switch, caplog, shape, params):
    switch(sla_versions_shape=shape.replace("per_object", "per_sla"), undocumented_params=params)
    caplog.set_level(logging.WARNING)
    result = run_tap(config, streams=("sla_versions",))
    versions = {v["id"]: v for v in api.org.truth("sla_versions")}
    records = result.records["sla_versions"]
    assert len(records) == len({r["id"] for r in records}) == len(versions)
    for record in records:
        truth = versions[record["id"]]
        expected = {field: truth["attributes"][key] for key, field in VERSION_FIELDS.items()}
        assert {field: record[field] for field in VERSION_FIELDS.values()} == expected
        assert record["sla_id"] == truth["relationships"]["sla"]["data"]["id"]
    assert_valid(result, "sla_versions")
    read_alone = shape == "per_object" or params == "rejected"
    assert by_route(api, SLA_ROUTE) == (len(api.org.truth("slas")) if read_alone else 0)
    assert len(warnings_about(caplog, "400 Bad Request")) == (params == "rejected")


def expected_holidays(api):
    holidays = {h["id"]: h["attributes"] for h in api.org.truth("holidays")}
    return {
        s["id"]: [
            {"id": h["id"], **holidays[h["id"]]} for h in s["relationships"]["holidays"]["data"]
        ]
        for s in api.org.truth("business_schedules")
    }


@pytest.mark.parametrize(("shape", "params"), SHAPES)
def test_every_schedule_carries_its_holidays(api, config, switch, caplog, shape, params):
    switch(holidays_shape=shape.replace("per_object", "per_schedule"), undocumented_params=params)
    caplog.set_level(logging.WARNING)
    result = run_tap(config, streams=("business_schedules",))
    records = result.records["business_schedules"]
    expected = expected_holidays(api)
    assert {r["id"]: r["holidays"] for r in records} == expected
    assert any(expected.values()), "some schedules have holidays"
    assert not all(expected.values()), "and some have none"
    assert_valid(result, "business_schedules")
    read_alone = shape == "per_object" or params == "rejected"
    assert by_route(api, SCHEDULE_ROUTE) == (len(expected) if read_alone else 0)
    assert len(warnings_about(caplog, "400 Bad Request")) == (params == "rejected")


def test_holidays_no_route_gives_are_null_not_empty(api, config, switch, caplog):
    switch(holidays_shape="per_schedule", missing_routes=(SCHEDULE_ROUTE,))
    caplog.set_level(logging.WARNING)
    result = run_tap(config, streams=("business_schedules",))
    records = result.records["business_schedules"]
    assert {r["id"] for r in records} == set(expected_holidays(api))
    assert all(r["holidays"] is None for r in records)
    assert len(warnings_about(caplog, "business_schedules: GET /v1/schedules/")) == 1
