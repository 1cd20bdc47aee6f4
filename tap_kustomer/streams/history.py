"""History: what Kustomer's standard search no longer sees, read once in ``full`` mode.

Search sees objects updated in the past two years; Kustomer documents the archive
search (``POST /v1/customers/archive/search``, same bodies, paging and roles) for
the older ones. A full run scans search from the horizon at the stream's start,
then the archive from ``start_date`` to its end. Neither needs a boundary between
them: objects cross from search to the archive only as the horizon moves forward,
and the archive is read after search, so one that slipped out of search's reach
while the run went on is in the archive by then. What both hold (updated between
the scan's start and the archive pass) comes twice; a target's key merges it.

Where exactly the boundary lies is not documented: Kustomer says search sees what was
"updated in the past two years" and the archive what is "older than 2 years ago"
(developer.kustomer.com, Create customer archive search). Calendar years, an archiving
batch or an index that drops objects early could move it by days or weeks either way,
and an object in neither scan would be lost for good. So both scans overlap it by
``horizon_overlap_days`` (default 30, for a boundary anywhere from 700 to 760 days
back): search starts that much before 730 days, and the history covers what was
updated up to that much after (``HorizonBand``). An object in the band may come twice
(a target's key merges it), never zero times.

The archive search is documented for messages, conversations, companies and custom
objects only. A context it refuses (400, 403 or 404), or answers with nothing while
the context's list endpoint holds objects created before the band, reads its history
from that list instead (``GET /v1/conversations``, ``/v1/messages``, ``/v1/customers``,
``/v1/notes``, newest first), with one warning naming the context: everything updated
before the band's end at the start of that pass and created since ``start_date``.
Those lists may stop at 10,000 records (AWS Glue's Kustomer notes; [?] in the
reference); a page past their reach, a 400 or an empty page while older objects
exist, or a list that does not come newest first, stops the run with the range left
unread, never a silent hole.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn, Protocol

from tap_kustomer.client import (
    LIST_PAGE_SIZE,
    BadRequestError,
    KustomerAPIError,
    NotFoundError,
    PermissionDeniedError,
)
from tap_kustomer.position import ARCHIVE, LISTS, HistoryPosition
from tap_kustomer.records import format_timestamp, parse_timestamp
from tap_kustomer.search import SearchCheckpoint, SearchScan

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence

    from tap_kustomer.position import StreamPosition
    from tap_kustomer.search import ScanCursor
    from tap_kustomer.streams.base import SearchStream

# A JSON-able instruction that moves a consumer's position (``feed.Consumer.apply``).
Mark = list[Any]
# A hit (or None), the marks that follow it, and the cursor phase that filters it.
Step = tuple[dict[str, Any] | None, list[Mark], str | None]

# Kustomer's search sees objects updated in the past two years (kustomer-api.md §4.1).
SEARCH_HORIZON = dt.timedelta(days=730)


class HistoryUnreachableError(KustomerAPIError):
    """Part of the history cannot be read by any route this key has."""


def horizon(now: dt.datetime) -> dt.datetime:
    """The oldest ``updatedAt`` the standard search sees at ``now``, as documented."""
    return now - SEARCH_HORIZON


@dataclass(frozen=True)
class HorizonBand:
    """The days around the documented horizon that both the search and the history read."""

    overlap: dt.timedelta

    @classmethod
    def of(cls, config: Mapping[str, Any]) -> HorizonBand:
        """The band ``horizon_overlap_days`` sets."""
        return cls(dt.timedelta(days=config["horizon_overlap_days"]))

    def search_from(self, now: dt.datetime) -> dt.datetime:
        """Where a full run's search scan starts: before the earliest plausible horizon."""
        return horizon(now) - self.overlap

    def history_before(self, now: dt.datetime) -> dt.datetime:
        """What the history covers: updated before the latest plausible horizon."""
        return horizon(now) + self.overlap


def created_at(object_id: str) -> dt.datetime:
    """The creation second a Mongo ObjectId starts with."""
    return dt.datetime.fromtimestamp(int(object_id[:8], 16), tz=dt.timezone.utc)


