"""Hand records to the SDK so that STATE never claims a hit whose records are not out."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tap_kustomer.records import format_timestamp, parse_timestamp
from tap_kustomer.search import SearchCheckpoint

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator


def emit(
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


def checkpoint_keys(prefix: str) -> tuple[str, str]:
    """The STATE keys of a scan's position: ``<prefix>resume_from``, ``<prefix>resume_skip_ids``."""
    return f"{prefix}resume_from", f"{prefix}resume_skip_ids"


def store_checkpoint(state: dict[str, Any], prefix: str, checkpoint: SearchCheckpoint) -> None:
    """Write a scan's position; the skip list by reference, as the scan appends to it in place."""
    at, skip = checkpoint_keys(prefix)
    state[at] = format_timestamp(checkpoint.resume_from)
    state[skip] = checkpoint.skip_ids


def stored_checkpoint(state: dict[str, Any], prefix: str) -> SearchCheckpoint | None:
    """The scan position ``store_checkpoint`` wrote, if any."""
    at, skip = checkpoint_keys(prefix)
    resume_from = state.get(at)
    if not resume_from:
        return None
    return SearchCheckpoint(parse_timestamp(resume_from), list(state.get(skip) or []))
