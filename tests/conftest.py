"""Shared fixtures: run the tap in-process or as a command against the local Kustomer API."""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import io
import json
import os
import signal
import subprocess
import sys
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from kustomer_api import LocalKustomer, OrgSpec
from kustomer_api.seed import STREAMS
from loaders import ROOT, postgres_server

import tap_kustomer.run as run_module
from tap_kustomer.klass_directory import is_klass_stream_name
from tap_kustomer.pacing import Pacer
from tap_kustomer.tap import TapKustomer

# The streams with a seeded truth of their own, in the local API's order.
ENDPOINT_STREAMS = STREAMS
ALL_STREAMS = (*ENDPOINT_STREAMS, "tickets", "agent_states")
# Read from the audit log (tests/test_deletes.py).
LOG_STREAMS = ("audit_logs", "conversation_status_changes")


@dataclass
class SyncResult:
    """What one run wrote: records per stream, every STATE, SCHEMA counts."""

    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    states: list[dict[str, Any]] = field(default_factory=list)
    schemas: dict[str, int] = field(default_factory=dict)
    # The last SCHEMA message's schema of each stream.
    schema_of: dict[str, dict[str, Any]] = field(default_factory=dict)

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
                result.schema_of[message["stream"]] = message["schema"]
        return result


def unlimited_api(spec: OrgSpec, **knobs: Any) -> LocalKustomer:
    """A local API whose rate limits no test reaches (the budgets are tested on their own)."""
    return LocalKustomer(spec, org_rpm=10**7, search_rpm=10**7, **knobs)


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


def discovered_catalog(config: dict[str, Any], streams: Collection[str] | None = None) -> dict:
    """What ``--discover`` writes (custom attributes typed, a stream per Klass), in-process.

    ``streams``: select exactly these, and every per-Klass stream; None selects nothing more.
    """
    stdout = captured_stdout()
    with contextlib.redirect_stdout(stdout):
        TapKustomer(config=config, validate_config=False).run_discovery()
    catalog = json.loads(written(stdout))
    if streams is not None:
        klasses = [
            e["tap_stream_id"]
            for e in catalog["streams"]
            if is_klass_stream_name(e["tap_stream_id"])
        ]
        select_streams(catalog, [*streams, *klasses])
    return catalog


@contextlib.contextmanager
def unpaced_runs() -> Iterator[None]:
    """In-process runs skip the real budgets and 429 pauses: the local API is not Kustomer."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            run_module,
            "Pacer",
            lambda **_: Pacer(
                requests_per_minute=10**7, searches_per_minute=10**7, sleep=lambda _seconds: None
            ),
        )
        yield


@pytest.fixture
def unpaced():
    """``unpaced_runs`` for one test."""
    with unpaced_runs():
        yield


def captured_stdout() -> io.TextIOWrapper:
    """A stand-in for stdout: the tap writes bytes to ``sys.stdout.buffer``."""
    return io.TextIOWrapper(io.BytesIO(), encoding="utf-8")


def written(stdout: io.TextIOWrapper) -> str:
    """Everything written to a ``captured_stdout``."""
    stdout.flush()
    return stdout.buffer.getvalue().decode()  # type: ignore[attr-defined]


def run_tap(
    config: dict[str, Any],
    *,
    state: dict[str, Any] | None = None,
    streams: tuple[str, ...] | None = None,
) -> SyncResult:
    """Sync in-process and parse the Singer messages written to stdout."""
    tap = TapKustomer(config=config, state=state, catalog=catalog_for(config, streams))
    return SyncResult.parse(output_of_sync(tap))


def output_of_sync(tap: TapKustomer) -> str:
    """The Singer messages ``tap.sync_all()`` writes to stdout."""
    stdout = captured_stdout()
    with contextlib.redirect_stdout(stdout):
        tap.sync_all()
    return written(stdout)


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
        stdout = captured_stdout()
        try:
            with contextlib.redirect_stdout(stdout):
                tap.sync_all()
        except Exception as exc:
            gave_up.append(f"{type(exc).__name__}: {exc}")
            finished = False
        else:
            finished = True
        result = SyncResult.parse(written(stdout))
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


def cli_config(api: Any, tmp_path: Path, **extra: Any) -> Path:
    """A config file for the local API at the tap's largest budgets."""
    return write_json(
        tmp_path / "config.json",
        {
            "api_token": api.token,
            "api_url": api.base_url,
            "max_requests_per_minute": 2000,
            "max_search_requests_per_minute": 100,
            **extra,
        },
    )


def selected_catalog(tmp_path, config_path, streams):
    discovered = subprocess.run(
        [sys.executable, "-m", "tap_kustomer", "--config", str(config_path), "--discover"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    return write_json(tmp_path / "catalog.json", select_streams(json.loads(discovered), streams))


def tap_command(config_path: Path, catalog_path: Path, state: dict | None, path: Path) -> list:
    """The tap as a process, resuming from ``state`` (written to ``path``) when given."""
    args = [sys.executable, "-m", "tap_kustomer", "--config", str(config_path)]
    args += ["--catalog", str(catalog_path)]
    if state is not None:
        args += ["--state", str(write_json(path, state))]
    return args


@dataclass
class Kill:
    """Where a kill lands: at the first flush showing a record ``trigger`` accepts."""

    label: str
    trigger: Any  # Callable[[str, dict], bool]: (stream, record) -> kill now
    records_seen: int = 0


def in_phase(stream: str, phase: str, after: int = 1) -> Any:
    """A kill trigger: the ``after``-th record of ``stream`` in ``phase`` seen in one run.

    ``phase`` is ``search`` (updated since the search horizon), ``history`` (before it,
    from the archive search or the lists) or ``any``.
    """
    horizon = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=730)).isoformat()
    seen = [0]

    def trigger(name: str, record: dict) -> bool:
        if name != stream:
            return False
        updated = record.get("conversation_updated_at") or record.get("updated_at") or ""
        if phase != "any" and (updated < horizon) != (phase == "history"):
            return False
        seen[0] += 1
        return seen[0] >= after

    return trigger


