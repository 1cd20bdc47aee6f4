"""Value shapes every builder uses: Kustomer's timestamps and JSON:API relationships."""

from __future__ import annotations

import time


def iso(ms: int) -> str:
    """Format epoch milliseconds the way Kustomer does: ``2022-03-02T14:35:34.848Z``."""
    t = time.gmtime(ms // 1000)
    return (
        f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}T"
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}.{ms % 1000:03d}Z"
    )


def rel(type_: str, obj_id: str, path: str) -> dict:
    return {"links": {"self": f"/v1/{path}/{obj_id}"}, "data": {"type": type_, "id": obj_id}}


def audit_attributes(created: int, updated: int, *, deleted: bool) -> dict:
    """The timestamps and soft-delete flags of a directory object."""
    return {
        "createdAt": iso(created),
        "updatedAt": iso(updated),
        "modifiedAt": iso(updated),
        "deleted": deleted,
        "deletedAt": iso(updated) if deleted else None,
    }


def empty_summary() -> dict:
    return {"createdByTeams": [], "assignedTeams": [], "assignedUsers": []}
