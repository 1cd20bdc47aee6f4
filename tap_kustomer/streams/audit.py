"""The audit log as tables: every entry, and each status change of a conversation."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from tap_kustomer import schemas
from tap_kustomer.audit import AUDIT_PATH, LOG_KEY, OVERLAP, LogPosition
from tap_kustomer.records import flatten, parse_timestamp
from tap_kustomer.streams.base import KustomerStream

if TYPE_CHECKING:
    from collections.abc import Iterator

    from singer_sdk import Tap
    from singer_sdk.helpers.types import Context

    from tap_kustomer.progress import Progress
    from tap_kustomer.streams.base import Run


class AuditLogStream(KustomerStream):
    """A stream read from the run's one scan of the audit log (``audit.AuditTrail``).

    Its place in the log (STATE ``log_position``) moves only once the scan is over:
    the log may come newest first, so a run stopped halfway has not read what lies
    between its old place and the newest entry.
    """

    replication_key: ClassVar[str]
    is_sorted = False
    # STATE goes out during a long first read too; it keeps the old place until the end.
    STATE_MSG_FREQUENCY = 100
    takes_entries: bool = False

    def __init__(self, tap: Tap, run: Run, schema: dict[str, Any] | None = None) -> None:
        """Attach the stream, and make it one of the log's readers."""
        super().__init__(tap, run, schema)
        run.audit.readers.append(self)

    def log_needs(self) -> tuple[bool, LogPosition | None]:
        """The whole log on the first run, then from the stream's place."""
        return True, self.log_position()

    def log_position(self) -> LogPosition | None:
        """Where the stream got to: its own place, else its bookmark."""
        state = self.stream_state
        position = LogPosition.read(state, LOG_KEY)
        bookmark = state.get("replication_key_value")
        if position is None and bookmark:
            return LogPosition(parse_timestamp(str(bookmark)))
        return position

    def probe(self) -> None:
        """Read one entry of the log."""
        self.client.get(AUDIT_PATH, {"pageSize": 1})

    def records(self, context: Context | None, progress: Progress) -> Iterator[dict[str, Any]]:  # noqa: ARG002
        """The stream's records, then its new place in the log."""
        trail = self.run.audit
        yield from self.log_records()
        if trail.refused is not None:
            raise trail.refused
        if trail.reached is not None:
            trail.reached.write(self.stream_state, LOG_KEY)

    def log_records(self) -> Iterator[dict[str, Any]]:
        """What the scan gives this stream."""
        raise NotImplementedError


class AuditLogsStream(AuditLogStream):
    """Every entry of the audit log, before Kustomer expires it (reported as 90 days).

    The first run reads as far back as the log goes.
    """

    name = "audit_logs"
    record_schema = schemas.AUDIT_LOGS
    replication_key: ClassVar[str] = "created_at"
    takes_entries: bool = True

    def log_records(self) -> Iterator[dict[str, Any]]:
        """Each entry the scan reads, as it reads it."""
        for entry in self.run.audit.entries():
            yield flatten(entry)


class ConversationStatusChangesStream(AuditLogStream):
    """Each status a conversation went through (from, to, when, by whom).

    Kustomer's conversations hold only their current status; the audit log's update
    entries hold each change (``changes.status``), the history behind ``tickets``.
    """

    name = "conversation_status_changes"
    record_schema = schemas.CONVERSATION_STATUS_CHANGES
    replication_key: ClassVar[str] = "changed_at"

    def log_records(self) -> Iterator[dict[str, Any]]:
        """The status changes the scan kept, from the stream's place on."""
        trail = self.run.audit
        trail.complete()
        since = self.log_position()
        start = since.at - OVERLAP if since else None
        for change in trail.status_changes:
            changed_at = change["changed_at"]
            if start is None or (changed_at and parse_timestamp(changed_at) >= start):
                yield dict(change)
