"""The two kinds of Kustomer stream: list endpoints and incremental search."""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING, Any, ClassVar

from singer_sdk import Stream

from tap_kustomer.concurrency import ordered_map
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


class KustomerStream(Stream):
    """A stream whose requests go through the tap's shared client."""

    primary_keys: ClassVar[tuple[str, ...]] = ("id",)
    record_schema: ClassVar[dict[str, Any]]

    def __init__(self, tap: TapKustomer) -> None:
        """Attach the stream to the tap and its schema."""
        super().__init__(tap=tap, schema=self.record_schema)
        self.kustomer = tap

    @property
    def client(self) -> KustomerClient:
        """The tap's shared client (built on first use, not at discovery)."""
        return self.kustomer.client

    def to_record(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Turn one API object into this stream's record."""
        return flatten(obj)

    def concurrent(
        self,
        function: Callable[[Any], Any],
        items: Iterable[Any],
    ) -> Iterator[tuple[Any, Any]]:
        """``ordered_map`` with as many workers as the request budget can keep busy."""
        budget_per_second = self.config["max_requests_per_minute"] / 60
        workers = min(_MAX_WORKERS, max(1, math.ceil(budget_per_second)))
        return ordered_map(function, items, workers=workers)


class ListStream(KustomerStream):
    """A ``GET`` list endpoint read whole every run, following ``links.next``."""

    path: ClassVar[str]
    page_size: ClassVar[int] = 100
    # One pass per filter set; records met in two passes are emitted once. Used where
    # the API hides deleted objects unless asked (kustomer-api.md §4.11, [?] for the
    # default), so both "as the API defaults" and "deleted only" are read.
    passes: ClassVar[tuple[dict[str, str], ...]] = ({},)

    def get_records(self, context: Context | None) -> Iterator[dict[str, Any]]:  # noqa: ARG002
        """Every object of the endpoint, once."""
        seen: set[str] | None = set() if len(self.passes) > 1 else None
        for filters in self.passes:
            for obj in self.objects({"page": 1, "pageSize": self.page_size, **filters}):
                if seen is not None:
                    if obj["id"] in seen:
                        continue
                    seen.add(obj["id"])
                yield self.to_record(obj)

    def objects(self, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """The raw objects of every page of this endpoint."""
        for page in self.client.iter_pages(self.path, params):
            yield from page.get("data") or []


class SearchStream(KustomerStream):
    """An incremental stream driven by a search scan of one query context.

    Each search hit yields zero or more records (``records_for_hits``); the scan's
    checkpoint moves past a hit only when its last record is handed to the SDK, so
    a STATE message never claims work that was not written.
    """

    query_context: ClassVar[str]
    replication_key: ClassVar[str] = "updated_at"
    is_sorted: ClassVar[bool] = True
    # Runs restart a little below the last bookmark (the indexing-lag overlap), so
    # the first records of a run may sort below the bookmark in STATE.
    check_sorted: ClassVar[bool] = False
    STATE_MSG_FREQUENCY = 100

    def records_for_hits(
        self,
        hits: Iterator[dict[str, Any]],
    ) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
        """Pair each hit with its records; one record per hit by default."""
        for hit in hits:
            yield hit, [self.to_record(hit)]

    def get_records(self, context: Context | None) -> Iterator[dict[str, Any]]:
        """The records of every object updated since the stream's checkpoint."""
        state = self.get_context_state(context)
        scan = SearchScan(
            client=self.client,
            context=self.query_context,
            start=self._start_checkpoint(state),
            lag_floor=self.kustomer.run_started_at
            - dt.timedelta(seconds=self.config["search_lag_seconds"]),
            page_size=self.config["page_size"],
        )
        for hit, records in self.records_for_hits(scan.hits()):
            last = len(records) - 1
            if last < 0:
                scan.advance(hit)
                _store_checkpoint(state, scan.checkpoint)
            for index, record in enumerate(records):
                if index == last:
                    scan.advance(hit)
                    _store_checkpoint(state, scan.checkpoint)
                yield record
        _store_checkpoint(state, scan.checkpoint)

    def _start_checkpoint(self, state: dict[str, Any]) -> SearchCheckpoint:
        start_date = self.kustomer.start_date
        resume_from = state.get("resume_from")
        if resume_from and parse_timestamp(resume_from) >= start_date:
            return SearchCheckpoint(
                parse_timestamp(resume_from), list(state.get("resume_skip_ids") or [])
            )
        bookmark = state.get("replication_key_value")
        if bookmark and parse_timestamp(bookmark) >= start_date:
            return SearchCheckpoint(parse_timestamp(bookmark))
        return SearchCheckpoint(start_date)


def _store_checkpoint(state: dict[str, Any], checkpoint: SearchCheckpoint) -> None:
    # The skip list is stored by reference: the scan appends to it in place.
    state["resume_from"] = format_timestamp(checkpoint.resume_from)
    state["resume_skip_ids"] = checkpoint.skip_ids
