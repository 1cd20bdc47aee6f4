"""The two kinds of Kustomer stream: list endpoints and incremental search."""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING, Any, ClassVar

from singer_sdk import Stream
from singer_sdk.helpers.conform import TypeConformanceLevel

from tap_kustomer.concurrency import ordered_map
from tap_kustomer.pii import protect
from tap_kustomer.progress import Progress
from tap_kustomer.records import flatten, format_timestamp, parse_timestamp
from tap_kustomer.search import SearchCheckpoint, SearchScan

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from singer_sdk.helpers.types import Context

    from tap_kustomer.client import KustomerClient
    from tap_kustomer.tap import TapKustomer

# A worker per request per second of budget covers latencies up to a second; the
# pacer keeps the rate, so more threads would only wait.
_MAX_WORKERS = 32
# Kustomer's search sees objects updated in the past two years (kustomer-api.md §4.1).
SEARCH_HORIZON = dt.timedelta(days=730)
# The hand-over boundary sits a day inside the horizon, so that it stays visible to
# search while a run's first queries go out.
HORIZON_MARGIN = dt.timedelta(days=1)
# The list endpoints' largest page ([?] beyond "most lists 100", kustomer-api.md §2.2).
HISTORY_PAGE_SIZE = 100


class KustomerStream(Stream):
    """A stream whose requests go through the tap's shared client."""

    primary_keys: ClassVar[tuple[str, ...]] = ("id",)
    record_schema: ClassVar[dict[str, Any]]
    # Records come straight from JSON: no value needs converting. Fields the schema
    # lacks are dropped in post_process with one comprehension instead of the SDK's
    # per-field conformance, a third of the tap's CPU time otherwise.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    def __init__(self, tap: TapKustomer) -> None:
        """Attach the stream to the tap and its schema."""
        super().__init__(tap=tap, schema=self.record_schema)
        self.kustomer = tap
        self._fields = frozenset(self.record_schema["properties"])
        self._unknown_fields: set[str] = set()

    @property
    def client(self) -> KustomerClient:
        """The tap's shared client (built on first use, not at discovery)."""
        return self.kustomer.client

    def to_record(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Turn one API object into this stream's record."""
        return flatten(obj)

    def post_process(
        self,
        row: dict[str, Any],
        context: Context | None = None,  # noqa: ARG002
    ) -> dict[str, Any] | None:
        """Keep the schema's fields and hash or drop personal ones as ``pii_mode`` says."""
        unknown = row.keys() - self._fields
        if unknown:
            if not unknown <= self._unknown_fields:
                # New API fields: named once, then dropped until the schema has them.
                self._unknown_fields |= unknown
                self.logger.warning("Fields not in the schema, dropped: %s", sorted(unknown))
            row = {key: value for key, value in row.items() if key in self._fields}
        return protect(self.name, row, self.config["pii_mode"])

    def probe(self) -> None:
        """One small request to this stream's endpoint, for ``--test``."""
        raise NotImplementedError

    def get_records(self, context: Context | None) -> Iterator[dict[str, Any]]:
        """Records of the stream, counted, with a summary line at the end."""
        progress = Progress(self.name, self.logger, self.client)
        for record in self.records(context, progress):
            progress.record()
            yield record
        progress.summary()

    def records(self, context: Context | None, progress: Progress) -> Iterator[dict[str, Any]]:
        """The stream's records; ``progress`` takes its position reports."""
        raise NotImplementedError

    def concurrent(
        self,
        function: Callable[[Any], Any],
        items: Iterable[Any],
        *,
        share_needing_requests: float = 1.0,
    ) -> Iterator[tuple[Any, Any]]:
        """``ordered_map`` with as many workers as the request budget can keep busy.

        ``share_needing_requests`` is about what share of the items costs a request; the
        look-ahead grows as it shrinks, so that enough requests stay in flight.
        """
        budget_per_second = self.config["max_requests_per_minute"] / 60
        workers = min(_MAX_WORKERS, max(1, math.ceil(budget_per_second)))
        ahead = math.ceil(2 * workers / share_needing_requests)
        return ordered_map(function, items, workers=workers, ahead=ahead)


class ListStream(KustomerStream):
    """A ``GET`` list endpoint read whole every run, following ``links.next``."""

    path: ClassVar[str]
    page_size: ClassVar[int] = 100
    # One pass per filter set; records met in two passes are emitted once. Used where
    # the API hides deleted objects unless asked (kustomer-api.md §4.11, [?] for the
    # default), so both "as the API defaults" and "deleted only" are read.
    passes: ClassVar[tuple[dict[str, str], ...]] = ({},)

    def records(
        self,
        context: Context | None,  # noqa: ARG002
        progress: Progress,  # noqa: ARG002
    ) -> Iterator[dict[str, Any]]:
        """Every object of the endpoint, once."""
        seen: set[str] | None = set() if len(self.passes) > 1 else None
        for filters in self.passes:
            for obj in self.objects({"page": 1, "pageSize": self.page_size, **filters}):
                if seen is not None:
                    if obj["id"] in seen:
                        continue
                    seen.add(obj["id"])
                yield self.to_record(obj)

    def probe(self) -> None:
        """Read one object of the endpoint."""
        self.client.get(self.path, {"page": 1, "pageSize": 1, **self.passes[0]})

    def objects(self, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """The raw objects of every page of this endpoint."""
        for page in self.client.iter_pages(self.path, params):
            yield from page.get("data") or []


class SearchStream(KustomerStream):
    """An incremental stream driven by a search scan of one query context.

    Each search hit yields zero or more records (``records_for_hits``); the scan's
    checkpoint moves past a hit only when its last record is handed to the SDK, so
    a STATE message never claims work that was not written.

    Search sees only what was updated in the past two years. In ``full`` sync mode a
    stream with a ``history_path`` also reads, once, what was updated before that
    horizon from the list endpoint sorted by id (creation) descending: the search
    takes everything updated since a boundary just inside the horizon, the list pass
    everything updated before it, so there is neither a gap nor a double pass.
    """

    query_context: ClassVar[str]
    history_path: ClassVar[str | None] = None
    replication_key: ClassVar[str] = "updated_at"
    is_sorted: ClassVar[bool] = True
    # Runs restart a little below the last bookmark (the indexing-lag overlap), and
    # the history pass goes back in time, so records may sort below the bookmark.
    check_sorted: ClassVar[bool] = False
    STATE_MSG_FREQUENCY = 100

    def records_for_hits(
        self,
        hits: Iterator[dict[str, Any]],
    ) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
        """Pair each hit with its records; one record per hit by default."""
        for hit in hits:
            yield hit, [self.to_record(hit)]

    def probe(self) -> None:
        """Search for one object of the stream's context."""
        self.client.search({"queryContext": self.query_context}, page=1, page_size=1)

    def records(self, context: Context | None, progress: Progress) -> Iterator[dict[str, Any]]:
        """The records of every object updated since the stream's checkpoint."""
        state = self.get_context_state(context)
        boundary = self._history_boundary(state)
        start = self._start_checkpoint(state, boundary)
        scan = SearchScan(
            client=self.client,
            context=self.query_context,
            start=start,
            lag_floor=self.kustomer.run_started_at
            - dt.timedelta(seconds=self.config["search_lag_seconds"]),
            page_size=self.config["page_size"],
        )

        def searched(hit: dict[str, Any]) -> None:
            scan.advance(hit)
            _store_checkpoint(state, scan.checkpoint)

        def report(hit: dict[str, Any]) -> None:
            if not progress.due():
                return  # once every few seconds, not for every record
            reached = parse_timestamp(hit["attributes"]["updatedAt"])
            span = (self.kustomer.run_started_at - start.resume_from).total_seconds()
            covered = (reached - start.resume_from).total_seconds() / span if span > 0 else None
            progress.report("search", reached, covered)

        yield from _emit(self.records_for_hits(scan.hits()), searched, report)
        _store_checkpoint(state, scan.checkpoint)
        if boundary is not None:
            yield from self._history(state, boundary, progress)

    def _history_boundary(self, state: dict[str, Any]) -> dt.datetime | None:
        """Where the history pass hands over to search; None when no pass is due."""
        if self.history_path is None or self.config["sync_mode"] != "full":
            return None
        if state.get("history_done"):
            return None
        boundary = self.kustomer.run_started_at - SEARCH_HORIZON + HORIZON_MARGIN
        if stored := state.get("history_before"):
            # A resumed pass keeps a boundary at least as late as the first run's, so
            # what search could see then and cannot see now is still read by the list.
            boundary = max(boundary, parse_timestamp(stored))
        if self.kustomer.start_date >= boundary:
            state["history_done"] = True
            return None
        state["history_before"] = format_timestamp(boundary)
        return boundary

    def _start_checkpoint(
        self, state: dict[str, Any], boundary: dt.datetime | None
    ) -> SearchCheckpoint:
        start_date = self.kustomer.start_date
        if boundary is not None:
            start_date = max(start_date, boundary)
        resume_from = state.get("resume_from")
        if resume_from and parse_timestamp(resume_from) >= start_date:
            return SearchCheckpoint(
                parse_timestamp(resume_from), list(state.get("resume_skip_ids") or [])
            )
        bookmark = state.get("replication_key_value")
        if bookmark and parse_timestamp(bookmark) >= start_date:
            return SearchCheckpoint(parse_timestamp(bookmark))
        if self.config["sync_mode"] == "incremental" and not state.get("resume_from"):
            lookback = dt.timedelta(hours=self.config["incremental_lookback_hours"])
            return SearchCheckpoint(max(start_date, self.kustomer.run_started_at - lookback))
        return SearchCheckpoint(start_date)

    def _history(
        self, state: dict[str, Any], boundary: dt.datetime, progress: Progress
    ) -> Iterator[dict[str, Any]]:
        """Objects updated before ``boundary`` and created since start_date, newest first.

        STATE holds the next page to read, so an interrupted pass resumes there.
        Conversations created meanwhile push older ones to later pages, so a resumed
        pass may read a few objects twice; it never skips one.
        """
        path = str(self.history_path)
        start_date = self.kustomer.start_date
        page = state.get("history_page") or self._first_history_page(path, boundary)
        span = (boundary - start_date).total_seconds()
        while page is not None:
            data = self._history_page(path, page)
            if not data:
                break
            hits = [
                obj
                for obj in data
                if parse_timestamp(obj["attributes"]["updatedAt"]) < boundary
                and created_at(obj["id"]) >= start_date
            ]
            next_page = page + 1
            last_hit = hits[-1] if hits else None
            if last_hit is None:
                state["history_page"] = next_page
            reached = created_at(data[-1]["id"])
            covered = (boundary - reached).total_seconds() / span

            def read(hit: dict[str, Any], last: object = last_hit, after: int = next_page) -> None:
                if hit is last:
                    state["history_page"] = after

            def report(_hit: object, at: dt.datetime = reached, done: float = covered) -> None:
                progress.report("history", at, done)

            yield from _emit(self.records_for_hits(iter(hits)), read, report)
            if reached < start_date:
                break
            page = next_page
        state["history_done"] = True
        state.pop("history_page", None)
        state.pop("history_before", None)

    def _history_page(self, path: str, page: int) -> list[dict[str, Any]]:
        params = {"page": page, "pageSize": HISTORY_PAGE_SIZE, "sort": "desc"}
        return self.client.get(path, params).get("data") or []

    def _first_history_page(self, path: str, boundary: dt.datetime) -> int | None:
        """The first page holding an object created before ``boundary``; None if none is.

        Ids carry their creation second, so the pages of the last two years (which
        search covers) are skipped by interpolation: each page read tells how many
        seconds a page spans, hence about how many pages lie before the boundary.
        The answer is shared by the streams reading the same endpoint in this run.
        """
        key = (path, boundary)
        if key not in self.kustomer.history_start_pages:
            self.kustomer.history_start_pages[key] = (
                self._search_history_page(path, boundary)
                if self._may_hold_history(path, boundary)
                else None
            )
        return self.kustomer.history_start_pages[key]

    def _may_hold_history(self, path: str, boundary: dt.datetime) -> bool:
        """Whether anything was created before ``boundary``, in one request where it can tell.

        Without ``sort`` the list is in ascending id order in practice (the reference
        marks it unknown), so the first of two objects is checked to be the older one
        before it is taken for the oldest; in any other order the pages are searched.
        """
        data = self.client.get(path, {"page": 1, "pageSize": 2}).get("data") or []
        if len(data) == 2 and data[0]["id"] > data[1]["id"]:  # noqa: PLR2004 - two objects
            return True
        return bool(data) and created_at(data[0]["id"]) < boundary

    def _search_history_page(self, path: str, boundary: dt.datetime) -> int:
        # Invariant: every page before `low` is newer than the boundary, and page
        # `high` (when known) is empty or reaches past it; the answer is in between.
        low, page = 1, 1
        high: int | None = None
        while high is None or low < high:
            data = self._history_page(path, page)
            if data and created_at(data[-1]["id"]) >= boundary:
                low = page + 1
            else:
                high = page
                if data and created_at(data[0]["id"]) >= boundary:
                    low = page  # this page holds the crossing itself
            page = _next_probe(data, boundary, low, high, page)
        return low


def _next_probe(
    data: list[dict[str, Any]], boundary: dt.datetime, low: int, high: int | None, page: int
) -> int:
    """The next page to read, interpolated from how many seconds this page spans.

    An estimate outside the bounds (or an empty page, which tells nothing) falls
    back to doubling while there is no upper bound, and to bisection after.
    """
    if data:
        newest, oldest = created_at(data[0]["id"]), created_at(data[-1]["id"])
        seconds_per_page = max((newest - oldest).total_seconds(), 1.0)
        if oldest >= boundary:
            estimate = page + math.ceil((oldest - boundary).total_seconds() / seconds_per_page)
        else:
            estimate = page - math.ceil((boundary - newest).total_seconds() / seconds_per_page)
        if low <= estimate and (high is None or estimate < high):
            return estimate
    if high is None:
        return max(low, page * 2)
    return (low + high) // 2


def created_at(object_id: str) -> dt.datetime:
    """The creation second a Mongo ObjectId starts with."""
    return dt.datetime.fromtimestamp(int(object_id[:8], 16), tz=dt.timezone.utc)


def _emit(
    pairs: Iterable[tuple[dict[str, Any], list[dict[str, Any]]]],
    done: Callable[[dict[str, Any]], None],
    report: Callable[[dict[str, Any]], None],
) -> Iterator[dict[str, Any]]:
    """Yield each hit's records, calling ``done(hit)`` just before its last one.

    The SDK writes a record (and maybe STATE) right after it is yielded, so STATE
    then includes the hit exactly when all of its records are out.
    """
    for hit, records in pairs:
        if not records:
            done(hit)
        last = len(records) - 1
        for index, record in enumerate(records):
            if index == last:
                done(hit)
            yield record
        report(hit)


def _store_checkpoint(state: dict[str, Any], checkpoint: SearchCheckpoint) -> None:
    # The skip list is stored by reference: the scan appends to it in place.
    state["resume_from"] = format_timestamp(checkpoint.resume_from)
    state["resume_skip_ids"] = checkpoint.skip_ids