class HistoryConsumer(Protocol):
    """What the history pass reads of a stream's side of the feed (``feed.Consumer``)."""

    stream: SearchStream
    window_start: dt.datetime
    position: StreamPosition
    archive: ScanCursor


class HistoryPass:
    """One read of what lies before the search horizon, for a feed's streams that need it.

    Runs in the feed's thread. It yields steps, ``(hit, marks, phase)``: the feed
    turns each hit into the records of every stream that wants it, and hands each
    stream the marks that move its position once those records are out.
    """

    def __init__(self, consumers: Sequence[HistoryConsumer]) -> None:
        """The pass for ``consumers``, each resuming where its position says."""
        self.consumers = consumers
        self.stream: SearchStream = consumers[0].stream
        self.start_date: dt.datetime = min(c.window_start for c in consumers)
        self.names = ", ".join(c.stream.name for c in consumers)
        self.band = HorizonBand.of(self.stream.config)

    def steps(self) -> Iterator[Step]:
        """The pass's steps, then every consumer's history marked done."""
        positions = [c.position.history for c in self.consumers]
        if all(p.source == LISTS for p in positions):
            yield from self._lists(least_advanced(positions))
        else:
            yield from self._archive()
        yield None, [["history_done"]], None

    # ---- the archive search ------------------------------------------------------------

    def _archive(self) -> Iterator[Step]:
        stream = self.stream
        starts = [c.archive.start for c in self.consumers]
        started = any(c.position.history.archive is not None for c in self.consumers)
        scan = SearchScan(
            client=stream.client,
            context=stream.query_context,
            start=earliest(starts),
            page_size=stream.config["page_size"],
            archive=True,
        )
        hits = scan.hits()
        try:
            first = next(hits, None)
        except (BadRequestError, PermissionDeniedError, NotFoundError) as exc:
            # Kustomer documents the archive for some contexts only: a refusal of this
            # one (a 400 for an unsupported context, or no role) leaves the others alone.
            if started:
                raise
            yield from self._refused(str(exc), exc)
            return
        if first is None and not started and (reader := self._list_with_history()):
            # An empty answer for a context the archive does not serve would drop its
            # history silently; the list says there is some, so read it from there.
            why = "it answered no objects, while the list holds older ones"
            yield from self._refused(why, reader=reader)
            return
        yield None, [["source", ARCHIVE]], None
        if first is not None:
            for hit in itertools.chain([first], hits):
                yield hit, [hit_mark(ARCHIVE, hit)], ARCHIVE

    def _list_with_history(self) -> ListReader | None:
        """The list of a context the archive does not document, where it holds older objects.

        An empty archive is taken at its word for the contexts Kustomer documents it for;
        for the others one list request checks it (objects created before the band's end).
        """
        path = self.stream.history_path
        if path is None or self.stream.archive_documented:
            return None
        reader = ListReader(self, path, self.band.history_before(self.stream.run.now()))
        return reader if reader.may_hold_history() else None

    def _refused(
        self, why: str, exc: KustomerAPIError | None = None, reader: ListReader | None = None
    ) -> Iterator[Step]:
        """Read the history from the list instead (``reader``, where one already looked)."""
        stream = self.stream
        if stream.history_path is None:
            before = self.band.history_before(stream.run.now())
            msg = (
                f"{self.names}: the archive search was refused ({why}); objects last "
                f"updated before {before:%Y-%m-%d} cannot be read any other way. Give the key "
                "a search role (org.permission.search.create), or set start_date within the "
                "last two years"
            )
            raise HistoryUnreachableError(msg) from exc
        stream.logger.warning(
            "%s: the archive search of %s was refused (%s); reading the history from %s instead",
            self.names,
            stream.query_context,
            why,
            stream.history_path,
        )
        yield None, [["source", LISTS]], None
        yield from self._lists(HistoryPosition(source=LISTS), reader)

    # ---- the list endpoints ------------------------------------------------------------

    def _lists(self, at: HistoryPosition, reader: ListReader | None = None) -> Iterator[Step]:
        """Objects updated before the pass's bound and created since start_date, newest first.

        The position holds the next page to read, so an interrupted pass resumes there.
        Objects created meanwhile push older ones to later pages, so a resumed pass
        may read a few objects twice; it never skips one.
        """
        stream = self.stream
        before = at.list_before
        if before is None:
            before = reader.before if reader else self.band.history_before(stream.run.now())
            yield None, [["list_before", format_timestamp(before)]], None
        reader = reader or ListReader(self, str(stream.history_path), before)
        page = reader.first_page(resume=at.list_page)
        span = (before - self.start_date).total_seconds()
        while page is not None:
            data = reader.page(page)
            if not data:
                return
            hits = [
                obj
                for obj in data
                if parse_timestamp(obj["attributes"]["updatedAt"]) < before
                and created_at(obj["id"]) >= self.start_date
            ]
            reached = created_at(data[-1]["id"])
            covered = (before - reached).total_seconds() / span if span > 0 else None
            turned = ["list_page", page + 1, format_timestamp(reached), covered]
            for index, hit in enumerate(hits):
                yield hit, [turned] if index == len(hits) - 1 else [], None
            if not hits:
                yield None, [turned], None
            if reached < self.start_date:
                return
            page += 1


