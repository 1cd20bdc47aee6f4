"""Search pagination: every object updated since a point, each once, in order.

``POST /v1/customers/search`` (and the archive search, which takes the same bodies)
sorted by ``<context>_updated_at`` ascending is paged by keyset, never by offset:
every query reads page 1 only, and the next one starts where it ended.

* Each query asks ``updated_at gte <anchor>``; the next re-anchors on the last
  ``updatedAt`` it saw and drops the ids already read at that value. A scan never
  nears the 100-page / 10,000-result cap, and needs no order among equal keys.
* When a whole page shares one value, re-anchoring cannot move: the scan walks that
  tie by the next key of ``TIE_KEYS`` (``updated_at`` equal to the tie, keyset on
  ``created_at``; then on the id), and afterwards asks ``gt`` the tied value.

Why no object is skipped. A query for ``key >= a`` sorted by ``key`` returns on
page 1 the smallest keys of its result set. When the page is not full, it held the
whole result set. When it is full and its last key ``b`` is above its first, every
matching object with ``key < b`` was on it, so ``key >= b`` minus the ids read at
``b`` is exactly what is left; when it is all one key, the tie walk reads every
object with that key (by the same argument one key deeper) before the scan asks
``key > b``. No step depends on where an object stood on an earlier page, so
neither the order among equal keys nor an object edited mid-scan can make one
slip past: an edit gives it a later ``updatedAt``, where this scan or the next
reads it.

The position after each object is a ``SearchCheckpoint`` the stream stores in its
STATE, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tap_kustomer.records import format_timestamp, parse_timestamp

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tap_kustomer.client import KustomerClient

# Keys that order a scan, each one walking the ties of the one before. Sorting and
# filtering on ``<context>_created_at`` follows the documented attribute catalogue;
# ``<context>_id`` as a search attribute is [?] in Kustomer's reference: it is only
# asked for when more than a page of objects share both updatedAt and createdAt
# (a bulk import), and a refusal then stops the run with the API's error.
TIE_KEYS: tuple[tuple[str, str], ...] = (
    ("updated_at", "updatedAt"),
    ("created_at", "createdAt"),
    ("id", "id"),
)

Value = dt.datetime | str


def attribute_prefix(context: str) -> str:
    """The prefix of a context's search attributes: ``kobject`` for ``kobject_<klass>``.

    [?] Kustomer documents the per-Klass contexts and names custom object attributes
    ``kobject_custom_<klass>_<attr>``, so the standard ones are taken to stay
    ``kobject_updated_at`` in every Klass's context, as in the ``kobject`` one.
    """
    return "kobject" if context.startswith("kobject_") else context


class SearchTieTooLargeError(RuntimeError):
    """A page of objects shares every key the search can order by."""


@dataclass
class SearchCheckpoint:
    """Where the next scan starts: ``resume_from`` (inclusive) and the ids there already read."""

    resume_from: dt.datetime
    skip_ids: list[str] = field(default_factory=list)


def _value(obj: dict[str, Any], level: int) -> Value:
    attribute = TIE_KEYS[level][1]
    if attribute == "id":
        return str(obj["id"])
    return parse_timestamp(obj["attributes"][attribute])


def _operand(value: Value) -> str:
    return format_timestamp(value) if isinstance(value, dt.datetime) else value


@dataclass
class ScanCursor:
    """A reader's position over a scan's hits, and which hits it has not read yet.

    ``lag_floor`` is the run's start less Kustomer's indexing lag: an object updated
    after it may not be searchable yet, so the checkpoint never moves past it and the
    next run reads that stretch again (the documented overlap).
    """

    start: SearchCheckpoint
    lag_floor: dt.datetime
    checkpoint: SearchCheckpoint = field(init=False)

    def __post_init__(self) -> None:
        """Begin at the start checkpoint."""
        self.checkpoint = SearchCheckpoint(self.start.resume_from, list(self.start.skip_ids))
        self._read_at_start = frozenset(self.start.skip_ids)

    def wants(self, object_id: str, updated_at: dt.datetime) -> bool:
        """Whether a scan from ``start`` would yield this hit (it is not read yet)."""
        resume_from = self.start.resume_from
        return updated_at > resume_from or (
            updated_at == resume_from and object_id not in self._read_at_start
        )

    def advance(self, object_id: str, updated_at: dt.datetime) -> None:
        """Record that this hit, and everything before it, is done."""
        resume_from = max(self.start.resume_from, min(updated_at, self.lag_floor))
        checkpoint = self.checkpoint
        if resume_from != checkpoint.resume_from:
            checkpoint.resume_from = resume_from
            checkpoint.skip_ids = []
        if resume_from == updated_at:
            checkpoint.skip_ids.append(object_id)


def hit_key(obj: dict[str, Any]) -> tuple[str, dt.datetime]:
    """A hit's id and ``updatedAt``: what a cursor needs of it."""
    return str(obj["id"]), parse_timestamp(obj["attributes"]["updatedAt"])


