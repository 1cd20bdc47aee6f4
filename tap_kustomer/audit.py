"""Kustomer's audit log, read once a run for every stream that needs it.

``GET /v1/audit-logs`` (developer.kustomer.com, "Query events associated with your
organization") is where the tap learns what no list or search shows: objects deleted
for good, and each status a conversation went through. Its entries expire (``expiresAt``,
reported as 90 days), so whoever wants them must read them before then.

One scan a run, from the oldest position any selected reader needs, serves them all:
``audit_logs`` and ``conversation_status_changes`` (which read from their own bookmark,
the whole log the first time) and each stream's deletes (from where that stream's STATE
left off; a stream's first run needs none, as it reads only what exists). An idle run
thus costs one request, whatever the number of streams.

What Kustomer leaves unknown ([?]), and how the scan copes with each:
* the order of entries: newest first is believed only when a page shows it, and then
  the scan stops at the first page older than every reader's position; otherwise it
  follows ``links.next`` to the end;
* whether ``after=<entry id>`` (the reference names ``before``/``after`` cursors) is
  honoured: it is sent where a position has an id, and entries older than the
  position are skipped whatever the server did with it;
* the shape of the changed fields: ``changes.attributes.<field>`` or
  ``changes.<field>``, each ``{before, after}``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from tap_kustomer.client import NotFoundError, PermissionDeniedError
from tap_kustomer.records import format_timestamp, parse_timestamp

if TYPE_CHECKING:
    import logging
    from collections.abc import Callable, Iterator

    from tap_kustomer.client import KustomerAPIError, KustomerClient

AUDIT_PATH = "/v1/audit-logs"
PAGE_SIZE = 100
# Entries may be written a little after the time they carry: each reader goes back this far.
OVERLAP = dt.timedelta(minutes=5)
# Where streams keep their place in the log: their deletes, and the log's own streams.
DELETES_KEY = "deletes_since"
LOG_KEY = "log_position"
LOG_POSITION_KEYS = (DELETES_KEY, LOG_KEY)


@dataclass(frozen=True)
class LogPosition:
    """How far a reader of the log got: the newest entry's time, and its id where known."""

    at: dt.datetime
    entry_id: str | None = None

    @classmethod
    def read(cls, state: dict[str, Any], key: str) -> LogPosition | None:
        """The position a stream's STATE holds under ``key``; ValueError if malformed."""
        stored = state.get(key)
        if stored is None:
            return None
        if not isinstance(stored, dict) or not isinstance(stored.get("at"), str):
            msg = f"{key} must be an object with an 'at' timestamp"
            raise ValueError(msg)  # noqa: TRY004 - the one error STATE checks catch
        entry_id = stored.get("after")
        return cls(parse_timestamp(stored["at"]), entry_id if isinstance(entry_id, str) else None)

    def write(self, state: dict[str, Any], key: str) -> None:
        """Put the position in a stream's STATE under ``key``."""
        state[key] = {"at": format_timestamp(self.at), "after": self.entry_id}


class LogReader(Protocol):
    """A stream that takes something from the scan."""

    # Whether it takes every entry (audit_logs), not only what the trail keeps.
    takes_entries: bool

    @property
    def selected(self) -> bool:
        """Whether the catalog selects it."""
        ...

    def log_needs(self) -> tuple[bool, LogPosition | None]:
        """Whether it needs the scan, and from where (None: the whole log)."""
        ...


@dataclass(frozen=True)
class Deletion:
    """An object the log says was deleted."""

    object_type: str
    object_id: str
    deleted_at: str
    at: dt.datetime


def created(entry: dict[str, Any]) -> dt.datetime | None:
    """When an entry was written, if it says."""
    value = (entry.get("attributes") or {}).get("createdAt")
    return parse_timestamp(value) if isinstance(value, str) else None


def changed_field(entry: dict[str, Any], name: str) -> tuple[Any, Any] | None:
    """``(before, after)`` of one field an entry changed, where it names it."""
    changes = (entry.get("attributes") or {}).get("changes")
    if not isinstance(changes, dict):
        return None
    nested = changes.get("attributes")
    change = (nested if isinstance(nested, dict) else changes).get(name)
    if not isinstance(change, dict):
        return None
    return change.get("before"), change.get("after")


def status_change(entry: dict[str, Any]) -> dict[str, Any] | None:
    """The ``conversation_status_changes`` record of an entry, if it changed a status."""
    attributes = entry.get("attributes") or {}
    if attributes.get("objectType") != "conversation":
        return None
    change = changed_field(entry, "status")
    if change is None or change[0] == change[1]:
        return None
    return {
        "id": entry["id"],
        "conversation_id": attributes.get("objectId"),
        "from_status": change[0],
        "to_status": change[1],
        "changed_at": attributes.get("createdAt"),
        "changed_by_id": attributes.get("userId"),
        "changed_by_type": attributes.get("userType"),
    }


def deletion(entry: dict[str, Any]) -> Deletion | None:
    """What an entry deleted, if it is a delete."""
    attributes = entry.get("attributes") or {}
    at = created(entry)
    object_id = attributes.get("objectId")
    if attributes.get("eventVerb") != "delete" or at is None or not isinstance(object_id, str):
        return None
    return Deletion(str(attributes.get("objectType")), object_id, attributes["createdAt"], at)


