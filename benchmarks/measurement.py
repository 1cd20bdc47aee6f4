"""What a run reaches: the request timeline, and the records lost.

The request timeline is the local API's counters (``GET /__admin/stats``) sampled every
0.25 s; the fullest 60-second windows come from its log of arrival times
(``GET /__admin/request-times``), counted exactly (``max_window``). The tap process's CPU
time and peak RSS are ``cost``'s.
"""

from __future__ import annotations

import bisect
import math
import time
from typing import TYPE_CHECKING, Any, NamedTuple

import requests

from .common import TRUTH_OF, WINDOW_SECONDS

if TYPE_CHECKING:
    from .runner import LocalApi, Run

BIN_SECONDS = 10.0


# ---- the request timeline --------------------------------------------------------------------


class Sample(NamedTuple):
    """The server's counters, snapshot between ``begin`` and ``end`` (monotonic seconds)."""

    begin: float
    end: float
    requests: int
    rate_limited: int
    other: int
    searches: int

    @property
    def at(self) -> float:
        """The middle of the interval in which the snapshot was taken."""
        return (self.begin + self.end) / 2


def max_window(times: list[float]) -> int:
    """The most arrivals in any window of 60 s (``[t, t + 60)``), from sorted times."""
    most = 0
    for i, begin in enumerate(times):
        most = max(most, bisect.bisect_left(times, begin + WINDOW_SECONDS, lo=i) - i)
    return most


class RequestTimeline:
    """The server's counters sampled while a tap runs."""

    def __init__(self, api: LocalApi) -> None:
        """Sample ``api``, whose counters were just reset; the tap is spawned right after."""
        self.api = api
        self.spawned = time.monotonic()
        self.samples: list[Sample] = [Sample(self.spawned, self.spawned, 0, 0, 0, 0)]

    def poll(self) -> None:
        """Take one sample: requests, 429s, the other consumer's requests, searches."""
        begin = time.monotonic()
        try:
            stats = self.api.stats()
        except requests.RequestException:
            return
        self.samples.append(
            Sample(
                begin,
                time.monotonic(),
                int(stats["requests"]),
                int(stats["rate_limited"]),
                int(stats["other_consumer_requests"]),
                int(stats["search_requests"]),
            )
        )

    def busy(self) -> dict[str, Any]:
        """Requests per minute between the first and the last request the server saw.

        The first sample that saw a request and the first sample that saw the final
        count bound the busy part (to within one 0.25 s poll at each end).
        """
        final = self.samples[-1].requests
        first = next((s for s in self.samples if s.requests > 0), None)
        last = next((s for s in self.samples if s.requests == final), None)
        if first is None or last is None or last.at <= first.at:
            return {"requests": final}
        seconds = last.at - first.at
        times = self.api.request_times()
        rates = self._rates(first.at, last.at)
        return {
            "requests": final,
            "searches": self.samples[-1].searches,
            "busy_seconds": seconds,
            "busy_rpm": (last.requests - first.requests) / seconds * 60,
            "startup_seconds": first.at - self.spawned,
            "max_60s": max_window(times["requests"]),
            "max_60s_searches": max_window(times["searches"]),
            "worst_60s_rpm": min(rates) if rates else math.nan,
            "bins_10s_rpm": self._bins(first.at, last.at),
            "rate_limited": self.samples[-1].rate_limited,
            "other_rpm": (last.other - first.other) / seconds * 60,
        }

    def _count_at(self, moment: float) -> int:
        """Requests counted by the last sample taken at or before ``moment``."""
        times = [s.at for s in self.samples]
        index = bisect.bisect_right(times, moment) - 1
        return self.samples[max(index, 0)].requests

    def _rates(self, begin: float, end: float) -> list[float]:
        """Requests per minute over every 60 s span of samples inside the busy part."""
        inside = [s for s in self.samples if begin <= s.at <= end]
        rates = []
        j = 0
        for i, start in enumerate(inside):
            j = max(j, i)
            while j < len(inside) and inside[j].at < start.at + WINDOW_SECONDS:
                j += 1
            if j == len(inside):
                break
            rates.append((inside[j].requests - start.requests) / (inside[j].at - start.at) * 60)
        return rates

    def _bins(self, begin: float, end: float) -> list[int]:
        """Requests per minute in consecutive 10 s bins from the busy part's start."""
        bins = []
        moment = begin
        while moment < end:
            upto = min(moment + BIN_SECONDS, end)
            done = self._count_at(upto) - self._count_at(moment)
            bins.append(round(done / (upto - moment) * 60))
            moment = upto
        return bins

    def relative(self) -> list[tuple[float, int, int, int, int]]:
        """(seconds since the tap was spawned, requests, 429s, other consumer's, searches)."""
        return [
            (round(s.at - self.spawned, 2), s.requests, s.rate_limited, s.other, s.searches)
            for s in self.samples
        ]


# ---- records against the truth ---------------------------------------------------------------


def lost_records(api: LocalApi, run: Run, streams: tuple[str, ...]) -> dict[str, dict[str, int]]:
    """Per stream: ids in the truth, emitted, missing, unexpected, emitted twice."""
    report = {}
    truth_cache: dict[str, set[str]] = {}
    for stream in streams:
        truth_stream = TRUTH_OF[stream]
        if truth_stream not in truth_cache:
            truth_cache[truth_stream] = {row["id"] for row in api.truth(truth_stream)}
        truth = truth_cache[truth_stream]
        emitted = run.ids.get(stream, set())
        report[stream] = {
            "truth": len(truth),
            "emitted": len(emitted),
            "missing": len(truth - emitted),
            "unexpected": len(emitted - truth),
            "duplicates": run.duplicates.get(stream, 0),
        }
    return report