@dataclass
class SearchScan:
    """One ascending scan of a search context from a checkpoint.

    ``archive`` scans the archive search (objects last updated over two years ago)
    instead of the standard one.
    """

    client: KustomerClient
    context: str
    start: SearchCheckpoint
    page_size: int
    archive: bool = False
    requests: int = 0

    def hits(self) -> Iterator[dict[str, Any]]:
        """Yield each object updated at or after the start once, oldest first."""
        start = self.start
        return self._walk((), 0, start.resume_from, set(start.skip_ids), frozenset())

    def _walk(
        self,
        equal: tuple[tuple[int, Value], ...],
        level: int,
        lower: Value | None,
        read_at_lower: set[str],
        excluded: frozenset[str],
    ) -> Iterator[dict[str, Any]]:
        """Objects whose keys before ``level`` equal ``equal``, by key ``level`` from ``lower``.

        Of those, the ids in ``read_at_lower`` (at key ``lower``) and in ``excluded``
        (anywhere in this tie) were read before the walk began and are not yielded again.
        """
        inclusive = True
        read_at_last = read_at_lower
        last: Value | None = lower
        while True:
            data = self._fetch(equal, level, lower, inclusive=inclusive)
            for obj in data:
                value = _value(obj, level)
                if obj["id"] in excluded or (value == last and obj["id"] in read_at_last):
                    continue
                if value != last:
                    last, read_at_last = value, set()
                read_at_last.add(obj["id"])
                yield obj
            if len(data) < self.page_size:
                return
            first_value, last_value = _value(data[0], level), _value(data[-1], level)
            if first_value != last_value:
                lower, inclusive = last_value, True
                read_at_last = {o["id"] for o in data if _value(o, level) == last_value}
                last = last_value
                continue
            if level + 1 == len(TIE_KEYS):
                msg = (
                    f"More than {self.page_size} {self.context}s share every key the search "
                    f"orders by ({', '.join(f'{TIE_KEYS[k][0]}={_operand(v)}' for k, v in equal)})"
                    "; Kustomer's search cannot page past them"
                )
                raise SearchTieTooLargeError(msg)
            tie = (*equal, (level, last_value))
            yield from self._walk(tie, level + 1, None, set(), excluded | read_at_last)
            lower, inclusive = last_value, False
            last, read_at_last = None, set()

    def _fetch(
        self,
        equal: tuple[tuple[int, Value], ...],
        level: int,
        lower: Value | None,
        *,
        inclusive: bool,
    ) -> list[dict[str, Any]]:
        def attribute(key_level: int) -> str:
            return f"{attribute_prefix(self.context)}_{TIE_KEYS[key_level][0]}"

        criteria: list[dict[str, Any]] = []
        for key_level, value in equal:
            operand = _operand(value)
            criteria += [
                {attribute(key_level): {"gte": operand}},
                {attribute(key_level): {"lte": operand}},
            ]
        if lower is not None:
            criteria.append({attribute(level): {"gte" if inclusive else "gt": _operand(lower)}})
        body = {
            "queryContext": self.context,
            "and": criteria,
            "sort": [{attribute(level): "asc"}],
            # Soft-deleted objects are emitted with their flag so a warehouse sees them.
            "includeDeleted": True,
        }
        document = self.client.search(body, page=1, page_size=self.page_size, archive=self.archive)
        self.requests += 1
        return document.get("data") or []
