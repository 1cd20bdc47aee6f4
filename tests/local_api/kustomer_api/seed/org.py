"""``Org``: the generated objects of one org, indexed for the server, and their mutations,
each written to the audit log (``seed.audit_log``)."""

from __future__ import annotations

import json
import random
import threading
import time

from kustomer_api.seed.audit_log import DELETABLE_STREAMS, Entry, change, entry_id, object_type
from kustomer_api.seed.builder import Builder
from kustomer_api.seed.shapes import iso
from kustomer_api.seed.spec import MUTABLE_STREAMS, STORES, OrgSpec

# A conversation's next status on each change-status (any other status is reopened).
_NEXT_STATUS = {"open": "snoozed", "snoozed": "done", "done": "open"}
# Share of the server's own updates (mutate, mid-search edits) logged as the system's.
_SYSTEM_SHARE = 0.5


class Org:
    """All objects of one org, indexed for the server, with a per-object JSON bytes cache.

    Readers that walk the live lists (the server) hold ``lock``; mutation happens under it too.
    """

    def __init__(
        self,
        spec: OrgSpec,
        now_ms: int,
        streams: dict[str, list[dict]],
        *,
        org_id: str,
        api_user_id: str,
        tie_at: dict[str, str | None],
        audit: list[Entry] | None = None,
        hard_deleted: dict[str, list[str]] | None = None,
    ) -> None:
        self.spec = spec
        self.now_ms = now_ms
        self.org_id = org_id
        self.api_user_id = api_user_id
        self.tie_at = tie_at
        self.lock = threading.RLock()
        # Bumped on every mutation so the server can drop cached search results.
        self.generation = 0
        self._streams = {name: sorted(streams[name], key=_id) for name in STORES}
        self._by_id = {o["id"]: o for name in STORES for o in self._streams[name]}
        self.messages_by_conversation = _group(self._streams["messages"], "conversation")
        self.events_by_conversation = _group(self._streams["conversation_events"], "conversation")
        self.attachments_by_message = _group(self._streams["attachments"], "message")
        self._encoded: dict[str, bytes] = {}
        self._mutation_rng = random.Random(spec.seed * 104_729 + 1)
        # Every seeded timestamp is before now_ms, so bumps start after it.
        self._last_bump_ms = now_ms
        # The audit log in id order, which is time order; live entries are appended, each at
        # a millisecond of its own after every seeded one.
        self.audit: list[Entry] = list(audit or [])
        self._deleted = {
            name: list((hard_deleted or {}).get(name, ())) for name in DELETABLE_STREAMS
        }
        # Draws of the audit log (who, which objects to delete): mutate's picks stay the same.
        self._audit_rng = random.Random(f"{spec.seed}:audit-live")

    @classmethod
    def build(cls, spec: OrgSpec) -> Org:
        builder = Builder(spec)
        builder.run()
        return cls(
            spec,
            builder.now_ms,
            builder.streams,
            org_id=builder.org_id,
            api_user_id=builder.api_user_id,
            tie_at=builder.tie_at(),
            audit=builder.audit,
            hard_deleted=builder.hard_deleted,
        )

    def objects(self, stream: str) -> list[dict]:
        """Live objects of a stream in id order (hold ``lock`` while using them)."""
        if stream not in self._streams:
            msg = f"unknown stream {stream!r}; expected one of {', '.join(STORES)}"
            raise KeyError(msg)
        return self._streams[stream]

    def get(self, obj_id: str) -> dict | None:
        return self._by_id.get(obj_id)

    def encoded(self, obj: dict) -> bytes:
        """Compact JSON of one object, serialised once and reused until it mutates."""
        data = self._encoded.get(obj["id"])
        if data is None:
            data = json.dumps(obj, separators=(",", ":")).encode()
            self._encoded[obj["id"]] = data
        return data

    def truth(self, stream: str) -> list[dict]:
        """Deep copies of every object of a stream (soft-deleted, deactivated and old ones too;
        not those deleted for good)."""
        with self.lock:
            objs = self.objects(stream)
            return json.loads(b"[" + b",".join(self.encoded(o) for o in objs) + b"]")

    def truth_index(self, stream: str) -> list[dict]:
        with self.lock:
            return [
                {"id": o["id"], "updatedAt": o["attributes"].get("updatedAt")}
                for o in self.objects(stream)
            ]

    def mutate(self, stream: str, count: int) -> list[str]:
        """Bump ``updatedAt``/``rev`` of ``count`` random non-deleted records; returns their ids."""
        if stream not in MUTABLE_STREAMS:
            msg = f"cannot mutate {stream!r}; expected one of {', '.join(MUTABLE_STREAMS)}"
            raise ValueError(msg)
        with self.lock:
            live = [o for o in self._streams[stream] if not o["attributes"].get("deleted")]
            chosen = self._mutation_rng.sample(live, min(count, len(live)))
            return self.bump(chosen)

    def bump(self, objs: list[dict]) -> list[str]:
        """Set ``updatedAt`` to now (strictly increasing, ms) and increment ``rev``; each
        change is an update entry of the audit log, by an agent or the system."""
        with self.lock:
            for obj in objs:
                by_system = self._audit_rng.random() < _SYSTEM_SHARE
                self._bump(obj, {}, None if by_system else self._agent())
            if objs:
                self.generation += 1
            return [o["id"] for o in objs]

    def change_status(self, count: int) -> list[str]:
        """Move ``count`` random live conversations to their next status (open, snoozed, done,
        open...), bumped, each an update entry with ``changes.attributes.status``.

        Only ``status``, ``updatedAt`` and ``rev`` change (not ``snooze`` or the done summaries).
        """
        with self.lock:
            live = [o for o in self._streams["conversations"] if not o["attributes"].get("deleted")]
            chosen = self._audit_rng.sample(live, min(count, len(live)))
            for conversation in chosen:
                attrs = conversation["attributes"]
                before = attrs.get("status")
                attrs["status"] = _NEXT_STATUS.get(before or "", "open")
                self._bump(conversation, {"status": change(before, attrs["status"])}, self._agent())
            if chosen:
                self.generation += 1
            return [o["id"] for o in chosen]

    def delete(self, stream: str, count: int = 0, ids: list[str] | None = None) -> list[str]:
        """Delete ``ids`` (or ``count`` random objects) of ``stream`` for good: gone from every
        route, each a delete entry of the audit log by an agent. Returns the ids.

        What goes with an object is [?] in Kustomer; here a conversation takes its messages
        (each with its own delete entry), events and their files; a message its files; a Klass
        its KObjects (entries too) and metadata; an SLA its versions; a schedule its holidays.
        Other objects that name a deleted one keep naming it.
        """
        if stream not in DELETABLE_STREAMS:
            msg = f"cannot delete {stream!r}; expected one of {', '.join(DELETABLE_STREAMS)}"
            raise ValueError(msg)
        with self.lock:
            objs = self._streams[stream]
            if ids is None:
                chosen = self._audit_rng.sample(objs, min(count, len(objs)))
            else:
                present = {o["id"]: o for o in objs}
                unknown = sorted(set(ids) - set(present))
                if unknown:
                    msg = f"no {stream} with ids {', '.join(unknown)}"
                    raise KeyError(msg)
                chosen = [present[i] for i in dict.fromkeys(ids)]
            doomed: dict[str, set[str]] = {}
            user = self._agent()
            for obj in chosen:
                self._doom(stream, obj, user, doomed)
            self._purge(doomed)
            if chosen:
                self.generation += 1
            return [o["id"] for o in chosen]

    def deleted_ids(self, stream: str) -> list[str]:
        """Ids of the objects of ``stream`` deleted for good, seeded ones first."""
        if stream not in DELETABLE_STREAMS:
            msg = f"unknown stream {stream!r}; expected one of {', '.join(DELETABLE_STREAMS)}"
            raise KeyError(msg)
        with self.lock:
            return list(self._deleted[stream])

    def _tick(self) -> int:
        """Now in ms, strictly after every earlier tick (and every seeded timestamp)."""
        self._last_bump_ms = max(int(time.time() * 1000), self._last_bump_ms + 1)
        return self._last_bump_ms

    def _agent(self) -> str:
        """A live agent that has logged in (the API's machine user when there is none)."""
        agents = [
            u["id"]
            for u in self._streams["users"]
            if u["attributes"]["userType"] == "user"
            and not u["attributes"]["deleted"]
            and u["attributes"]["firstLoginAt"]
        ]
        return self._audit_rng.choice(agents) if agents else self.api_user_id

    def _log(self, at: int, verb: str, obj: dict, changes: dict, user_id: str | None) -> None:
        klass = (obj["relationships"].get("klass") or {}).get("data")
        klass_obj = self._by_id.get(klass["id"]) if klass else None
        self.audit.append(
            Entry(
                # Unique without a check: no two entries share a tick.
                entry_id(at, self._audit_rng),
                at,
                verb,
                object_type(obj),
                obj["id"],
                user_id,
                {"attributes": changes},
                klass_obj["attributes"]["name"] if klass_obj else None,
            )
        )

    def _bump(self, obj: dict, changes: dict, user_id: str | None) -> None:
        at = self._tick()
        attrs = obj["attributes"]
        before = attrs.get("updatedAt")
        attrs["updatedAt"] = iso(at)
        attrs["rev"] = attrs.get("rev", 0) + 1
        self._encoded.pop(obj["id"], None)
        self._log(at, "update", obj, {**changes, "updatedAt": change(before, iso(at))}, user_id)

    def _doom(self, stream: str, obj: dict, user_id: str, doomed: dict[str, set[str]]) -> None:
        """Log the deletion of ``obj`` and of what goes with it, and mark them for ``_purge``."""
        if obj["id"] in doomed.setdefault(stream, set()):
            return
        doomed[stream].add(obj["id"])
        if stream in DELETABLE_STREAMS:
            self._log(self._tick(), "delete", obj, {}, user_id)
            self._deleted[stream].append(obj["id"])
        for child_stream, children in self._dependents(stream, obj):
            for child in children:
                self._doom(child_stream, child, user_id, doomed)

    def _dependents(self, stream: str, obj: dict) -> list[tuple[str, list[dict]]]:
        oid = obj["id"]
        if stream == "conversations":
            return [
                ("messages", self.messages_by_conversation.get(oid, [])),
                ("conversation_events", self.events_by_conversation.get(oid, [])),
            ]
        if stream == "messages":
            return [("attachments", self.attachments_by_message.get(oid, []))]
        if stream == "klasses":
            name = obj["attributes"]["name"]
            kobjects = [
                o
                for o in self._streams["kobjects"]
                if o["relationships"]["klass"]["data"]["id"] == oid
            ]
            metadata = self._by_id.get(f"kobject.{name}")
            return [("kobjects", kobjects), ("metadata", [metadata] if metadata else [])]
        named = {
            "slas": ("sla_versions", "versions"),
            "business_schedules": ("holidays", "holidays"),
        }
        if stream in named:
            child_stream, relation = named[stream]
            refs = (obj["relationships"].get(relation) or {}).get("data") or []
            return [(child_stream, [self._by_id[r["id"]] for r in refs if r["id"] in self._by_id])]
        return []

    def _purge(self, doomed: dict[str, set[str]]) -> None:
        """Remove the doomed objects from their streams, the id index and the groups."""
        groups = {
            "messages": self.messages_by_conversation,
            "conversation_events": self.events_by_conversation,
            "attachments": self.attachments_by_message,
        }
        for stream, gone in doomed.items():
            self._streams[stream] = [o for o in self._streams[stream] if o["id"] not in gone]
            for oid in gone:
                self._by_id.pop(oid, None)
                self._encoded.pop(oid, None)
            for key, items in groups.get(stream, {}).items():
                if any(o["id"] in gone for o in items):
                    groups[stream][key] = [o for o in items if o["id"] not in gone]

    def sample(self, objs: list[dict], k: int) -> list[dict]:
        with self.lock:
            return self._mutation_rng.sample(objs, min(k, len(objs)))


def _id(obj: dict) -> str:
    return obj["id"]


def _group(objs: list[dict], relation: str) -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = {}
    for obj in objs:
        groups.setdefault(obj["relationships"][relation]["data"]["id"], []).append(obj)
    for items in groups.values():
        items.sort(key=lambda o: (o["attributes"]["createdAt"], o["id"]))
    return groups
