"""Feeds: one scan per search context per run, feeding every selected stream of it.

conversations, tickets and conversation_events all read the conversation context.
Scanning it once for all three costs a third of the searches, the scarcest budget.
Each feed runs in its own thread from the start of the run, so search-bound scans
overlap the per-conversation requests, and the org budget is not idle while a stream
waits for the search budget.

Each stream keeps its own records, SCHEMA and STATE. A ``Consumer`` is one stream's
side of a feed. The feed scans from the earliest position of its consumers, and each
consumer takes only the hits it has not read yet (``ScanCursor.wants``), so a run from
mixed STATEs reads what separate scans would. The records wait in a ``Channel`` until
the SDK syncs the stream. The stream's position moves, by the marks that come with
them, only as its records go out, so STATE never claims work that was not written.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
from typing import TYPE_CHECKING, Any

from singer_sdk.singerlib.catalog import REPLICATION_FULL_TABLE

from tap_kustomer.channel import Channel, ChannelClosedError
from tap_kustomer.client import BadRequestError, ContextRefusedError
from tap_kustomer.concurrency import ordered_map
from tap_kustomer.position import ARCHIVE, HistoryPosition, StreamPosition
from tap_kustomer.records import parse_timestamp
from tap_kustomer.search import ScanCursor, SearchCheckpoint, SearchScan, hit_key
from tap_kustomer.streams.emit import emit
from tap_kustomer.streams.history import HistoryPass, HorizonBand, earliest, hit_mark

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from tap_kustomer.progress import Progress
    from tap_kustomer.streams.base import Run, SearchStream
    from tap_kustomer.streams.history import Mark, Step

SEARCH = "search"
# What a hit gives one stream: its records, its own failure, or None where it is not wanted.
Outcome = list[dict[str, Any]] | Exception | None
# A worker per request per second of budget covers latencies up to a second; the
# pacer keeps the rate, so more threads would only wait.
MAX_WORKERS = 32
# How far the scan reads ahead of the slowest per-hit request when few hits need one.
MAX_AHEAD = 1000


class Consumer:
    """One stream's side of a feed: what it has read, and its position as it writes."""

    def __init__(self, stream: SearchStream) -> None:
        """Read the stream's STATE as the run begins."""
        self.stream = stream
        self.state = stream.get_context_state(None)
        if stream.replication_method == REPLICATION_FULL_TABLE:
            # Forced to full table: everything since start_date, whatever STATE says.
            self.state.clear()
        self.position = StreamPosition.read(self.state)
        run_started_at = stream.run.started_at
        self.window_start = stream.window_start
        self.history_due = self._history_due()
        self.search = ScanCursor(
            self._search_start(),
            lag_floor=run_started_at - dt.timedelta(seconds=stream.config["search_lag_seconds"]),
        )
        # Archived objects are two years old: none is still being indexed.
        self.archive = ScanCursor(
            self.position.history.archive or SearchCheckpoint(self.window_start),
            lag_floor=run_started_at,
        )
        self.channel = Channel()
        # Set in the feed's thread when this stream's own requests were refused.
        self.refused = False
        self._moved = False  # the position moved since it was last put in STATE

    def cursor(self, phase: str) -> ScanCursor:
        """The cursor a scan phase moves."""
        return self.archive if phase == ARCHIVE else self.search

    # ---- in the SDK's thread -----------------------------------------------------------

    def records(self, progress: Progress) -> Iterator[dict[str, Any]]:
        """The stream's records as the feed hands them over, its position moving with them."""
        reporter = _Reporter(self, progress)
        try:
            yield from emit(
                ((marks, records) for records, marks in self.channel.items()),
                self.apply,
                reporter.report,
            )
        finally:
            self.channel.stop()
        self.write_position()

    def write_position(self) -> None:
        """Put the position in the stream's STATE; the stream calls it before each STATE."""
        if self._moved:
            self.position.write(self.state)
            self._moved = False

    def apply(self, marks: list[Mark]) -> None:
        """Move the position by the marks that follow records now written.

        STATE gets it at ``write_position``: formatting it after every hit cost more
        than the rest of the position keeping.
        """
        history = self.position.history
        for mark in marks:
            kind = mark[0]
            if kind in (SEARCH, ARCHIVE):
                cursor = self.cursor(kind)
                cursor.advance(mark[1], parse_timestamp(mark[2]))
                if kind == SEARCH:
                    self.position.search = cursor.checkpoint
                else:
                    history.archive = cursor.checkpoint
            elif kind == "source":
                history.source = mark[1]
            elif kind == "list_before":
                history.list_before = parse_timestamp(mark[1])
            elif kind == "list_page":
                history.list_page = mark[1]
            elif kind == "state":
                self.state[mark[1]] = mark[2]
            elif kind == "history_done":
                self.position.history = history = HistoryPosition(done=True)
        self._moved = True

    # ---- where the stream starts -------------------------------------------------------

    def _history_due(self) -> bool:
        """Whether this run reads the history: full mode, not done, and any to read."""
        history = self.position.history
        if self.stream.config["sync_mode"] != "full" or history.done:
            return False
        band = HorizonBand.of(self.stream.config)
        if self.window_start >= band.history_before(self.stream.run.started_at):
            history.done = True
            return False
        return True

    def _search_start(self) -> SearchCheckpoint:
        stream, window_start = self.stream, self.window_start
        if self.history_due:
            # The history pass reads what lies before the horizon, whenever it slipped out;
            # the search starts before it, by the band both read.
            band = HorizonBand.of(stream.config)
            window_start = max(window_start, band.search_from(stream.run.started_at))
        resumed = self.position.search
        if resumed and resumed.resume_from >= window_start:
            return resumed
        bookmark = self.state.get("replication_key_value")
        if bookmark and parse_timestamp(bookmark) >= window_start:
            return SearchCheckpoint(parse_timestamp(bookmark))
        if stream.config["sync_mode"] == "incremental" and not resumed:
            lookback = dt.timedelta(hours=stream.config["incremental_lookback_hours"])
            since = stream.run.started_at - lookback
            return SearchCheckpoint(max(window_start, since))
        return SearchCheckpoint(window_start)


