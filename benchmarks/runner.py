"""The processes: the local Kustomer API, our tap and the peer, each with its config and catalog."""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests
from kustomer_api.process import start_subprocess, stop

from .common import (
    HIGH_LIMIT,
    HISTORY_DAYS,
    LARGE_OUTPUT_BYTES,
    ROOT,
    RUNS,
    SEED,
    SERVER_START_SECONDS,
    TOKEN,
    clean_env,
    start_date,
)
from .cost import watch

if TYPE_CHECKING:
    from collections.abc import Callable

# ---- the local Kustomer API ----------------------------------------------------------------


class LocalApi:
    """One ``kustomer-local-api`` process on 127.0.0.1 (``kustomer_api.process``), and its admin."""

    def __init__(
        self,
        name: str,
        *,
        conversations: int,
        limits: tuple[int, int] = (HIGH_LIMIT, HIGH_LIMIT),
        latency_ms: float = 0,
        other_consumer_rpm: float = 0,
    ) -> None:
        """Describe the server: org size, (org, search) limits per minute, latency."""
        self.name = name
        org_rpm, search_rpm = limits
        self.args = [
            *("--port", "0", "--seed", str(SEED), "--conversations", str(conversations)),
            *("--history-days", str(HISTORY_DAYS), "--latency-ms", str(latency_ms)),
            *("--org-rpm", str(org_rpm), "--search-rpm", str(search_rpm)),
            *("--other-consumer-rpm", str(other_consumer_rpm)),
        ]
        self.process: subprocess.Popen[bytes] | None = None
        self.base_url = ""
        self.session = requests.Session()
        self.session.trust_env = False  # never a proxy: the server is on 127.0.0.1

    @property
    def command(self) -> str:
        """The command line that starts this server."""
        return "kustomer-local-api " + " ".join(self.args)

    def __enter__(self) -> LocalApi:  # noqa: PYI034 (typing.Self needs Python 3.11)
        """Start the server and wait until it serves."""
        log_path = RUNS / f"{self.name}-server.log"
        with log_path.open("wb") as server_log:
            try:
                self.process, self.base_url = start_subprocess(
                    self.args, env=clean_env(), stderr=server_log, timeout=SERVER_START_SECONDS
                )
            except RuntimeError as exc:
                msg = f"{exc} (see {log_path})"
                raise RuntimeError(msg) from exc
        return self

    def __exit__(self, *_exc: object) -> None:
        """Stop the server process this object started."""
        if self.process is not None:
            stop(self.process)

    def stats(self) -> dict[str, Any]:
        """``GET /__admin/stats``."""
        stats: dict[str, Any] = self.session.get(
            self.base_url + "/__admin/stats", timeout=10
        ).json()
        return stats

    def request_times(self) -> dict[str, list[float]]:
        """``GET /__admin/request-times``: every request's and search's arrival, sorted."""
        times: dict[str, list[float]] = self.session.get(
            self.base_url + "/__admin/request-times", timeout=30
        ).json()
        return {name: sorted(values) for name, values in times.items()}

    def reset_stats(self) -> None:
        """``POST /__admin/reset-stats``."""
        self.session.post(self.base_url + "/__admin/reset-stats", timeout=10).raise_for_status()

    def truth(self, stream: str) -> list[dict[str, Any]]:
        """``GET /__admin/truth?stream=``: every object's id and updatedAt."""
        response = self.session.get(
            self.base_url + "/__admin/truth", params={"stream": stream}, timeout=60
        )
        response.raise_for_status()
        rows: list[dict[str, Any]] = response.json()
        return rows


# ---- one tap process -------------------------------------------------------------------------


@dataclass
class Run:
    """One tap process: how it ended, what it cost, what it wrote."""

    label: str
    stderr_path: Path
    returncode: int | None = None
    timed_out: bool = False
    wall_seconds: float = 0.0
    cpu_seconds: float = 0.0
    peak_rss_mb: float = 0.0
    ru_maxrss_mb: float = 0.0
    records: dict[str, int] = field(default_factory=dict)
    ids: dict[str, set[str]] = field(default_factory=dict)
    duplicates: dict[str, int] = field(default_factory=dict)
    last_error: str = ""

    @property
    def ok(self) -> bool:
        """Exit code 0 within the time limit."""
        return self.returncode == 0 and not self.timed_out

    @property
    def total_records(self) -> int:
        """Records of every stream."""
        return sum(self.records.values())

    def outcome(self) -> str:
        """How the run ended, in words."""
        if self.timed_out:
            return f"killed after {self.wall_seconds:.0f} s (time limit)"
        if self.returncode != 0:
            return f"exit {self.returncode}: {self.last_error or 'see ' + str(self.stderr_path)}"
        return "completed"

    def summary(self) -> dict[str, Any]:
        """The run's figures for the raw results."""
        return {
            "outcome": self.outcome(),
            "ok": self.ok,
            "returncode": self.returncode,
            "wall_seconds": round(self.wall_seconds, 2),
            "cpu_seconds": round(self.cpu_seconds, 3),
            "peak_rss_mb": round(self.peak_rss_mb, 1),
            "ru_maxrss_mb_not_used": round(self.ru_maxrss_mb, 1),
            "records": dict(sorted(self.records.items())),
            "total_records": self.total_records,
            "duplicates": dict(sorted(self.duplicates.items())),
        }