def least_advanced(positions: list[HistoryPosition]) -> HistoryPosition:
    """A list pass position no consumer has passed, so that none skips a page.

    Streams of one feed consume its marks at their own turn, so a run killed between
    them leaves them on different pages: resume at the lowest, or afresh where their
    bounds differ (a few objects read twice, none skipped).
    """
    bounds = {position.list_before for position in positions}
    if len(bounds) != 1:
        return HistoryPosition(source=LISTS)
    pages = [position.list_page for position in positions]
    page = None if None in pages else min(page for page in pages if page is not None)
    return HistoryPosition(source=LISTS, list_before=bounds.pop(), list_page=page)


def earliest(starts: list[SearchCheckpoint]) -> SearchCheckpoint:
    """A scan start no later than any of ``starts``: each filters what it already read."""
    resume_from = min(start.resume_from for start in starts)
    at_same = [set(s.skip_ids) for s in starts if s.resume_from == resume_from]
    return SearchCheckpoint(resume_from, sorted(set.intersection(*at_same)))


def hit_mark(phase: str, hit: dict[str, Any]) -> Mark:
    """The mark that moves a consumer's ``phase`` cursor past ``hit``."""
    return [phase, hit["id"], hit["attributes"]["updatedAt"]]


class ListReader:
    """Pages of one list endpoint sorted newest first, and the checks of their reach."""

    def __init__(self, history: HistoryPass, path: str, before: dt.datetime) -> None:
        """Read ``path`` for the objects updated before ``before``."""
        self.history = history
        self.client = history.stream.client
        self.path = path
        self.before = before
        self.sort = {"sort": history.stream.history_sort}
        # The creation time of the oldest object, where one request can tell it.
        self.oldest: dt.datetime | None = None
        self._holds_history: bool | None = None  # may_hold_history's answer, once asked
        # The creation time of the oldest object read so far (the pass's frontier).
        self.frontier = before

    def page(self, page: int) -> list[dict[str, Any]]:
        """One page; a page the endpoint cannot serve while older objects exist is an error."""
        params = {"page": page, "pageSize": LIST_PAGE_SIZE, **self.sort}
        try:
            document = self.client.get(self.path, params)
        except BadRequestError as exc:
            self._unreachable(page, str(exc))
        data = self._newest_first(page, document.get("data") or [])
        if data:
            self.frontier = min(self.frontier, created_at(data[-1]["id"]))
            return data
        total_pages = (document.get("meta") or {}).get("totalPages")
        more_listed = isinstance(total_pages, int) and page <= total_pages
        older_exist = self.oldest is not None and self.oldest < self.frontier
        if more_listed or (older_exist and self.frontier > self.history.start_date):
            self._unreachable(page, "an empty page")
        return data

    def _newest_first(self, page: int, data: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """``data``, checked to be newest first.

        The pass ends at the first object created before start_date and locates pages by
        creation time, so a list that ignored the sort would end it early.
        """
        if len(data) > 1 and data[0]["id"] < data[-1]["id"]:
            self._unreachable(page, f"objects oldest first (it ignored {self.sort})")
        return data

    def _unreachable(self, page: int, answer: str) -> NoReturn:
        stream = self.history.stream
        msg = (
            f"{stream.name}: {self.path} answered page {page} with {answer} before the history "
            f"was read: objects updated before {self.before:%Y-%m-%d} and created between "
            f"{self.history.start_date:%Y-%m-%d} and {self.frontier:%Y-%m-%d %H:%M} are unread. "
            "The list endpoint cannot reach them; the archive search "
            "(POST /v1/customers/archive/search, role org.permission.search.create) can, or "
            f"set start_date after {self.frontier:%Y-%m-%d}"
        )
        raise HistoryUnreachableError(msg)

    def first_page(self, resume: int | None) -> int | None:
        """The first page holding an object created before the bound; None if none is.

        A resumed pass goes on at ``resume``. Ids carry their creation second, so the
        pages of the last two years (which search covers) are skipped by
        interpolation: each page read tells how many seconds a page spans, hence about
        how many pages lie before the bound.
        """
        if not self.may_hold_history():
            return None
        if resume:
            return resume
        # Invariant: every page before `low` is newer than the bound, and page
        # `high` (when known) is empty or reaches past it; the answer is in between.
        low, page = 1, 1
        high: int | None = None
        while high is None or low < high:
            data = self._probe(page)
            if data and created_at(data[-1]["id"]) >= self.before:
                low = page + 1
            else:
                high = page
                if data and created_at(data[0]["id"]) >= self.before:
                    low = page  # this page holds the crossing itself
            page = next_probe(data, self.before, low, high, page)
        return low

    def _probe(self, page: int) -> list[dict[str, Any]]:
        """A page read to locate the first one; a page past the list's reach reads as empty."""
        params = {"page": page, "pageSize": LIST_PAGE_SIZE, **self.sort}
        try:
            return self._newest_first(page, self.client.get(self.path, params).get("data") or [])
        except BadRequestError:
            return []

    def may_hold_history(self) -> bool:
        """Whether anything was created before the bound, in one request where it can tell.

        Without ``sort`` the list is in ascending id order in practice (the reference
        marks it unknown), so the first of two objects is checked to be the older one
        before it is taken for the oldest; in any other order the pages are searched.
        """
        if self._holds_history is None:
            self._holds_history = self._oldest_is_before()
        return self._holds_history

    def _oldest_is_before(self) -> bool:
        data = self.client.get(self.path, {"page": 1, "pageSize": 2}).get("data") or []
        if len(data) == 2 and data[0]["id"] > data[1]["id"]:  # noqa: PLR2004 - two objects
            return True
        if not data:
            return False
        self.oldest = created_at(data[0]["id"])
        return self.oldest < self.before


def next_probe(
    data: list[dict[str, Any]], bound: dt.datetime, low: int, high: int | None, page: int
) -> int:
    """The next page to read, interpolated from how many seconds this page spans.

    An estimate outside the bounds (or an empty page, which tells nothing) falls
    back to doubling while there is no upper bound, and to bisection after.
    """
    if data:
        newest, oldest = created_at(data[0]["id"]), created_at(data[-1]["id"])
        seconds_per_page = max((newest - oldest).total_seconds(), 1.0)
        if oldest >= bound:
            estimate = page + math.ceil((oldest - bound).total_seconds() / seconds_per_page)
        else:
            estimate = page - math.ceil((bound - newest).total_seconds() / seconds_per_page)
        if low <= estimate and (high is None or estimate < high):
            return estimate
    if high is None:
        return max(low, page * 2)
    return (low + high) // 2