class _Reporter:
    """A consumer's progress lines: phase, date reached and share covered."""

    def __init__(self, consumer: Consumer, progress: Progress) -> None:
        self.consumer = consumer
        self.progress = progress
        self.until = consumer.stream.run.started_at

    def report(self, marks: list[Mark]) -> None:
        if not marks or not self.progress.due():
            return  # once every few seconds, not for every record
        mark = marks[-1]
        if mark[0] in (SEARCH, ARCHIVE):
            begin = self.consumer.cursor(mark[0]).start.resume_from
            reached = parse_timestamp(mark[2])
            span = (self.until - begin).total_seconds()
            covered = (reached - begin).total_seconds() / span if span > 0 else None
            self.progress.report(mark[0], reached, covered)
        elif mark[0] == "list_page":
            self.progress.report("history", parse_timestamp(mark[2]), mark[3])


class Feed(threading.Thread):
    """The scan of one search context, in its own thread, for its consumers."""

    def __init__(self, consumers: list[Consumer]) -> None:
        """A feed for consumers of one query context."""
        lead = consumers[0].stream
        super().__init__(name=f"feed-{lead.query_context}", daemon=True)
        self.consumers = consumers
        self.lead = lead
        self._delivered = False

    def run(self) -> None:
        """Scan, then read the history where due; each consumer's channel ends with it."""
        error: BaseException | None = None
        try:
            self._deliver(self._search_steps(), self.consumers)
            due = [c for c in self.consumers if c.history_due and not c.refused]
            if due:
                self._deliver(HistoryPass(due).steps(), due)
        except BadRequestError as exc:
            if self._delivered:
                error = exc
            else:
                self._hand_over(exc)
                return
        except BaseException as exc:  # noqa: BLE001 - handed to the streams, raised there
            error = exc
        for consumer in self.consumers:
            consumer.channel.close(error)

    def _hand_over(self, refusal: BadRequestError) -> None:
        """The org refuses this context at once: each stream reads its own, or is skipped.

        Kustomer documents ``kobject_<klass>`` and lists the single ``kobject`` beside it
        without documenting it: a Klass stream then reads its Klass's context in a feed of
        its own; ``kobjects``, which has no narrower context, is skipped with a warning.
        """
        context = self.lead.query_context
        by_context: dict[str, list[Consumer]] = {}
        for consumer in self.consumers:
            switch = consumer.stream.use_own_context()
            if switch is None:
                msg = f"the org refuses queryContext {context} ({refusal})"
                hint = consumer.stream.context_refused_hint
                consumer.channel.close(
                    ContextRefusedError(
                        f"{msg}; {hint}" if hint else msg,
                        endpoint=refusal.endpoint,
                        status=refusal.status,
                    )
                )
                continue
            try:
                # STATE learns the switch in the SDK's thread, as the position does.
                consumer.channel.put([], [["state", *switch]])
            except ChannelClosedError:
                continue
            by_context.setdefault(switch[1], []).append(consumer)
        if by_context:
            self.lead.logger.warning(
                "queryContext %s refused (%s): %s read their own contexts from now on",
                context,
                refusal.status,
                ", ".join(c.stream.name for group in by_context.values() for c in group),
            )
        for consumers in by_context.values():
            Feed(consumers).start()

    def _search_steps(self) -> Iterator[Step]:
        scan = SearchScan(
            client=self.lead.client,
            context=self.lead.query_context,
            start=earliest([c.search.start for c in self.consumers]),
            page_size=self.lead.config["page_size"],
        )
        for hit in scan.hits():
            yield hit, [hit_mark(SEARCH, hit)], SEARCH

    def _deliver(self, steps: Iterator[Step], consumers: list[Consumer]) -> None:
        """Each step's records to every consumer that wants its hit, in order."""
        share = min(1.0, sum(c.stream.requests_per_hit for c in consumers))
        budget_per_second = self.lead.config["max_requests_per_minute"] / 60
        workers = min(MAX_WORKERS, max(1, math.ceil(budget_per_second))) if share else 1
        ahead = min(MAX_AHEAD, math.ceil(2 * workers / share)) if share else None
        work = self._work_for(consumers)
        for (hit, marks, _phase), outcomes in ordered_map(
            work, steps, workers=workers, ahead=ahead
        ):
            self._delivered = True
            for consumer, outcome in zip(consumers, outcomes, strict=True):
                if consumer.refused or (hit is not None and outcome is None):
                    continue
                if isinstance(outcome, Exception):
                    consumer.refused = True
                    consumer.channel.close(outcome)
                    continue
                try:
                    consumer.channel.put(outcome or [], marks)
                except ChannelClosedError:
                    consumer.refused = True  # its stream stopped reading
            if all(consumer.refused for consumer in consumers):
                return  # nobody reads on: spend no more requests

    @staticmethod
    def _work_for(consumers: list[Consumer]) -> Callable[[Step], list[Outcome]]:
        def work(step: Step) -> list[Outcome]:
            hit, _marks, phase = step
            if hit is None:
                return [None] * len(consumers)
            object_id, updated_at = hit_key(hit)
            outcomes: list[Outcome] = []
            for consumer in consumers:
                if consumer.refused or (
                    phase is not None and not consumer.cursor(phase).wants(object_id, updated_at)
                ):
                    outcomes.append(None)
                    continue
                try:
                    outcomes.append(consumer.stream.records_for(hit))
                except Exception as exc:  # noqa: BLE001 - this stream's own failure, raised there
                    # A stream's own requests failing (a 403 on events, a give-up on one
                    # conversation's messages) end that stream, not the others of the feed.
                    outcomes.append(exc)
            return outcomes

        return work


class Feeds:
    """The run's feeds, started together when the first stream syncs."""

    def __init__(self, run: Run) -> None:
        """No feed yet."""
        self.run = run
        self._consumers: dict[str, Consumer] | None = None
        self._lock = threading.Lock()

    def consumer(self, stream: SearchStream) -> Consumer:
        """The stream's side of its feed, starting every feed on the first call."""
        with self._lock:
            if self._consumers is None:
                self._consumers = self._start(stream)
        return self._consumers[stream.name]

    def stop(self) -> None:
        """Tell every feed its streams read no more."""
        for consumer in (self._consumers or {}).values():
            consumer.channel.stop()

    def _start(self, asking: SearchStream) -> dict[str, Consumer]:
        streams = [
            s for s in self.run.search_streams if (s.selected or s is asking) and s.feedable()
        ]
        by_context: dict[str, list[Consumer]] = {}
        for stream in streams:
            by_context.setdefault(stream.query_context, []).append(Consumer(stream))
        for consumers in by_context.values():
            Feed(consumers).start()
        return {c.stream.name: c for group in by_context.values() for c in group}
