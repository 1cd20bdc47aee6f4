"""Shared fixtures: run the tap in-process or as a command against the local Kustomer API."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import tap_kustomer.tap as tap_module
from tap_kustomer.pacing import Pacer
from tap_kustomer.tap import TapKustomer

ROOT = Path(__file__).resolve().parent.parent
ENDPOINT_STREAMS = (
    "conversations",
    "messages",
    "conversation_events",
    "customers",
    "work_sessions",
    "routing_statuses",
    "queues",
    "assistants",
    "tags",
    "teams",
    "users",
)
ALL_STREAMS = (*ENDPOINT_STREAMS, "tickets", "agent_states")


@dataclass
class SyncResult:
    """What one run wrote: records per stream, every STATE, SCHEMA counts."""

    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    states: list[dict[str, Any]] = field(default_factory=list)
    schemas: dict[str, int] = field(default_factory=dict)

    @property
    def state(self) -> dict[str, Any]:
        return self.states[-1]

    def ids(self, stream: str) -> list[str]:
        return [r["id"] for r in self.records.get(stream, [])]

    @classmethod
    def parse(cls, output: str) -> SyncResult:
        result = cls()
        for line in output.splitlines():
            message = json.loads(line)
            kind = message["type"]
            if kind == "RECORD":
                result.records.setdefault(message["stream"], []).append(message["record"])
            elif kind == "STATE":
                result.states.append(message["value"])
            elif kind == "SCHEMA":
                result.schemas[message["stream"]] = result.schemas.get(message["stream"], 0) + 1
        return result


def select_streams(catalog: dict[str, Any], streams: Collection[str]) -> dict[str, Any]:
    """Mark exactly ``streams`` selected in a discovered catalog, in place."""
    for entry in catalog["streams"]:
        for item in entry["metadata"]:
            if item["breadcrumb"] == []:
                item["metadata"]["selected"] = entry["tap_stream_id"] in streams
    return catalog


def catalog_for(config: dict[str, Any], streams: tuple[str, ...] | None) -> dict[str, Any] | None:
    """A catalog selecting only ``streams`` (None: the default, all streams)."""
    if streams is None:
        return None
    return select_streams(TapKustomer(config=config, validate_config=False).catalog_dict, streams)


@pytest.fixture
def unpaced(monkeypatch):
    """In-process runs skip the real budgets and 429 pauses: the local API is not Kustomer."""
    monkeypatch.setattr(
        tap_module,
        "Pacer",
        lambda **_: Pacer(
            requests_per_minute=10**7, searches_per_minute=10**7, sleep=lambda _seconds: None
        ),
    )


def run_tap(
    config: dict[str, Any],
    *,
    state: dict[str, Any] | None = None,
    streams: tuple[str, ...] | None = None,
) -> SyncResult:
    """Sync in-process and parse the Singer messages written to stdout."""
    tap = TapKustomer(config=config, state=state, catalog=catalog_for(config, streams))
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        tap.sync_all()
    return SyncResult.parse(buffer.getvalue())


def run_tap_resuming(
    config: dict[str, Any], *, streams: tuple[str, ...] | None = None, max_runs: int = 10
) -> tuple[dict[str, dict[str, dict[str, Any]]], list[str]]:
    """Sync, and after each run that gives up, run again from its last STATE.

    Returns the latest record per id of every stream, across the runs, and the
    one-line reasons of the runs that gave up.
    """
    latest: dict[str, dict[str, dict[str, Any]]] = {}
    state: dict[str, Any] | None = None
    gave_up: list[str] = []
    for _ in range(max_runs):
        tap = TapKustomer(config=config, state=state, catalog=catalog_for(config, streams))
        buffer = io.StringIO()
        try:
            with contextlib.redirect_stdout(buffer):
                tap.sync_all()
        except Exception as exc:
            gave_up.append(f"{type(exc).__name__}: {exc}")
            finished = False
        else:
            finished = True
        result = SyncResult.parse(buffer.getvalue())
        for stream, records in result.records.items():
            by_id = latest.setdefault(stream, {})
            for record in records:
                by_id[record.get("id") or (record.get("user_id"), record.get("observed_at"))] = (
                    record
                )
        state = result.states[-1] if result.states else state
        if finished:
            return latest, gave_up
    msg = f"no complete run in {max_runs} tries: {gave_up}"
    raise AssertionError(msg)


def run_cli(
    args: list[str], *, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run the installed ``tap-kustomer`` command."""
    command = [str(Path(sys.executable).parent / "tap-kustomer"), *args]
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        check=False,
        cwd=ROOT,
    )


def write_json(path: Path, value: Any) -> Path:
    path.write_text(json.dumps(value))
    return path