def run_tap(
    label: str,
    argv: list[str],
    *,
    env: dict[str, str],
    timeout: float,
    on_poll: Callable[[], None] | None = None,
) -> Run:
    """Run a tap to completion (or its time limit), measuring CPU time and peak RSS."""
    out_path = RUNS / f"{label}.jsonl"
    run = Run(label, stderr_path=RUNS / f"{label}.stderr.log")
    with out_path.open("wb") as out, run.stderr_path.open("wb") as err:
        process = subprocess.Popen(argv, cwd=RUNS, env=env, stdout=out, stderr=err)  # noqa: S603
    watched = watch(process, timeout=timeout, on_poll=on_poll)
    run.returncode = watched.returncode
    run.timed_out = watched.timed_out
    run.wall_seconds = watched.wall_seconds
    run.cpu_seconds = watched.cpu_seconds
    run.peak_rss_mb = watched.peak_rss_mb
    run.ru_maxrss_mb = watched.ru_maxrss_mb
    _read_output(run, out_path)
    if out_path.stat().st_size > LARGE_OUTPUT_BYTES:
        out_path.unlink()
    if run.returncode != 0:
        run.last_error = _last_error(run.stderr_path)
    return run


def _read_output(run: Run, path: Path) -> None:
    """Records per stream, their ids, and ids met more than once."""
    with path.open("rb") as lines:
        for line in lines:
            if b'"RECORD"' not in line[:40]:
                continue
            try:
                message = json.loads(line)
            except ValueError:
                continue  # a line cut short when a run was killed
            if message.get("type") != "RECORD":
                continue
            stream = message["stream"]
            record_id = str((message.get("record") or {}).get("id"))
            run.records[stream] = run.records.get(stream, 0) + 1
            seen = run.ids.setdefault(stream, set())
            if record_id in seen:
                run.duplicates[stream] = run.duplicates.get(stream, 0) + 1
            seen.add(record_id)


def _last_error(path: Path) -> str:
    lines = [line.strip() for line in path.read_text(errors="replace").splitlines() if line.strip()]
    for line in reversed(lines):
        if "CRITICAL" in line or "rror" in line:
            return line[-200:]
    return lines[-1][-200:] if lines else ""


def select(catalog: dict[str, Any], streams: tuple[str, ...]) -> dict[str, Any]:
    """The catalog with exactly ``streams`` selected (and only those listed)."""
    chosen: dict[str, Any] = json.loads(json.dumps(catalog))
    chosen["streams"] = [s for s in chosen["streams"] if s["tap_stream_id"] in streams]
    missing = set(streams) - {s["tap_stream_id"] for s in chosen["streams"]}
    if missing:
        msg = f"streams not in the catalog: {sorted(missing)}"
        raise ValueError(msg)
    for stream in chosen["streams"]:
        for entry in stream["metadata"]:
            if entry["breadcrumb"] == []:
                entry["metadata"]["selected"] = True
    return chosen


# ---- the two taps ----------------------------------------------------------------------------


