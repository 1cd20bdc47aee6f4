"""Reading a list endpoint by creation time: what is newer than a moment, not the whole list.

Kustomer's ids are Mongo ObjectIds, whose first four bytes are the creation second, so a
list served in id order can be read from its newest object back to a moment, or from the
page that moment was on at the previous run to the end, instead of whole. Kustomer
documents neither a sort nor a date filter on most lists, nor their order ([?],
kustomer-api.md §9.7): ``sort=desc`` is asked for (conversations and messages honour it)
and the order is told from the ids of the first page.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tap_kustomer.client import LIST_PAGE_SIZE, BadRequestError
from tap_kustomer.streams.history import created_at

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Iterator

    from tap_kustomer.client import KustomerClient

NEWEST_FIRST = "desc"
OLDEST_FIRST = "asc"


def order_of(objects: list[dict[str, Any]]) -> str | None:
    """``desc`` or ``asc`` where the objects' ids are in that order; None where not told."""
    ids = [obj["id"] for obj in objects]
    if len(ids) < 2:  # noqa: PLR2004 - an order takes two
        return None
    if all(a > b for a, b in itertools.pairwise(ids)):
        return NEWEST_FIRST
    if all(a < b for a, b in itertools.pairwise(ids)):
        return OLDEST_FIRST
    return None


@dataclass
class Recent:
    """One list endpoint read back to ``since``: every object created since, and a few more.

    Without ``since`` the whole list is read. Newest first, the read stops after the
    first page that reaches back before ``since``. Oldest first, it goes on from
    ``hint``, the page ``since`` was on at the previous run (objects are added at the
    end), to the end; ``hint`` None says that page is past the list's reach: only the
    first page is read, and ``out_of_reach`` is set. In any other order the whole list
    is read. The pages read are yielded whole, but the first of a read that starts at
    ``hint``: only its objects created since.
    """

    client: KustomerClient
    path: str
    params: dict[str, str]
    since: dt.datetime | None = None
    hint: int | None = 1
    # Whether to ask for newest first; False once an endpoint refused it this run.
    sort: bool = True
    order: str | None = None
    out_of_reach: bool = False
    # (number, id of its first object) of every page read.
    firsts: list[tuple[int, str]] = field(default_factory=list)

    def objects(self) -> Iterator[dict[str, Any]]:
        """The objects of the pages read, page by page."""
        pages = self.client.iter_pages(self.path, self._params(1))
        try:
            first = next(pages)
        except BadRequestError:
            if not self.sort:
                raise
            # `sort` is not in Kustomer's reference for most lists: a strict API refuses it.
            self.sort = False
            pages = self.client.iter_pages(self.path, self._params(1))
            first = next(pages)
        self.order = order_of(first.get("data") or [])
        if self.since is not None and self.order == OLDEST_FIRST and self.hint != 1:
            since = self.since
            yield from (o for o in self._take(1, first) if created_at(o["id"]) >= since)
            if self.hint is None:
                self.out_of_reach = True
            else:
                yield from self._from_hint(self.hint)
            return
        for number, page in enumerate(itertools.chain([first], pages), start=1):
            yield from self._take(number, page)
            if self.order == NEWEST_FIRST and self._reaches_since(page):
                return

    def hint_for(self, since: dt.datetime) -> int | None:
        """Where ``since`` will be at the next run: the last page read that starts before it."""
        if self.order != OLDEST_FIRST:
            return 1
        if self.out_of_reach:
            return None
        return max((n for n, first in self.firsts if created_at(first) < since), default=1)

    def _from_hint(self, hint: int) -> Iterator[dict[str, Any]]:
        pages = self.client.iter_pages(self.path, self._params(hint))
        page = next(pages)
        data = page.get("data") or []
        if not data or not self._reaches_since(page, first=True):
            # The list is shorter than it was, or objects were removed: read it on whole.
            pages = self.client.iter_pages(self.path, self._params(2))
            hint = 2
        else:
            pages = itertools.chain([page], pages)
        for number, each in enumerate(pages, start=hint):
            yield from self._take(number, each)

    def _reaches_since(self, page: dict[str, Any], *, first: bool = False) -> bool:
        """Whether the page's last object (or first) was created before ``since``."""
        data = page.get("data") or []
        if not data or self.since is None:
            return False
        return created_at(data[0 if first else -1]["id"]) < self.since

    def _take(self, number: int, page: dict[str, Any]) -> list[dict[str, Any]]:
        data: list[dict[str, Any]] = page.get("data") or []
        if data:
            self.firsts.append((number, data[0]["id"]))
        return data

    def _params(self, page: int) -> dict[str, Any]:
        sort = {"sort": "desc"} if self.sort else {}
        return {**self.params, "page": page, "pageSize": LIST_PAGE_SIZE, **sort}
