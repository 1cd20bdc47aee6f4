"""What every part of the benchmark shares: paths, org sizes, budgets, streams and targets."""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / ".bench"
RUNS = BENCH / "runs"
RESULTS_MD = ROOT / "benchmarks" / "RESULTS.md"
TOKEN = "local-admin-token"  # noqa: S105 - the local API's documented test token
SEED = 7
HIGH_LIMIT = 10_000_000
# The org's history stays inside Kustomer's 2-year search horizon, so that both taps can
# see every record (the peer has no way to read older ones).
HISTORY_DAYS = 700
START_DATE_DAYS = 1826  # both taps start 5 years back (our tap's default)
POLL_SECONDS = 0.25  # the server's counters, while a tap of scenarios 1 and 2 runs
HWM_POLL_SECONDS = 0.1  # the tap's VmHWM
SERVER_START_SECONDS = 180  # building a 20,000-conversation org takes ~15 s
LARGE_OUTPUT_BYTES = 20_000_000  # Singer output files above this are deleted once parsed

# Scenarios 1 and 2: the server's limits and the tap's budgets (issue 13's setting).
LATENCY_MS = 300
ORG_RPM = 1000
SEARCH_RPM = 100
OTHER_CONSUMER_RPM = 500
TAP_RPM = 500
TAP_SEARCH_RPM = 50
WINDOW_SECONDS = 60.0
# Scenarios 3-5 and the scan comparison: the largest budgets the tap accepts.
TAP_MAX_RPM = 2000
TAP_MAX_SEARCH_RPM = 100

# Targets.
BUDGET_SHARE_TARGET = 95.0
WINDOW_SHARE_TARGET = 100.0
HANDFUL_OF_429S = 5
CPU_RECORDS_TARGET = 10_000
CPU_PEER_RATIO_TARGET = 4.0
RSS_TARGET_MB = 200
FLAT_RATIO = 1.25
REQUESTS_RATIO_TARGET = 0.5

# The five streams of issue 13's budget measurement.
BUDGET_STREAMS = ("conversations", "tickets", "conversation_events", "messages", "customers")
# The streams that read the conversation context, and one scan of it alone.
CONVERSATION_CONTEXT = ("conversations", "tickets", "conversation_events")
ONE_SCAN = ("conversations",)
CPU_STREAMS = ("conversations", "messages")
SHARED_STREAMS = ("conversations", "messages", "customers", "users", "teams", "tags")
# Streams of SHARED_STREAMS that search (their own runs give their requests), and the
# list endpoint of the others (the server's count per route gives theirs).
SEARCH_STREAMS = ("conversations", "messages", "customers")
LIST_ROUTE = {"users": "GET /v1/users", "teams": "GET /v1/teams", "tags": "GET /v1/tags"}
# Where each stream's records can be checked in /__admin/truth.
TRUTH_OF = {
    "conversations": "conversations",
    "messages": "messages",
    "conversation_events": "conversation_events",
    "tickets": "conversations",
    "customers": "customers",
    "users": "users",
    "teams": "teams",
    "tags": "tags",
}


@dataclass(frozen=True)
class Mode:
    """Org sizes and time limits of a full or a quick run."""

    name: str
    budget_conversations: int
    large_conversations: int
    small_conversations: int
    requests_conversations: int
    budget_timeout: float
    run_timeout: float


FULL = Mode("full", 1200, 20_000, 2_000, 5_000, budget_timeout=900, run_timeout=600)
QUICK = Mode("quick", 150, 3_000, 500, 1_000, budget_timeout=180, run_timeout=180)


def log(message: str) -> None:
    """Progress on stderr, timestamped."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)  # noqa: T201


def clean_env() -> dict[str, str]:
    """The environment for child processes: no proxies, no tap settings from outside."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.upper().endswith("_PROXY") and not key.startswith("TAP_KUSTOMER_")
    }
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def start_date(days: int = START_DATE_DAYS) -> str:
    """``days`` ago, as the taps' ``start_date``."""
    moment = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=days)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
