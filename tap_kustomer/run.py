"""What one run of the tap shares across its streams.

The streams reach run-wide values here rather than through the tap: the run's start
and clock, the window it reads, the one client, the search feeds and the streams a key
could not read. They know it as ``streams.base.Run``, so that they import neither the
tap nor this module, which both import them.
"""

from __future__ import annotations

import datetime as dt
from functools import cached_property
from typing import TYPE_CHECKING, Any

from tap_kustomer.audit import AuditTrail
from tap_kustomer.client import KustomerAPIError, KustomerClient
from tap_kustomer.klass_directory import KlassDirectory
from tap_kustomer.pacing import Pacer
from tap_kustomer.records import parse_timestamp
from tap_kustomer.streams.feed import Feeds

if TYPE_CHECKING:
    import logging
    from collections.abc import Callable, Iterable, Mapping

    from singer_sdk import Stream

    from tap_kustomer.streams.base import SearchStream

DEFAULT_HISTORY_YEARS = 5
# Discovery types custom attributes with what it reads, and without them where it cannot:
# a host that does not answer must not hold ``--discover`` for minutes of retries.
DISCOVERY_TRIES = 2
DISCOVERY_TIMEOUT = 15
DAYS_PER_YEAR = 365.25


class UnavailableStreamsError(RuntimeError):
    """Every selected stream's endpoint refused the key."""


class UnreadListsError(KustomerAPIError):
    """A list endpoint stopped before its end and nothing could read the rest."""


class RunContext:
    """One run's shared values; built by the tap, handed to every stream."""

    def __init__(
        self,
        config: Mapping[str, Any],
        logger: logging.Logger,
        started_at: dt.datetime,
        streams: Callable[[], Iterable[Stream]],
    ) -> None:
        """A run that started at ``started_at``; ``streams`` lists them in sync order."""
        self.config = config
        self.logger = logger
        self.started_at = started_at
        self.streams = streams
        # Registered by each search stream as it is built: the feeds' consumers.
        self.search_streams: list[SearchStream] = []
        # Streams skipped in this run, with the endpoint and status that refused them.
        self.unavailable_streams: dict[str, str] = {}
        # Per stream, the parts of its lists it could not reach: the run fails at its end.
        self.unread_lists: dict[str, list[str]] = {}
        # Set by ``--discover`` before the client is built.
        self.discovering = False

    @staticmethod
    def now() -> dt.datetime:
        """The current time, UTC."""
        return dt.datetime.now(dt.timezone.utc)

    @cached_property
    def start_date(self) -> dt.datetime:
        """The configured start date, or five years before the run started."""
        configured = self.config.get("start_date")
        if configured:
            return parse_timestamp(configured)
        return self.started_at - dt.timedelta(days=DEFAULT_HISTORY_YEARS * DAYS_PER_YEAR)

    @cached_property
    def client(self) -> KustomerClient:
        """The one client every stream's requests go through (built on first use)."""
        pacer = Pacer(
            requests_per_minute=self.config["max_requests_per_minute"],
            searches_per_minute=self.config["max_search_requests_per_minute"],
            org_budget_share=self.config["org_budget_percent"] / 100,
            logger=self.logger,
        )
        return KustomerClient(
            api_url=self.config["api_url"],
            token=self.config["api_token"],
            user_agent=self.config["user_agent"],
            pacer=pacer,
            timeout_seconds=min(self.config["request_timeout_seconds"], DISCOVERY_TIMEOUT)
            if self.discovering
            else self.config["request_timeout_seconds"],
            max_tries=DISCOVERY_TRIES if self.discovering else self.config["max_retries"] + 1,
            logger=self.logger,
        )

    @cached_property
    def klasses(self) -> KlassDirectory:
        """The org's Klasses, read once a run when a stream first needs them."""
        return KlassDirectory(lambda: self.client, self.logger)

    @cached_property
    def audit(self) -> AuditTrail:
        """The run's one scan of the audit log, made when a stream first needs it."""
        return AuditTrail(lambda: self.client, self.logger, self.now)

    @cached_property
    def feeds(self) -> Feeds:
        """The run's search feeds, started when the first search stream syncs."""
        return Feeds(self)

    def is_last(self, stream: Stream) -> bool:
        """Whether ``stream`` is the last the SDK syncs."""
        return stream is list(self.streams())[-1]

    def left_unread(self, stream: str, unread: str) -> None:
        """Note a part of ``stream``'s lists that no request could reach."""
        self.unread_lists.setdefault(stream, []).append(unread)

    def finish(self) -> None:
        """After every stream: stop the feeds, name the skipped streams, fail if need be.

        A run fails if every selected stream was skipped, or if a list was left partly
        unread: then only now, so that the other streams finished first.
        """
        self.feeds.stop()
        self._name_skipped()
        if self.unread_lists:
            named = "; ".join(
                f"{name}: {', '.join(gaps)}" for name, gaps in self.unread_lists.items()
            )
            msg = f"records left unread, as list endpoints stop at about 10,000: {named}"
            raise UnreadListsError(msg)

    def _name_skipped(self) -> None:
        skipped = self.unavailable_streams
        if not skipped:
            return
        named = ", ".join(f"{name} ({why})" for name, why in skipped.items())
        selected = [stream for stream in self.streams() if stream.selected]
        if len(skipped) >= len(selected):
            msg = f"every selected stream was refused: {named}"
            raise UnavailableStreamsError(msg)
        self.logger.warning("Skipped %d of %d streams: %s", len(skipped), len(selected), named)