class OurTap:
    """tap-kustomer from this repository, in the project's virtualenv."""

    def __init__(self) -> None:
        """Find the tap next to the python running this benchmark."""
        script = Path(sys.executable).parent / "tap-kustomer"
        self.argv = [str(script)] if script.exists() else [sys.executable, "-m", "tap_kustomer"]
        self._catalog: dict[str, Any] | None = None

    def catalog(self) -> dict[str, Any]:
        """The tap's catalog (its discovery sends no request)."""
        if self._catalog is None:
            config = RUNS / "ours-discover-config.json"
            config.write_text(json.dumps({"api_token": TOKEN, "api_url": "http://127.0.0.1:9"}))
            found = subprocess.run(  # noqa: S603
                [*self.argv, "--config", str(config), "--discover"],
                cwd=RUNS,
                env=clean_env(),
                capture_output=True,
                check=True,
                timeout=120,
            )
            self._catalog = json.loads(found.stdout)
        return self._catalog

    def run(  # noqa: PLR0913 - the options after * are keyword-only
        self,
        label: str,
        api: LocalApi,
        streams: tuple[str, ...],
        *,
        settings: dict[str, Any],
        timeout: float,
        on_poll: Callable[[], None] | None = None,
    ) -> Run:
        """Sync ``streams`` from ``api`` with ``settings``."""
        config = {"api_token": TOKEN, "api_url": api.base_url, **settings}
        config_path = RUNS / f"{label}-config.json"
        catalog_path = RUNS / f"{label}-catalog.json"
        config_path.write_text(json.dumps(config, indent=2))
        catalog_path.write_text(json.dumps(select(self.catalog(), streams)))
        argv = [*self.argv, "--config", str(config_path), "--catalog", str(catalog_path)]
        return run_tap(label, argv, env=clean_env(), timeout=timeout, on_poll=on_poll)

    def startup(self) -> dict[str, float]:
        """CPU-seconds and peak RSS of the tap only starting and exiting (``--about``)."""
        run = run_tap(
            "startup-ours", [*self.argv, "--about", "--format", "json"], env=clean_env(), timeout=60
        )
        return {"cpu_seconds": run.cpu_seconds, "peak_rss_mb": run.peak_rss_mb}


class PeerTap:
    """singer-io tap-kustomer 1.1.0 from PyPI, through benchmarks/peer_wrapper.py."""

    def __init__(self, python: Path) -> None:
        """Run the peer with ``python``, its own virtualenv's interpreter."""
        self.python = python
        self.argv = [str(python), str(ROOT / "benchmarks" / "peer_wrapper.py")]
        self._catalog: dict[str, Any] | None = None

    def available(self) -> bool:
        """Whether the peer's virtualenv exists."""
        return self.python.exists()

    @staticmethod
    def _env(api: LocalApi) -> dict[str, str]:
        env = clean_env()
        env["KUSTOMER_BASE_URL"] = api.base_url + "/v1"
        return env

    @staticmethod
    def _config(label: str) -> Path:
        # page_size_limit 500 as advised (its default 100 would cost 5x the searches);
        # user_agent because the peer fails with KeyError without it (peers.md §3.5).
        config = {
            "api_token": TOKEN,
            "start_date": start_date(),
            "user_agent": "tap-kustomer-benchmark",
            "page_size_limit": 500,
        }
        path = RUNS / f"{label}-config.json"
        path.write_text(json.dumps(config, indent=2))
        return path

    def catalog(self, api: LocalApi) -> dict[str, Any]:
        """The peer's catalog; its discovery checks the token first, so it needs a server."""
        if self._catalog is None:
            found = subprocess.run(  # noqa: S603
                [*self.argv, "--config", str(self._config("peer-discover")), "--discover"],
                cwd=RUNS,
                env=self._env(api),
                capture_output=True,
                check=True,
                timeout=120,
            )
            self._catalog = json.loads(found.stdout)
        return self._catalog

    def run(self, label: str, api: LocalApi, streams: tuple[str, ...], *, timeout: float) -> Run:
        """Sync ``streams`` from ``api``."""
        catalog_path = RUNS / f"{label}-catalog.json"
        catalog_path.write_text(json.dumps(select(self.catalog(api), streams)))
        # --catalog, not --properties: the peer ignores --properties (peers.md §8.3).
        argv = [*self.argv, "--config", str(self._config(label)), "--catalog", str(catalog_path)]
        return run_tap(label, argv, env=self._env(api), timeout=timeout)

    @staticmethod
    def stream_requests(run: Run) -> dict[str, int]:
        """Data requests per stream, from the peer's ``http_request_duration`` metrics."""
        counts: dict[str, int] = {}
        for line in run.stderr_path.read_text(errors="replace").splitlines():
            if '"http_request_duration"' not in line:
                continue
            with contextlib.suppress(ValueError, KeyError, IndexError):
                metric = json.loads(line.split("METRIC: ", 1)[1])
                endpoint = metric["tags"]["endpoint"]
                counts[endpoint] = counts.get(endpoint, 0) + 1
        return counts

    @staticmethod
    def finished_streams(run: Run) -> list[str]:
        """Streams the peer logged as finished."""
        text = run.stderr_path.read_text(errors="replace")
        return sorted(set(re.findall(r"FINISHED Syncing: (\S+?),", text)))
