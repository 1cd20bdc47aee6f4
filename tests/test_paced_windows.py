"""The budgets as the server counts them: the fullest 60-second window of arrivals.

``test_pacing`` checks the pacer's own send times on a fake clock. Here the tap runs as a
process against the local API, which logs each request's arrival (after its latency), and
every sliding 60-second window of those arrivals is counted, for all requests and for
searches, retries after 429s included. The pacer keeps each request 60 s plus a margin
after the one a budget earlier, because the server counts arrivals, not sends: a request
delayed on its way more than the one a budget after it would otherwise share a window with
it. Three runs side by side (a minute and a bit of wall time for all):

- the network's delay drops from 150 ms to 1 ms after the first 15 s, which only the
  margin absorbs (with a 1 ms margin a window holds one request more than the budget),
  once with the request budget the bound and once with the search budget;
- the org answers 429 to every request for the 1.5 s before its limit's minute resets,
  and the retries that follow count in the windows like any request.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
from conftest import ROOT, SyncResult, catalog_for, cli_config, tap_command, write_json
from kustomer_api import LocalKustomer, OrgSpec
from test_pacing import max_in_any_window

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.slow

REQUESTS_PER_MINUTE = 110
SEARCHES_PER_MINUTE = 20


@dataclass(frozen=True)
class Shape:
    """Which budget a run of conversation_events keeps full for a minute and a bit.

    Keyset pages overlap by one hit, so a search brings page_size - 1 new conversations,
    each one request for its events. At 5 a search, 20 searches bring 100 a minute, more
    than the 90 the request budget leaves beside them: the requests are the bound. At 4,
    80: the searches are.
    """

    bound: str
    page_size: int
    conversations: int


REQUEST_BOUND = Shape("requests", page_size=6, conversations=105)
SEARCH_BOUND = Shape("searches", page_size=5, conversations=100)
HIGH_LATENCY_MS = 150
LOW_LATENCY_AFTER_SECONDS = 15
RATE_LIMITED_SECONDS = 1.5
# How full the fullest window must be for the run to prove anything: a few requests less
# than the budget (the 429 pause, the run's first and last seconds).
FULL = 0.9


@dataclass
class Windows:
    """What one run's arrival log shows."""

    shape: Shape
    requests: int
    searches: int
    seconds: float
    rate_limited: int
    result: SyncResult
    truth: int

    def describe(self) -> str:
        return (
            f"fullest 60 s window: {self.requests} requests (budget {REQUESTS_PER_MINUTE}), "
            f"{self.searches} searches (budget {SEARCHES_PER_MINUTE}); "
            f"{self.seconds:.0f} s, {self.rate_limited} answered 429"
        )


def latency_drops(api: LocalKustomer) -> Iterator[threading.Timer]:
    yield threading.Timer(LOW_LATENCY_AFTER_SECONDS, lambda: api.configure(latency_ms=1))


def rate_limited_before_reset(api: LocalKustomer) -> Iterator[threading.Timer]:
    # The pause after a 429 lasts until x-ratelimit-reset, the end of the server's minute
    # on the wall clock: refusing just before it keeps the pause short. The server takes
    # its settings before the latency: the refusals stop early enough that no request
    # refused arrives in the next minute (a whole minute's pause). At least 3 s into the
    # run, so that the tap is busy.
    now = time.time()
    reset = (now + 3 + RATE_LIMITED_SECONDS) // 60 * 60 + 60
    end = reset - 2 * HIGH_LATENCY_MS / 1000 - now
    yield threading.Timer(end - RATE_LIMITED_SECONDS, lambda: api.configure(faults={"429": 1.0}))
    yield threading.Timer(end, lambda: api.configure(faults={}))


@contextlib.contextmanager
def paced_run(
    tmp_path: Path, shape: Shape, network: Callable[[LocalKustomer], Iterator[threading.Timer]]
) -> Iterator[Callable[[], Windows]]:
    """Start the tap on a fresh org with ``network``'s changes; yields what waits for it."""
    spec = OrgSpec(seed=41, conversations=shape.conversations, history_days=300)
    # The server's own limits stay out of reach: only the pacer keeps the budgets.
    with LocalKustomer(spec, org_rpm=10**6, search_rpm=10**6, latency_ms=HIGH_LATENCY_MS) as api:
        tmp_path.mkdir()
        # Within the search horizon: no history pass, every search a page of the scan.
        start = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=400)
        config_path = cli_config(
            api,
            tmp_path,
            max_requests_per_minute=REQUESTS_PER_MINUTE,
            max_search_requests_per_minute=SEARCHES_PER_MINUTE,
            page_size=shape.page_size,
            start_date=start.isoformat(),
        )
        config: dict[str, Any] = {"api_token": api.token, "api_url": api.base_url}
        catalog_path = write_json(
            tmp_path / "catalog.json", catalog_for(config, ("conversation_events",))
        )
        api.reset_stats()
        timers = list(network(api))
        output_path = tmp_path / "output.jsonl"
        with output_path.open("w") as output:
            process = subprocess.Popen(
                tap_command(config_path, catalog_path, None, tmp_path / "state.json"),
                stdout=output,
                stderr=subprocess.DEVNULL,
                cwd=ROOT,
            )
        for timer in timers:
            timer.start()

        def finish() -> Windows:
            assert process.wait(timeout=300) == 0
            times = api.request_times()
            requests = sorted(times["requests"])
            return Windows(
                shape=shape,
                requests=max_in_any_window(requests),
                searches=max_in_any_window(times["searches"]),
                seconds=requests[-1] - requests[0],
                rate_limited=api.stats()["rate_limited"],
                result=SyncResult.parse(output_path.read_text()),
                truth=len(api.org.truth("conversation_events")),
            )

        try:
            yield finish
        finally:
            for timer in timers:
                timer.cancel()
            if process.poll() is None:
                process.kill()
                process.wait()


def test_no_60_second_window_of_arrivals_holds_more_than_either_budget(tmp_path):
    with (
        paced_run(tmp_path / "requests", REQUEST_BOUND, latency_drops) as requests,
        paced_run(tmp_path / "searches", SEARCH_BOUND, latency_drops) as searches,
        paced_run(tmp_path / "429", REQUEST_BOUND, rate_limited_before_reset) as refused,
    ):
        runs = {
            "latency drops, requests the bound": requests(),
            "latency drops, searches the bound": searches(),
            "429s before the reset": refused(),
        }
    summary = "; ".join(f"{name}: {run.describe()}" for name, run in runs.items())
    print(f"\n{summary}")
    for run in runs.values():
        assert run.requests <= REQUESTS_PER_MINUTE, summary
        assert run.searches <= SEARCHES_PER_MINUTE, summary
        # Its bound was spent for more than a minute: the fullest window was full.
        assert run.seconds > 60, summary
        budget = {"requests": REQUESTS_PER_MINUTE, "searches": SEARCHES_PER_MINUTE}
        assert getattr(run, run.shape.bound) >= FULL * budget[run.shape.bound], summary
        assert len(run.result.records["conversation_events"]) == run.truth
    assert runs["429s before the reset"].rate_limited > 0, summary
