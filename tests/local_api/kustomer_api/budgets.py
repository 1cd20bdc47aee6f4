"""Rate limits: the org and search budgets per minute, their headers, and another consumer."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from kustomer_api.protocol import Reply

WINDOW_SECONDS = 60


@dataclass
class Budget:
    limit: int
    remaining: int
    reset: int
    exceeded: bool

    def stamp(self, reply: Reply, *, retry_after: bool) -> None:
        """Add the ``x-ratelimit-*`` headers (and ``Retry-After`` to a 429 when asked)."""
        if reply.status == 429:
            self.remaining = 0
        reply.headers += [
            ("x-ratelimit-limit", str(self.limit)),
            ("x-ratelimit-remaining", str(self.remaining)),
            ("x-ratelimit-reset", str(self.reset)),
        ]
        if reply.status == 429 and retry_after:
            reply.headers.append(("Retry-After", str(max(1, math.ceil(self.reset - time.time())))))


class RateLimiter:
    """Fixed 60 s windows aligned to the wall clock: one org budget and one search budget."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._window = 0
        self._org = 0
        self._search = 0

    def _roll(self) -> None:
        window = int(time.time() // WINDOW_SECONDS) * WINDOW_SECONDS
        if window != self._window:
            self._window, self._org, self._search = window, 0, 0

    def spend(self, *, is_search: bool, org_rpm: int, search_rpm: int) -> Budget:
        with self._lock:
            self._roll()
            self._org += 1
            limit, left = org_rpm, org_rpm - self._org
            exceeded = left < 0
            if is_search:
                self._search += 1
                search_left = search_rpm - self._search
                exceeded = exceeded or search_left < 0
                # Whether searches get their own x-ratelimit-* values is [?]: report the tighter.
                if search_left < left:
                    limit, left = search_rpm, search_left
            # x-ratelimit-reset units are [?]: integer epoch seconds of the window end.
            return Budget(limit, max(0, left), self._window + WINDOW_SECONDS, exceeded)

    def spend_background(self) -> None:
        with self._lock:
            self._roll()
            self._org += 1


class OtherConsumer:
    """Another integration sharing the org budget, spending its requests evenly."""

    def __init__(
        self, limiter: RateLimiter, rpm: Callable[[], float], spent: Callable[[], None]
    ) -> None:
        """``rpm`` reads its current rate; ``spent`` counts each request it makes."""
        self._limiter = limiter
        self._rpm = rpm
        self._spent = spent
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        due = time.monotonic()
        while not self._stop.is_set():
            rpm = self._rpm()
            now = time.monotonic()
            if rpm <= 0:
                due = now
                self._stop.wait(0.2)
                continue
            if now >= due:
                self._limiter.spend_background()
                self._spent()
                due = max(due + 60 / rpm, now - 1)
            self._stop.wait(min(0.2, max(0.0, due - time.monotonic())))
