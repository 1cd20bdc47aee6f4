"""``Org``: the generated objects of one org, indexed for the server, and their mutations."""

from __future__ import annotations

import json
import random
import threading
import time

from kustomer_api.seed.builder import Builder
from kustomer_api.seed.shapes import iso
from kustomer_api.seed.spec import MUTABLE_STREAMS, STORES, OrgSpec


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
        """Deep copies of every object of a stream (deleted, deactivated and old ones too)."""
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
        """Set ``updatedAt`` to now (strictly increasing, ms) and increment ``rev``."""
        with self.lock:
            for obj in objs:
                self._last_bump_ms = max(int(time.time() * 1000), self._last_bump_ms + 1)
                attrs = obj["attributes"]
                attrs["updatedAt"] = iso(self._last_bump_ms)
                attrs["rev"] = attrs.get("rev", 0) + 1
                self._encoded.pop(obj["id"], None)
            if objs:
                self.generation += 1
            return [o["id"] for o in objs]

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
