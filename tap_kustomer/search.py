"""Search pagination: every object updated since a point, each once, in order.

``POST /v1/customers/search`` sorted by ``<context>_updated_at`` ascending is paged
by re-anchoring (keyset pagination) rather than by page number:

* each query asks ``updated_at gte <anchor>`` and reads page 1; the next query
  re-anchors on the last ``updatedAt`` it saw, so a scan never comes near the cap
  of 100 pages / 10,000 results, and objects updated mid-scan (which leave their
  place and shift the pages behind them) can never make it skip one;
* ``gte``, never ``gt``: objects sharing the anchor's timestamp are read again and
  dropped by id, so none on a boundary is lost;
* when a whole page shares the anchor's timestamp (a bulk update), re-anchoring
  would not move, so the scan pages forward (page 2, 3, ...) within that query.

The position after each object is a ``SearchCheckpoint`` the stream stores in its
STATE, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tap_kustomer.records import format_timestamp, parse_timestamp

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Iterator

    from tap_kustomer.client import KustomerClient

MAX_SEARCH_PAGES = 100
MAX_SEARCH_RESULTS = 10_000


class SearchTieTooLargeError(RuntimeError):
    """More objects share one ``updatedAt`` than one search query can reach."""


@dataclass
class SearchCheckpoint:
    """Where the next scan starts: ``resume_from`` (inclusive) and the ids there already read."""

    resume_from: dt.datetime
    skip_ids: list[str] = field(default_factory=list)


@dataclass
class SearchScan:
    """One ascending scan of a search context from a checkpoint.

    ``lag_floor`` is the run's start less Kustomer's indexing lag: an object updated
    after it may not be searchable yet, so the checkpoint never moves past it and the
    next run reads that stretch again (the documented overlap).
    """

    client: KustomerClient
    context: str
    start: SearchCheckpoint
    lag_floor: dt.datetime
    page_size: int
    requests: int = 0
    checkpoint: SearchCheckpoint = field(init=False)

    def __post_init__(self) -> None:
        """Begin at the start checkpoint."""
        self.checkpoint = SearchCheckpoint(self.start.resume_from, list(self.start.skip_ids))
        self._max_pages = min(MAX_SEARCH_PAGES, MAX_SEARCH_RESULTS // self.page_size)

    def hits(self) -> Iterator[dict[str, Any]]:
        """Yield each object updated at or after the start once, oldest first."""
        anchor = self.start.resume_from
        read_at_anchor = set(self.start.skip_ids)
        page = 1
        while True:
            data, has_next = self._fetch(anchor, page)
            for obj in data:
                updated_at = parse_timestamp(obj["attributes"]["updatedAt"])
                if updated_at == anchor and obj["id"] in read_at_anchor:
                    continue
                if updated_at == anchor:
                    read_at_anchor.add(obj["id"])
                yield obj
            if not has_next or len(data) < self.page_size:
                return
            last = parse_timestamp(data[-1]["attributes"]["updatedAt"])
            if last > anchor:
                anchor, page = last, 1
                read_at_anchor = {
                    obj["id"]
                    for obj in data
                    if parse_timestamp(obj["attributes"]["updatedAt"]) == last
                }
                continue
            page += 1
            if page > self._max_pages:
                msg = (
                    f"More than {MAX_SEARCH_RESULTS} {self.context}s share updatedAt "
                    f"{format_timestamp(anchor)}; Kustomer's search cannot page past them"
                )
                raise SearchTieTooLargeError(msg)

    def advance(self, obj: dict[str, Any]) -> None:
        """Record that ``obj`` (a hit of this scan) and everything before it is done."""
        updated_at = parse_timestamp(obj["attributes"]["updatedAt"])
        resume_from = max(self.start.resume_from, min(updated_at, self.lag_floor))
        checkpoint = self.checkpoint
        if resume_from != checkpoint.resume_from:
            checkpoint.resume_from = resume_from
            checkpoint.skip_ids = []
        if resume_from == updated_at:
            checkpoint.skip_ids.append(obj["id"])

    def _fetch(self, anchor: dt.datetime, page: int) -> tuple[list[dict[str, Any]], bool]:
        field_name = f"{self.context}_updated_at"
        body = {
            "queryContext": self.context,
            "and": [{field_name: {"gte": format_timestamp(anchor)}}],
            "sort": [{field_name: "asc"}],
            # Soft-deleted objects are emitted with their flag so a warehouse sees them.
            "includeDeleted": True,
        }
        document = self.client.search(body, page=page, page_size=self.page_size)
        self.requests += 1
        data = document.get("data") or []
        return data, bool((document.get("links") or {}).get("next"))
