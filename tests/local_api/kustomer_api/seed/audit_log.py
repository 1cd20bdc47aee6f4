"""The audit log of issue 22: its entries, and those of the org's last ``AUDIT_DAYS`` days.

Kustomer documents ``GET /v1/audit-logs``: entries of type ``audit_log`` naming the event
(``kustomer.conversation.update``), its verb (create, update, delete), the object, who did it
(``userType`` user, or system with a null ``userId``), the changed fields, ``createdAt`` and
``expiresAt``. Which objects and changes it records is [?]: here the creation and last update
of every conversation, message, customer, company, note and KObject of the window, every
status change of a conversation (the last one ends at its current status), a few objects
deleted for good in the window (``Builder.hard_deleted``: ids no route serves) and, live, every
change the server makes (``Org.bump``, ``Org.delete``, ``Org.change_status``).

An entry id is a Mongo ObjectId whose bytes after the creation second hold its millisecond,
so that id order is (``createdAt``, id) order: a cursor or an ``after`` id can be compared
without looking it up, even once its entry has expired. A late step of the build with a
random stream of its own: every object stays what it was.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kustomer_api.seed.shapes import iso
from kustomer_api.seed.side import Side, ms
from kustomer_api.seed.spec import DAY_MS, SECOND_MS

if TYPE_CHECKING:
    from kustomer_api.seed.builder import Builder

AUDIT_DAYS = 120
# Stream -> objectType of the seeded entries: Kustomer's singular names.
SEEDED = {
    "conversations": "conversation",
    "messages": "message",
    "customers": "customer",
    "companies": "company",
    "notes": "note",
    "kobjects": "kobject",
}
# What ``Org.delete`` removes for good: the streams above and the directory and settings lists.
DELETABLE_STREAMS = (
    *SEEDED,
    "users",
    "teams",
    "tags",
    "queues",
    "routing_statuses",
    "assistants",
    "brands",
    "shortcuts",
    "slas",
    "business_schedules",
    "klasses",
)
_SYSTEM_SHARE = 0.25
_PHANTOMS_PER_STREAM = 3


@dataclass(frozen=True)
class Entry:
    """One audit log entry; ``handlers.audit_logs`` renders it under the current switches."""

    id: str
    at_ms: int
    verb: str  # create, update or delete
    object_type: str
    object_id: str
    user_id: str | None  # None: done by the system
    changes: dict  # {"attributes": {field: {"before": X, "after": Y}}}
    klass: str | None = None  # a KObject's Klass name


def entry_id(at_ms: int, rng: random.Random) -> str:
    """Creation second, then its millisecond (3 hex digits), then 52 random bits."""
    return f"{(at_ms // 1000) & 0xFFFFFFFF:08x}{at_ms % 1000:03x}{rng.getrandbits(52):013x}"


def object_type(obj: dict) -> str:
    """An object's objectType: its type in kebab-case, as in Kustomer's event names
    (``kustomer.work-session.update``); a routing status (type ``status``) is
    ``routing-status``."""
    kind = obj["type"]
    return "routing-status" if kind == "status" else kind.replace("_", "-")


def change(before: object, after: object) -> dict:
    return {"before": before, "after": after}


def audit_log(b: Builder) -> None:
    log = _Log(b, Side(b, "audit"))
    for stream in SEEDED:
        for obj in b.streams[stream]:
            log.history(obj)
    log.phantoms()
    b.audit = sorted(log.entries, key=lambda e: e.id)


class _Log:
    def __init__(self, b: Builder, side: Side) -> None:
        self.b = b
        self.side = side
        self.rng = side.rng
        self.start = b.now_ms - AUDIT_DAYS * DAY_MS
        self.entries: list[Entry] = []
        self.taken: set[str] = set()
        self.humans = set(b.humans)
        self.klasses = {k["id"]: k["attributes"]["name"] for k in b.streams["klasses"]}

    def add(self, at: int, verb: str, obj: dict, user: str | None, changes: dict) -> None:
        while True:
            eid = entry_id(at, self.rng)
            if eid not in self.taken:
                self.taken.add(eid)
                break
        klass = (obj["relationships"].get("klass") or {}).get("data")
        self.entries.append(
            Entry(
                eid,
                at,
                verb,
                object_type(obj),
                obj["id"],
                user,
                {"attributes": changes},
                self.klasses[klass["id"]] if klass else None,
            )
        )

    def actor(self, obj: dict) -> str | None:
        """Some changes are the system's; others their object's last editor's, or an agent's."""
        if self.rng.random() < _SYSTEM_SHARE:
            return None
        by = (obj["relationships"].get("modifiedBy") or {}).get("data")
        return by["id"] if by and by["id"] in self.humans else self.rng.choice(self.b.humans)

    def history(self, obj: dict) -> None:
        attrs = obj["attributes"]
        created = ms(attrs["createdAt"])
        updated = max(created, ms(attrs["updatedAt"]))
        if updated < self.start:
            return
        status = attrs.get("status") if obj["type"] == "conversation" else None
        path = [status] if status else []
        if created >= self.start:
            if status:
                path = self._status_path(status, updated - created)
            changes = {"createdAt": change(None, attrs["createdAt"])}
            if path:
                changes["status"] = change(None, path[0])
            inbound = obj["type"] == "message" and attrs.get("direction") == "in"
            self.add(created, "create", obj, None if inbound else self.actor(obj), changes)
        elif status and self.rng.random() < 0.5:
            # Changed to its current status within the window, from another.
            other = self.rng.choice(("done", "snoozed")) if status == "open" else "open"
            path = [other, status]
        if updated - created < SECOND_MS and len(path) < 2:
            return  # no update after its creation worth a separate entry
        steps = len(path) - 1
        times = sorted(self.rng.sample(range(created + 1, updated), max(0, steps - 1)))
        times.append(updated)
        previous = created
        for n, at in enumerate(times):
            changes = {}
            if n < steps:
                changes["status"] = change(path[n], path[n + 1])
            changes["updatedAt"] = change(iso(previous), iso(at))
            if at == updated and attrs.get("deleted"):
                changes["deleted"] = change(False, True)  # a soft delete (``deleted: true``)
            self.add(at, "update", obj, self.actor(obj), changes)
            previous = at

    def _status_path(self, status: str, room_ms: int) -> list[str]:
        """The statuses a conversation took since its creation (open), ending at ``status``:
        sometimes detours (snoozed or done, then reopened), each change at a ms of its own."""
        path = ["open"]
        for _ in range(self.rng.choice((0, 0, 1, 2))):
            path += [self.rng.choice(("snoozed", "done")), "open"]
        if status != "open":
            path.append(status)
        if len(path) - 1 > room_ms:
            return [status]  # created with it: no room for changes after the creation
        return path

    def phantoms(self) -> None:
        """A few objects of each stream created and then deleted for good in the window."""
        b, side = self.b, self.side
        klass_ids = sorted(self.klasses)
        for stream, kind in SEEDED.items():
            for _ in range(_PHANTOMS_PER_STREAM):
                created = side.between(self.start - 30 * DAY_MS, b.latest_ms - DAY_MS)
                gone = side.between(max(created + SECOND_MS, self.start), b.latest_ms)
                rels = {}
                if kind == "kobject":
                    rels["klass"] = {"data": {"type": "klass", "id": self.rng.choice(klass_ids)}}
                ghost_id = side.oid(created)
                ghost = {"id": ghost_id, "type": kind, "relationships": rels}
                if created >= self.start:
                    changes = {"createdAt": change(None, iso(created))}
                    self.add(created, "create", ghost, self.actor(ghost), changes)
                self.add(gone, "delete", ghost, self.rng.choice(b.humans), {})
                b.hard_deleted.setdefault(stream, []).append(ghost_id)
