"""A search stream's position in STATE, beside the SDK's bookmark: one typed structure.

Per stream, STATE holds::

    "conversations": {
      "replication_key": "updated_at",
      "replication_key_value": "<newest updated_at emitted>",       # the SDK's, never back
      "position": {                                                  # the tap's own
        "search": {"resume_from": "<ts>", "skip_ids": ["<id>", ...]},
        "history": {"done": false, "source": "archive" | "list" | null,
                    "archive": {"resume_from": "<ts>", "skip_ids": [...]} | null,
                    "list_before": "<ts>" | null, "list_page": <int> | null}
      }
    }

``search`` is where the next scan starts (inclusive) and the ids already read at that
exact ``updatedAt``. ``history`` is the once-only read of what search no longer sees:
through the archive search (``archive`` is its scan position) or, where that is
refused, the list endpoint (``list_page`` is the next page of objects updated before
``list_before``). Only ``StreamPosition.write`` puts it in STATE.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tap_kustomer.records import format_timestamp, parse_timestamp
from tap_kustomer.search import SearchCheckpoint

if TYPE_CHECKING:
    import datetime as dt

POSITION_KEY = "position"
ARCHIVE = "archive"
LISTS = "list"
_SOURCES = (None, ARCHIVE, LISTS)


class PositionError(ValueError):
    """A STATE position the tap cannot resume from."""


@dataclass
class HistoryPosition:
    """How far the history pass got."""

    done: bool = False
    source: str | None = None
    archive: SearchCheckpoint | None = None
    list_before: dt.datetime | None = None
    list_page: int | None = None


@dataclass
class StreamPosition:
    """The tap's resume position of one stream."""

    search: SearchCheckpoint | None = None
    history: HistoryPosition = field(default_factory=HistoryPosition)

    @classmethod
    def read(cls, state: dict[str, Any]) -> StreamPosition:
        """The position a stream's STATE holds; raises ``PositionError`` naming a bad key."""
        stored = state.get(POSITION_KEY)
        if stored is None:
            return cls()
        if not isinstance(stored, dict):
            msg = f"{POSITION_KEY} is not an object"
            raise PositionError(msg)
        history = stored.get("history") or {}
        if not isinstance(history, dict):
            msg = f"{POSITION_KEY}.history is not an object"
            raise PositionError(msg)
        source = history.get("source")
        if source not in _SOURCES:
            msg = f"{POSITION_KEY}.history.source {source!r} is not archive or list"
            raise PositionError(msg)
        page = history.get("list_page")
        if page is not None and not (isinstance(page, int) and page >= 1):
            msg = f"{POSITION_KEY}.history.list_page {page!r} is not a page number"
            raise PositionError(msg)
        return cls(
            search=_checkpoint(stored.get("search"), f"{POSITION_KEY}.search"),
            history=HistoryPosition(
                done=bool(history.get("done")),
                source=source,
                archive=_checkpoint(history.get("archive"), f"{POSITION_KEY}.history.archive"),
                list_before=_timestamp(
                    history.get("list_before"), f"{POSITION_KEY}.history.list_before"
                ),
                list_page=page,
            ),
        )

    def write(self, state: dict[str, Any]) -> None:
        """Put the position in the stream's STATE (skip lists by reference: scans append)."""
        history = self.history
        state[POSITION_KEY] = {
            "search": _checkpoint_json(self.search),
            "history": {
                "done": history.done,
                "source": history.source,
                "archive": _checkpoint_json(history.archive),
                "list_before": format_timestamp(history.list_before)
                if history.list_before
                else None,
                "list_page": history.list_page,
            },
        }


def _checkpoint_json(checkpoint: SearchCheckpoint | None) -> dict[str, Any] | None:
    if checkpoint is None:
        return None
    return {
        "resume_from": format_timestamp(checkpoint.resume_from),
        "skip_ids": checkpoint.skip_ids,
    }


def _checkpoint(value: Any, name: str) -> SearchCheckpoint | None:  # noqa: ANN401 - JSON
    if value is None:
        return None
    if not isinstance(value, dict):
        msg = f"{name} is not an object"
        raise PositionError(msg)
    resume_from = _timestamp(value.get("resume_from"), f"{name}.resume_from")
    skip_ids = value.get("skip_ids") or []
    if resume_from is None or not isinstance(skip_ids, list):
        msg = f"{name} needs resume_from (a timestamp) and skip_ids (a list)"
        raise PositionError(msg)
    return SearchCheckpoint(resume_from, [str(item) for item in skip_ids])


def _timestamp(value: Any, name: str) -> dt.datetime | None:  # noqa: ANN401 - JSON
    if value is None:
        return None
    try:
        return parse_timestamp(str(value))
    except ValueError:
        msg = f"{name} {value!r} is not a timestamp"
        raise PositionError(msg) from None
