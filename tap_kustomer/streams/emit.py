"""Hand records to the SDK so that STATE never claims a hit whose records are not out."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

# What the records come from: a search hit, or the marks that follow them.
_Source = TypeVar("_Source")


def emit(
    pairs: Iterable[tuple[_Source, list[dict[str, Any]]]],
    done: Callable[[_Source], None],
    report: Callable[[_Source], None],
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
