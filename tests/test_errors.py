"""Error paths end to end: what a person sees, and what the run does."""

from __future__ import annotations

import logging

import pytest
from conftest import run_cli, run_tap, unlimited_api, write_json
from kustomer_api import OrgSpec

from tap_kustomer.tap import TapKustomer


@pytest.fixture(scope="module")
def api():
    with unlimited_api(OrgSpec(seed=3, conversations=120, history_days=300)) as server:
        yield server


def cli_config(api, tmp_path, token, **settings):
    return write_json(
        tmp_path / "config.json",
        {
            **settings,
            "api_token": token,
            "api_url": api.base_url,
            "start_date": "2020-01-01T00:00:00Z",
            "max_requests_per_minute": 2000,
            "max_search_requests_per_minute": 100,
        },
    )


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "tap-kustomer failed" in line]


def test_401_stops_the_run_with_one_line(api, tmp_path):
    result = run_cli(["--config", str(cli_config(api, tmp_path, "not-a-real-token"))])
    assert result.returncode == 1
    (line,) = error_lines(result.stderr)
    assert "401 Unauthorized (Invalid token): check api_token" in line
    assert "Traceback" not in result.stderr
    assert '"type":"RECORD"' not in result.stdout.replace(" ", "")


def test_403_names_the_missing_role_and_stops_when_asked_to(api, tmp_path):
    config = cli_config(api, tmp_path, "local-no-routing-token", on_unavailable_stream="fail")
    result = run_cli(["--config", str(config)])
    assert result.returncode == 1
    (line,) = error_lines(result.stderr)
    assert "GET /v1/routing/statuses: 403 Forbidden" in line
    assert "org.permission.routing.read" in line
    assert "create a new key with them" in line
    assert "Traceback" not in result.stderr


def test_a_token_from_another_region_is_explained(api, tmp_path):
    api.add_token("eu-token", pod="prod2")
    result = run_cli(["--config", str(cli_config(api, tmp_path, "eu-token"))])
    assert result.returncode == 1
    (line,) = error_lines(result.stderr)
    assert "another Kustomer region" in line
    assert "https://api.prod2.kustomerapp.com" in line


@pytest.mark.parametrize("fault", ["500", "502", "503", "reset", "truncate", "429", "timed_out"])
def test_transient_faults_are_retried_and_nothing_is_lost(api, unpaced, monkeypatch, fault, caplog):
    monkeypatch.setattr("time.sleep", lambda _s: None)  # backoff waits are not what is tested
    caplog.set_level(logging.WARNING)
    api.reset_stats()
    # Timed-out searches hit searches only: a larger share of those.
    api.configure(faults={fault: 0.3 if fault == "timed_out" else 0.15})
    try:
        config = {
            "api_token": api.token,
            "api_url": api.base_url,
            "start_date": "2020-01-01T00:00:00Z",
            # Pages of 20: dozens of searches, so every kind of fault meets some.
            "page_size": 20,
        }
        result = run_tap(
            config, streams=("conversations", "messages", "conversation_events", "users")
        )
    finally:
        api.configure(faults={})
    assert api.stats()["faults"].get(fault, 0) > 0
    for stream in ("conversations", "messages", "conversation_events", "users"):
        assert set(result.ids(stream)) == {o["id"] for o in api.org.truth(stream)}, stream
    assert "Retrying in" in caplog.text


def test_a_404_on_one_conversations_events_is_a_warning(requests_mock, caplog):
    base = "https://api.kustomerapp.com"
    gone, kept = "a" * 24, "b" * 24
    hits = [
        {"type": "conversation", "id": cid, "attributes": {"updatedAt": "2026-01-01T00:00:00.000Z"}}
        for cid in (gone, kept)
    ]
    requests_mock.post(f"{base}/v1/customers/search", json={"links": {"next": None}, "data": hits})
    requests_mock.get(
        f"{base}/v1/conversations/{gone}/events", status_code=404, json={"errors": []}
    )
    event = {
        "type": "event",
        "id": "e" * 24,
        "attributes": {
            "name": "kustomer.conversation.create",
            "updatedAt": "2026-01-01T00:00:00.000Z",
        },
        "relationships": {"conversation": {"data": {"type": "conversation", "id": kept}}},
    }
    requests_mock.get(
        f"{base}/v1/conversations/{kept}/events", json={"links": {"next": None}, "data": [event]}
    )
    tap = TapKustomer(config={"api_token": "t", "start_date": "2025-12-01T00:00:00Z"})
    stream = tap.streams["conversation_events"]
    records = list(stream.get_records(None))
    assert [r["conversation_id"] for r in records] == [kept]
    assert f"Conversation {gone}: events answered 404; skipped" in caplog.text


def test_a_404_on_one_conversations_messages_is_a_warning(requests_mock, caplog):
    """A ticket whose conversation is deleted between the search and its messages."""
    base = "https://api.kustomerapp.com"
    gone = "a" * 24
    phone = {
        "type": "conversation",
        "id": gone,
        "attributes": {
            "updatedAt": "2026-01-01T00:00:00.000Z",
            "createdAt": "2026-01-01T00:00:00.000Z",
            "channels": ["voice"],
            "firstMessageIn": {"channel": "voice"},
        },
    }
    requests_mock.post(
        f"{base}/v1/customers/search", json={"links": {"next": None}, "data": [phone]}
    )
    requests_mock.get(
        f"{base}/v1/conversations/{gone}/messages", status_code=404, json={"errors": []}
    )
    tap = TapKustomer(config={"api_token": "t", "start_date": "2025-12-01T00:00:00Z"})
    records = list(tap.streams["tickets"].get_records(None))
    assert [r["id"] for r in records] == [gone]
    assert records[0]["channel"] == "Phone"
    assert records[0]["first_responded_at"] is None
    assert f"Conversation {gone}: messages answered 404; skipped" in caplog.text