class AuditTrail:
    """The run's one scan of the audit log, and what it found for the streams."""

    def __init__(
        self,
        client: Callable[[], KustomerClient],
        logger: logging.Logger,
        now: Callable[[], dt.datetime],
    ) -> None:
        """A trail read through ``client`` (built on first use)."""
        self._client = client
        self._logger = logger
        self._now = now
        self.readers: list[LogReader] = []
        self._scanned = False
        # Set when the log refused the key: readers skip with one warning.
        self.refused: KustomerAPIError | None = None
        self._refusal_named = False
        # The newest entry the scan met: where every reader got to.
        self.reached: LogPosition | None = None
        self.deletions: list[Deletion] = []
        self.status_changes: list[dict[str, Any]] = []
        self._retention: dt.timedelta | None = None
        # Entries held for a reader that takes them all and syncs after the scan.
        self._retained: list[dict[str, Any]] = []

    def needed_from(self) -> tuple[bool, LogPosition | None]:
        """Whether any selected reader needs the scan, and the oldest position one needs."""
        needs = [reader.log_needs() for reader in self.readers if reader.selected]
        wanted = [since for needed, since in needs if needed]
        if not wanted:
            return False, None
        if any(since is None for since in wanted):
            return True, None
        return True, min((since for since in wanted if since), key=lambda p: p.at)

    def entries(self) -> Iterator[dict[str, Any]]:
        """Every entry the readers need, read once a run; deletes and status changes kept.

        Raises the log's refusal (403, 404) to its first caller; later calls yield nothing.
        """
        if self._scanned:
            retained, self._retained = self._retained, []
            yield from retained
            return
        self._scanned = True
        needed, since = self.needed_from()
        if not needed:
            return
        try:
            yield from self._scan(since)
        except (PermissionDeniedError, NotFoundError) as exc:
            self.refused = exc
            raise
        self._warn_expired(since)

    def complete(self) -> None:
        """Run the scan if no stream has yet; a refusal is kept for the readers.

        The SDK syncs streams by name, so ``assistants``' deletes come before
        ``audit_logs``: where both are selected, the entries wait for it in memory.
        """
        if self._scanned:
            return
        keep = any(reader.selected and reader.takes_entries for reader in self.readers)
        try:
            for entry in self.entries():
                if keep:
                    self._retained.append(entry)
        except (PermissionDeniedError, NotFoundError):
            pass

    def refusal_named(self) -> str | None:
        """The refusal, the first time a reader asks (one warning a run), else None."""
        if self.refused is None or self._refusal_named:
            return None
        self._refusal_named = True
        return str(self.refused)

    def deletions_since(self, since: LogPosition, matches: Callable[[str], bool]) -> list[Deletion]:
        """The deletions of the object types ``matches`` accepts, from ``since`` on."""
        start = since.at - OVERLAP
        return [d for d in self.deletions if d.at >= start and matches(d.object_type)]

    def _scan(self, since: LogPosition | None) -> Iterator[dict[str, Any]]:
        start = since.at - OVERLAP if since else None
        params: dict[str, Any] = {"pageSize": PAGE_SIZE}
        if since and since.entry_id:
            params["after"] = since.entry_id
        client = self._client()
        page = client.get(AUDIT_PATH, params)
        while True:
            data = page.get("data") or []
            times = [created(entry) for entry in data]
            for entry, at in zip(data, times, strict=True):
                if start is not None and at is not None and at < start:
                    continue
                self._keep(entry, at)
                yield entry
            link = (page.get("links") or {}).get("next")
            if not data or not link or _past(times, start):
                return
            page = client.get(link)

    def _keep(self, entry: dict[str, Any], at: dt.datetime | None) -> None:
        if at is not None and (self.reached is None or at > self.reached.at):
            self.reached = LogPosition(at, entry.get("id"))
        if self._retention is None:
            expires = (entry.get("attributes") or {}).get("expiresAt")
            if isinstance(expires, str) and at is not None:
                self._retention = parse_timestamp(expires) - at
        found = deletion(entry)
        if found is not None:
            self.deletions.append(found)
        change = status_change(entry)
        if change is not None:
            self.status_changes.append(change)

    def _warn_expired(self, since: LogPosition | None) -> None:
        if since is None or self._retention is None:
            return
        horizon = self._now() - self._retention
        if since.at < horizon:
            missing = (horizon - since.at).total_seconds() / 86_400
            self._logger.warning(
                "Audit log: entries from %s to %s expired before this run read them "
                "(%.1f days missing): deletes and status changes in that span are lost. "
                "Kustomer keeps its log about %d days; run the minute job more often than that.",
                format_timestamp(since.at),
                format_timestamp(horizon),
                missing,
                self._retention.days,
            )


def _past(times: list[dt.datetime | None], start: dt.datetime | None) -> bool:
    """Whether a newest-first page reached entries older than ``start``: the rest is older."""
    known = [at for at in times if at is not None]
    if start is None or len(known) < 2 or known[0] <= known[-1]:  # noqa: PLR2004 - an order needs two
        return False
    return known[-1] < start
