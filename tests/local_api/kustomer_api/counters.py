"""The request counters behind ``stats()`` and ``GET /__admin/stats``, and the request times.

Each ``/v1`` request's arrival time is kept (``GET /__admin/request-times``), so a test
or the benchmark can count the requests in every sliding 60-second window exactly, as
Kustomer's limiter would, rather than from sampled counters.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any


def _zero() -> dict[str, Any]:
    return {
        "requests": 0,
        "by_route": {},
        "by_status": {},
        "rate_limited": 0,
        "faults": {},
        "search_requests": 0,
        "search_mutations": 0,
        "tie_edits": 0,
        "tie_edited_ids": [],
        "other_consumer_requests": 0,
    }


def _no_times() -> dict[str, list[float]]:
    return {"requests": [], "searches": []}


def _bump(counter: dict[str, int], key: str) -> None:
    counter[key] = counter.get(key, 0) + 1


class Counters:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts = _zero()
        self._times = _no_times()

    def snapshot(self) -> dict[str, Any]:
        """A deep copy of every counter."""
        with self._lock:
            return json.loads(json.dumps(self._counts))

    def times(self) -> dict[str, list[float]]:
        """Arrival times (monotonic seconds) of every request and of every search."""
        with self._lock:
            return {name: list(times) for name, times in self._times.items()}

    def reset(self) -> None:
        with self._lock:
            self._counts = _zero()
            self._times = _no_times()

    def add(self, name: str, amount: int | list[str] = 1) -> None:
        """Add to a count, or extend a list of ids."""
        with self._lock:
            self._counts[name] += amount

    def request(self, route_name: str, *, is_search: bool) -> None:
        arrived = time.monotonic()
        with self._lock:
            self._counts["requests"] += 1
            self._times["requests"].append(arrived)
            _bump(self._counts["by_route"], route_name)
            if is_search:
                self._counts["search_requests"] += 1
                self._times["searches"].append(arrived)

    def reply(self, status: int, fault: str | None) -> None:
        with self._lock:
            _bump(self._counts["by_status"], str(status))
            if status == 429:
                self._counts["rate_limited"] += 1
            if fault is not None:
                _bump(self._counts["faults"], fault)
