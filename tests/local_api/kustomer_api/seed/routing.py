"""Routing objects: queues, routing statuses and agents' work sessions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kustomer_api.seed.shapes import iso, rel
from kustomer_api.seed.side import Side
from kustomer_api.seed.spec import DAY_MS, HOUR_MS, MINUTE_MS

if TYPE_CHECKING:
    from kustomer_api.seed.builder import Builder

_QUEUES = (
    ("DEFAULT_QUEUE", "Default Queue", True, 0, 1),
    ("chat", "Chat Queue", False, 3, 1),
    ("email", "Email Queue", False, 1, 1),
    ("voice", "Voice Queue", False, 5, 3),
    ("vip", "VIP Queue", False, 4, 1),
    ("social", "Social Queue", False, 2, 1),
)
_ROUTING_STATUSES = (
    ("Available", "available", True),
    ("Busy", "busy", True),
    ("Lunch", "unavailable", False),
    ("Coaching", "unavailable", False),
    ("Break", "unavailable", False),
    ("Meeting", "unavailable", False),
    ("Offline", "offline", False),
)


def queues(b: Builder) -> None:
    queues = []
    b.queue_ids = []
    for name, display, system, priority, item_size in _QUEUES:
        created = b.early(0.1)
        qid = b.oid(created)
        updated = b.between(created, b.end_ms)
        b.queue_ids.append(qid)
        attrs = {
            "name": name,
            "displayName": display,
            "description": None if system else f"{display} for incoming work",
            "system": system,
            "priority": priority,
            "itemSize": item_size,
            "restrictTransfersByUsers": not system and priority > 3,
            "createdAt": iso(created),
            "updatedAt": iso(updated),
            "modifiedAt": iso(updated),
        }
        rels = {"modifiedBy": rel("user", b.api_user_id, "users")}
        queues.append(b.base("queue", qid, "v1/routing/queues", attrs, rels))
    b.streams["queues"] += queues


def statuses(b: Builder) -> None:
    statuses = []
    b.status_ids = {}
    for name, status_type, system in _ROUTING_STATUSES:
        created = b.early(0.1)
        sid = b.oid(created)
        updated = b.between(created, b.end_ms)
        b.status_ids.setdefault(status_type, []).append(sid)
        attrs = {
            "name": name,
            "statusType": status_type,
            "system": system,
            "createdAt": iso(created),
            "updatedAt": iso(updated),
            "modifiedAt": iso(updated),
        }
        # Type literal as in work-session relationships ("type": "status"), list type is [?].
        statuses.append(b.base("status", sid, "v1/routing/statuses", attrs, {}))
    b.streams["routing_statuses"] += statuses


def work_sessions(b: Builder) -> None:
    sessions = []
    for uid, deleted_at in [*((u, None) for u in b.humans), *b.deactivated.items()]:
        first_day = max(b.human_created[uid], b.now_ms - 30 * DAY_MS)
        last_day = min(deleted_at or b.now_ms, b.now_ms) - DAY_MS
        if last_day <= first_day:
            continue
        for _ in range(b.rng.randint(3, 8)):
            signed_in = b.between(first_day, last_day)
            signed_out = signed_in + b.between(4 * HOUR_MS, 9 * HOUR_MS)
            sessions.append(work_session(b, uid, signed_in, min(signed_out, b.end_ms)))
    active_users = [u for u in b.humans if b.rng.random() < 0.6]
    kinds = b.cover(len(active_users), (("available", 5), ("busy", 2), ("unavailable", 3)))
    for uid, kind in zip(active_users, kinds, strict=True):
        signed_in = b.end_ms - b.between(10 * MINUTE_MS, 8 * HOUR_MS)
        sessions.append(work_session(b, uid, signed_in, None, kind))
    b.streams["work_sessions"] += sessions
    if b.spec.work_session_days:
        daily_shifts(b, Side(b, "shifts"))


def daily_shifts(b: Builder, side: Side) -> None:
    """``work_session_days``: one signed-out session a day per agent over that many days (up
    to their deactivation), drawn from a random stream of their own so that the rest of the
    org stays the same."""
    sessions = []
    for uid, deleted_at in [*((u, None) for u in b.humans), *b.deactivated.items()]:
        first_day = max(b.human_created[uid], b.now_ms - b.spec.work_session_days * DAY_MS)
        for day in range(first_day, (deleted_at or b.now_ms) - DAY_MS, DAY_MS):
            signed_in = day + side.between(0, 4 * HOUR_MS)
            signed_out = signed_in + side.between(4 * HOUR_MS, 9 * HOUR_MS)
            sessions.append(work_session(b, uid, signed_in, signed_out, draw=side))
    b.streams["work_sessions"] += sessions


def work_session(
    b: Builder,
    uid: str,
    signed_in: int,
    signed_out: int | None,
    status_type: str = "offline",
    status_id: str | None = None,
    draw: Builder | Side | None = None,
) -> dict:
    """One work session of ``uid``; its random parts come from ``draw`` (the builder by default)."""
    draw = draw or b
    rng = draw.rng
    if status_id is None:
        status_id = rng.choice(b.status_ids[status_type])
    end = signed_out if signed_out is not None else b.end_ms
    span = end - signed_in
    available_ms = int(span * rng.uniform(0.5, 0.9))
    status_at = draw.between(signed_in, end)
    limit = rng.choice([2, 3, 4])
    remaining = rng.randint(0, limit)
    handled = rng.randint(0, 40)
    by_status = {
        b.status_ids["available"][0]: {
            "statusAt": iso(draw.between(signed_in, end)),
            "businessTime": available_ms,
            "time": available_ms,
            "statusSelectedCount": rng.randint(1, 4),
        },
        status_id: {"statusAt": iso(status_at), "statusSelectedCount": 1},
    }
    team = b.team_of.get(uid)
    queues = rng.sample(b.queue_ids, rng.randint(1, 3))
    attrs = {
        "active": signed_out is None,
        "routable": signed_out is None and status_type == "available",
        "statusType": status_type,
        "statusAt": iso(status_at),
        "workItemCount": rng.randint(0, limit),
        "pausedWorkItemCount": rng.randint(0, 2),
        "signedInAt": iso(signed_in),
        "signedOutAt": iso(signed_out) if signed_out is not None else None,
        "capacity": [{"priority": 1, "limit": limit, "remaining": remaining}],
        "capacityRemaining": remaining,
        "totalCapacity": limit,
        "handledItemCount": handled,
        "handledConversationCount": max(0, handled - rng.randint(0, 2)),
        "totalAvailable": {
            "statusAt": iso(status_at),
            "businessTime": available_ms,
            "time": available_ms,
        },
        "totalUnavailable": {"businessTime": span - available_ms, "time": span - available_ms},
        "totalTimeByStatus": by_status,
        "capacityStatus": rng.choice(["idle", "not-at-capacity", "at-capacity"]),
        "lastAssignedItemAt": iso(draw.between(signed_in, end)) if handled else None,
        "createdAt": iso(signed_in),
        "updatedAt": iso(end if signed_out is not None else status_at),
        "modifiedAt": iso(status_at),
        "rev": rng.randint(5, 120),
    }
    rels = {
        "user": rel("user", uid, "users"),
        "status": rel("status", status_id, "routing/statuses"),
        "queues": {"data": [{"type": "queue", "id": q} for q in queues]},
        "modifiedBy": {"data": {"type": "user", "id": uid}},
    }
    if team:
        rels["team"] = rel("team", team, "teams")
    wid = draw.oid(signed_in)
    return b.base("work_session", wid, "v1/routing/work-sessions", attrs, rels)
