"""``GET /v1/audit-logs``: the org's audit log (issue 22), paged by an opaque cursor.

Kustomer documents the route, its roles, each entry's attributes, ``before``/``after`` and that
clients follow ``links.next`` until it is null. The rest is [?], each choice a switch:
``audit_order`` (newest or oldest first), ``audit_after`` (whether ``after``/``before`` are
honoured), ``audit_retention_days`` (older entries are gone), ``audit_kobject_type`` and
``audit_changes`` (fields under ``changes.attributes`` or straight under ``changes``). Page
size: ``pageSize``, at most 100 (more is clamped). A cursor names the last entry served, not an
offset, so a walk neither skips nor repeats an entry however many are added meanwhile.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import re
import time
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from kustomer_api.paging import int_param
from kustomer_api.protocol import HttpError, Reply, dumps, route
from kustomer_api.seed.shapes import iso
from kustomer_api.seed.spec import DAY_MS

if TYPE_CHECKING:
    from kustomer_api.app import App
    from kustomer_api.config import Config
    from kustomer_api.protocol import Request
    from kustomer_api.seed import Org
    from kustomer_api.seed.audit_log import Entry

AUDIT_ROUTE = "GET /v1/audit-logs"
ROLES = frozenset({"org.permission.audit_logs.read", "org.admin.audit_logs.read"})
_MAX_PAGE_SIZE = 100
_ENTRY_ID = re.compile(r"[0-9a-f]{24}")
# A cursor: the direction of the walk ("<" older, ">" newer) and the last entry served.
_CURSOR = re.compile(r"([<>])([0-9a-f]{24})")


def render(entry: Entry, config: Config) -> dict:
    """An entry as the route serves it under ``config``."""
    object_type = entry.object_type
    if entry.klass and config.audit_kobject_type == "klass":
        # As the metadata resources are named; whether Kustomer does so is [?].
        object_type = f"kobject.{entry.klass}"
    return {
        "type": "audit_log",
        "id": entry.id,
        "attributes": {
            # The event keeps the plain object type whatever audit_kobject_type says ([?]).
            "eventName": f"kustomer.{entry.object_type}.{entry.verb}",
            "eventVerb": entry.verb,
            "objectType": object_type,
            "objectId": entry.object_id,
            "userId": entry.user_id,
            "userType": "system" if entry.user_id is None else "user",
            "changes": entry.changes if config.audit_changes == "nested" else _flat(entry),
            "createdAt": iso(entry.at_ms),
            "expiresAt": iso(entry.at_ms + config.audit_retention_days * DAY_MS),
        },
    }


def _flat(entry: Entry) -> dict:
    return entry.changes.get("attributes", {})


def _kept_from(org: Org, config: Config) -> int:
    """Index of the oldest entry within the retention: the ones before are gone.

    On the clock, not the org's build time, like the search horizon: they expire as it runs.
    """
    cutoff = int(time.time() * 1000) - config.audit_retention_days * DAY_MS
    return bisect.bisect_left(org.audit, cutoff, key=lambda e: e.at_ms)


def served(org: Org, config: Config) -> list[dict]:
    """Every entry the route serves, oldest first (the ground truth of ``audit_logs``)."""
    with org.lock:
        return [render(e, config) for e in org.audit[_kept_from(org, config) :]]


def _entry_id(request: Request, name: str) -> str | None:
    raw = request.params.get(name)
    if raw is None or request.config.audit_after == "ignored":
        return None
    if not _ENTRY_ID.fullmatch(raw.lower()):
        raise HttpError(400, f"{name} must be an audit log entry id, got {raw!r}")
    return raw.lower()


def _cursor(request: Request) -> tuple[str, str] | None:
    raw = request.params.get("cursor")
    if raw is None:
        return None
    try:
        decoded = base64.urlsafe_b64decode(raw.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        decoded = ""
    match = _CURSOR.fullmatch(decoded)
    if match is None:
        raise HttpError(400, f"Invalid cursor {raw!r}")
    return match.group(1), match.group(2)


def audit_logs(app: App, request: Request) -> Reply:
    org, config = app.org, request.config
    size = min(int_param(request, "pageSize", _MAX_PAGE_SIZE), _MAX_PAGE_SIZE)
    entries = org.audit
    lo, hi = _kept_from(org, config), len(entries)
    # Ids sort as (createdAt, id): an id need not be an entry still served (or ever made).
    after, before = _entry_id(request, "after"), _entry_id(request, "before")
    if after is not None:
        lo = max(lo, bisect.bisect_right(entries, after, key=lambda e: e.id))
    if before is not None:
        hi = min(hi, bisect.bisect_left(entries, before, key=lambda e: e.id))
    newest_first = config.audit_order == "newest_first"
    cursor = _cursor(request)
    if cursor is not None:
        # The cursor's own direction, whatever the order setting is now.
        direction, last = cursor
        newest_first = direction == "<"
        if newest_first:
            hi = min(hi, bisect.bisect_left(entries, last, key=lambda e: e.id))
        else:
            lo = max(lo, bisect.bisect_right(entries, last, key=lambda e: e.id))
    first = max(lo, hi - size) if newest_first else lo
    page = entries[first : min(hi, first + size)]
    if newest_first:
        page.reverse()
    others = [(k, v) for k, v in request.query if k not in ("cursor", "pageSize")]
    next_link = None
    if hi - lo > size:
        token = ("<" if newest_first else ">") + page[-1].id
        cursor_value = base64.urlsafe_b64encode(token.encode()).decode()
        query = urlencode([*others, ("pageSize", size), ("cursor", cursor_value)])
        next_link = f"{request.path}?{query}"
    self_link = f"{request.path}?{urlencode(request.query)}" if request.query else request.path
    document = {
        "meta": {"pageSize": size},
        "links": {"self": self_link, "next": next_link},
        "data": [render(e, config) for e in page],
    }
    return Reply(200, dumps(document))


ROUTES = (route("GET", "/v1/audit-logs", tuple(sorted(ROLES)), audit_logs),)
