"""Progress a person can follow: a line per stream every few seconds, and a summary.

Only counts, dates and rates are logged, never record contents.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import datetime as dt
    import logging
    from collections.abc import Callable

    from tap_kustomer.client import KustomerClient

LOG_EVERY_SECONDS = 5.0


@dataclass
class Progress:
    """Counts one stream's records and reports how far through its range it is.

    ``covered`` is the fraction of the stream's range done (0..1) when it is known,
    so the time left can be estimated from the pace so far. ``client`` gives the
    tap-wide request counters; this stream's share is what they grew by meanwhile.
    """

    stream: str
    logger: logging.Logger
    client: KustomerClient
    clock: Callable[[], float] = time.monotonic
    records: int = 0
    _started: float = field(init=False)
    _last_log: float = field(init=False)
    _baseline: tuple[int, int, int] = field(init=False)

    def __post_init__(self) -> None:
        """Start the stream's clock and counters."""
        self._started = self._last_log = self.clock()
        self._baseline = self._counters()

    def _counters(self) -> tuple[int, int, int]:
        client = self.client
        return client.request_count, client.retries, client.rate_limited

    def requests(self) -> int:
        """Requests this stream has sent so far, retries included."""
        return self._counters()[0] - self._baseline[0]

    def summary(self) -> None:
        """Log the stream's totals: records, requests, retries, 429s, elapsed."""
        requests, retries, rate_limited = (
            now - before for now, before in zip(self._counters(), self._baseline, strict=True)
        )
        self.logger.info(
            "%s summary: %d records, %d requests, %d retries, %d rate-limited (429), %.1f s",
            self.stream,
            self.records,
            requests,
            retries,
            rate_limited,
            self.clock() - self._started,
        )

    def record(self) -> None:
        """Count one record written."""
        self.records += 1

    def due(self) -> bool:
        """Whether a progress line is due; callers skip computing it until it is."""
        return self.clock() - self._last_log >= LOG_EVERY_SECONDS

    def report(
        self,
        phase: str,
        position: dt.datetime | None = None,
        covered: float | None = None,
        *,
        force: bool = False,
    ) -> None:
        """Log where the stream is, at most every few seconds unless forced."""
        if not force and not self.due():
            return
        now = self._last_log = self.clock()
        elapsed = max(now - self._started, 1e-9)
        line = (
            f"{self.stream} {phase}: {self.records} records, {self.requests()} requests "
            f"in {elapsed:.0f} s ({self.records / elapsed:.0f} records/s)"
        )
        if position is not None:
            line += f", reached {position:%Y-%m-%d %H:%M}"
        if covered is not None and 0 < covered < 1:
            line += f", {covered:.0%} done, about {elapsed * (1 - covered) / covered:.0f} s left"
        self.logger.info(line)
