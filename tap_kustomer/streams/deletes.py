"""How deletes reach the target: delete records from the audit log, and table versions.

A stream whose objects Kustomer can delete for good names their audit-log object types
(``KustomerStream.deleted_as``). After its records, it emits one record per delete the
log shows since its STATE's ``deletes_since``: the id and ``_sdc_deleted_at``, the
Singer SDK's delete mark, so that a target with hard deletes removes the row and one
without keeps it marked. A stream's first run reads what exists, so it needs no deletes:
it starts its position there.

A full-table stream read whole also ends with ``ACTIVATE_VERSION``: a target that honours
it drops the rows absent from that read. Delete records carry no table version, so
that such a target drops them too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tap_kustomer.audit import DELETES_KEY, LogPosition
from tap_kustomer.schemas import DATETIME, DELETED_AT

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tap_kustomer.audit import AuditTrail


def with_deleted_at(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with the delete mark among its properties."""
    if DELETED_AT in schema.get("properties", {}):
        return schema
    return {**schema, "properties": {**schema["properties"], DELETED_AT: DATETIME}}


def is_deletion(record: dict[str, Any]) -> bool:
    """Whether a record marks a deleted object."""
    return record.get(DELETED_AT) is not None


class DeletesReader:
    """One stream's side of the audit log: whether it needs the scan, and its deletes."""

    def __init__(self, stream: Any, trail: AuditTrail) -> None:  # noqa: ANN401 - a KustomerStream
        """Read for ``stream`` (its state, selection, matches) from ``trail``."""
        self.stream = stream
        self.trail = trail
        self.takes_entries = False
        trail.readers.append(self)

    @property
    def selected(self) -> bool:
        """Whether the stream is selected."""
        return bool(self.stream.selected)

    def log_needs(self) -> tuple[bool, LogPosition | None]:
        """A stream needs the scan from its position; on its first run, not at all."""
        since = self._position()
        return since is not None, since

    def records(self) -> Iterator[dict[str, Any]]:
        """The delete records since the stream's position; the position moved past them."""
        state = self.stream.stream_state
        since = self._position()
        if since is None:
            LogPosition(self.stream.run.started_at).write(state, DELETES_KEY)
            return
        self.trail.complete()
        refusal = self.trail.refusal_named()
        if refusal is not None:
            self.stream.logger.warning(
                "Deletes not read (the audit log refused the key: %s); streams that need "
                "them go on without, and read them from where they left off once it answers",
                refusal,
            )
        if self.trail.refused is not None:
            return
        for found in self.trail.deletions_since(since, self.stream.deletes_match):
            yield {"id": found.object_id, DELETED_AT: found.deleted_at}
        reached = self.trail.reached
        if reached is not None and reached.at > since.at:
            reached.write(state, DELETES_KEY)

    def _position(self) -> LogPosition | None:
        return LogPosition.read(self.stream.stream_state, DELETES_KEY)
