"""Bounded, order-preserving concurrency for per-object requests.

The Singer SDK runs everything in one thread; per-conversation endpoints cost one
request each, and one at a time a sync reaches well under half of its budget at
real latencies. Here a few worker threads fetch ahead while the main thread writes
records and STATE in input order, so bookmarks never pass unfinished work. The
pacer, not the pool size, sets the request rate.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

_In = TypeVar("_In")
_Out = TypeVar("_Out")


def ordered_map(
    function: Callable[[_In], _Out],
    items: Iterable[_In],
    *,
    workers: int,
    ahead: int | None = None,
) -> Iterator[tuple[_In, _Out]]:
    """Yield ``(item, function(item))`` in input order, at most ``ahead`` items ahead.

    ``ahead`` defaults to ``2 * workers``; where most items need no request, a longer
    look-ahead keeps the workers busy.

    An exception raised by ``function`` is raised here, at that item's turn, after
    every earlier item has been yielded.
    """
    if workers <= 1:
        for item in items:
            yield item, function(item)
        return
    window = ahead or 2 * workers
    pending: deque[tuple[_In, Future[_Out]]] = deque()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="kustomer") as pool:
        try:
            for item in items:
                pending.append((item, pool.submit(function, item)))
                if len(pending) >= window:
                    done_item, future = pending.popleft()
                    yield done_item, future.result()
            while pending:
                done_item, future = pending.popleft()
                yield done_item, future.result()
        finally:
            for _, future in pending:
                future.cancel()