@dataclass
class Attempt:
    """One run of the tap: killed by ``kill`` (None: the last run), and what it wrote."""

    kill: Kill | None
    messages: list[dict[str, Any]]

    def last_state(self) -> dict[str, Any] | None:
        states = [m["value"] for m in self.messages if m["type"] == "STATE"]
        return states[-1] if states else None

    def records(self, stream: str, *, before_last_state: bool = False) -> dict[str, dict]:
        """``stream``'s records by id, all or only those the last STATE covers."""
        messages = self.messages
        if before_last_state:
            ends = [i for i, m in enumerate(messages) if m["type"] == "STATE"]
            messages = messages[: ends[-1]] if ends else []
        return {
            m["record"].get("id") or m["record"]["user_id"]: m["record"]
            for m in messages
            if m["type"] == "RECORD" and m["stream"] == stream
        }


def run_each_kill(tmp_path, config_path, catalog_path, kills: list[Kill]) -> list[Attempt]:
    """For each kill, run until its trigger sees a record, SIGKILL the live process, resume
    from the last STATE; then run to the end. Each kill must land in a run still going and
    the process must die by the signal, or the test fails: no kill passes by luck."""
    attempts: list[Attempt] = []
    state = None
    for number, kill in enumerate([*kills, None]):
        args = tap_command(config_path, catalog_path, state, tmp_path / f"state{number}.json")
        process = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=ROOT
        )
        assert process.stdout is not None
        lines = []
        for raw in process.stdout:
            lines.append(raw.decode(errors="replace"))
            if kill is None or '"RECORD"' not in lines[-1]:
                continue
            message = json.loads(raw)
            if kill.trigger(message["stream"], message["record"]):
                assert process.poll() is None, f"{kill.label}: the run had already ended"
                process.send_signal(signal.SIGKILL)
                kill.records_seen = sum('"RECORD"' in line for line in lines)
                break
        lines += [raw.decode(errors="replace") for raw in process.stdout]
        returncode = process.wait(timeout=600)
        if kill is None:
            assert returncode == 0
        else:
            assert kill.records_seen, f"{kill.label}: the trigger never fired"
            assert returncode == -signal.SIGKILL, f"{kill.label}: exit {returncode}"
        attempt = Attempt(kill, [json.loads(line) for line in _whole_lines("".join(lines))])
        attempts.append(attempt)
        state = attempt.last_state() or state
    return attempts


def run_killed_at(tmp_path, config_path, catalog_path, kills: list[Kill]):
    """The ids of each stream's records over every run of ``run_each_kill``."""
    records: dict[str, set[str]] = {}
    for attempt in run_each_kill(tmp_path, config_path, catalog_path, kills):
        for stream in {m["stream"] for m in attempt.messages if m["type"] == "RECORD"}:
            records.setdefault(stream, set()).update(attempt.records(stream))
    return records


def _whole_lines(output: str):
    """The lines SIGKILL did not cut short."""
    for line in output.splitlines():
        try:
            json.loads(line)
        except json.JSONDecodeError:
            continue
        yield line


def meltano_env(api: Any, work: Path, **extra: str) -> dict[str, str]:
    """Environment for a Meltano run from the local API, with its own state database."""
    return {
        **os.environ,
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        "MELTANO_DATABASE_URI": f"sqlite:///{work / 'meltano.db'}",
        "TAP_KUSTOMER_API_URL": api.base_url,
        "TAP_KUSTOMER_API_TOKEN": api.token,
        "TAP_KUSTOMER_START_DATE": "2020-01-01T00:00:00Z",
        "TAP_KUSTOMER_MAX_REQUESTS_PER_MINUTE": "2000",
        "TAP_KUSTOMER_MAX_SEARCH_REQUESTS_PER_MINUTE": "100",
        **extra,
    }


def run_meltano(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run the venv's ``meltano`` in the project, with ``env``."""
    return subprocess.run(
        [str(Path(sys.executable).parent / "meltano"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def install_loaders(api: Any, work: Path) -> None:
    """``meltano install`` the DuckDB and PostgreSQL loaders, for ``loaders.load``."""
    done = run_meltano(
        meltano_env(api, work),
        "install",
        "--plugin-type",
        "loader",
        "target-duckdb",
        "target-postgres",
    )
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.fixture(scope="session")
def postgres():
    """A throwaway PostgreSQL server on loopback for the session; yields its port."""
    with postgres_server() as port:
        yield port


@pytest.fixture(scope="module")
def meltano_lock():
    """Hold the project's Meltano for one test module at a time.

    Modules that run Meltano here share the project's .meltano folder: ``meltano install``
    rebuilds plugin venvs and clears run files that another module's ``meltano run`` may be
    using. scripts/test runs modules on two pytest-xdist workers; this lock keeps such modules
    one after another, whichever worker has them.
    """
    (ROOT / ".meltano").mkdir(exist_ok=True)
    with (ROOT / ".meltano" / "tests.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def write_json(path: Path, value: Any) -> Path:
    path.write_text(json.dumps(value))
    return path
