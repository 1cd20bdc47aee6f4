"""The builder every seed module works with: one seeded ``random.Random`` and the org's clock,
ids and shared references, and the steps that generate the org in order.

Everything comes from one ``random.Random(spec.seed)``, so a spec with ``now`` set always gives the
same ids, timestamps and contents, and the order of ``STEPS`` is part of the data: a new entity's
step goes last, so that every org built before it stays the same.
"""

from __future__ import annotations

import random
import time
from typing import TYPE_CHECKING

from kustomer_api.seed import (
    audit_log,
    conversations,
    crm,
    custom_data,
    directory,
    messages,
    org_settings,
    recent,
    routing,
)
from kustomer_api.seed.shapes import iso, rel
from kustomer_api.seed.spec import (
    DAY_MS,
    MINUTE_MS,
    SEARCH_HORIZON_DAYS,
    SECOND_MS,
    STORES,
    OrgSpec,
    check,
)

if TYPE_CHECKING:
    from kustomer_api.seed.audit_log import Entry

_FIRST = [
    "Ava",
    "Liam",
    "Noah",
    "Emma",
    "Mia",
    "Lucas",
    "Zoe",
    "Ethan",
    "Chloe",
    "Mateo",
    "Aria",
    "Leo",
    "Nora",
    "Omar",
    "Ivy",
    "Hugo",
    "Lena",
    "Ravi",
    "Sofia",
    "Yuki",
    "Theo",
    "Maya",
    "Felix",
    "Iris",
    "Jonas",
    "Elena",
    "Marco",
    "Hana",
    "Oscar",
    "Lucia",
]
_LAST = [
    "Smith",
    "Garcia",
    "Chen",
    "Patel",
    "Novak",
    "Silva",
    "Kim",
    "Rossi",
    "Muller",
    "Dubois",
    "Khan",
    "Larsen",
    "Tanaka",
    "Okafor",
    "Nguyen",
    "Costa",
    "Weber",
    "Jensen",
    "Moreau",
    "Haddad",
]

STEPS = (
    directory.users,
    directory.teams,
    directory.tags,
    routing.queues,
    routing.statuses,
    directory.assistants,
    conversations.history,
    routing.work_sessions,
    messages.tie_messages,
    # Issue 15's objects, each from a random stream of its own (the org above is unchanged).
    org_settings.settings,
    crm.crm,
    # After issue 15's objects, which use none of its draws: a busy recent past leaves them
    # those of the same org without it (so no notes, KObjects or links name its objects).
    recent.busy_days,
    # The audit log of the org's last days (issue 22), from a random stream of its own; before
    # the custom attributes, which change no timestamp, status or id it reads.
    audit_log.audit_log,
    # Typed custom attributes on every object above, from random streams of their own too.
    custom_data.custom_data,
)


class Builder:
    """The state every step reads and extends: ``streams`` gathers each stream's objects."""

    # References the steps leave for later ones.
    api_user_id: str  # the API key's machine user (users)
    humans: list[str]  # active agents (userType user) that have logged in (users)
    human_created: dict[str, int]  # creation ms of every agent (users)
    deactivated: dict[str, int]  # deactivated agents and when (users)
    machines: list[str]  # machine users (users)
    team_ids: list[str]  # live teams (teams)
    team_of: dict[str, str]  # an agent's first live team (teams)
    tag_ids: list[str]  # (tags)
    queue_ids: list[str]  # (queues)
    status_ids: dict[str, list[str]]  # routing statuses by status type (statuses)
    assistant_ids: list[str]  # (assistants)
    klass_ids: dict[str, str]  # Klass name -> id (org_settings)

    def __init__(self, spec: OrgSpec) -> None:
        check(spec)
        self.spec = spec
        self.rng = random.Random(spec.seed)
        now = spec.now if spec.now is not None else time.time()
        self.now_ms = int(now * 1000)
        self.start_ms = self.now_ms - spec.history_days * DAY_MS
        self.latest_ms = self.now_ms - MINUTE_MS
        self.end_ms = self.now_ms - SECOND_MS
        # Tied timestamps sit mid-way through the searchable part of the history.
        searchable_ms = min(spec.history_days, SEARCH_HORIZON_DAYS) * DAY_MS
        self.conversation_tie_ms = self.now_ms - searchable_ms // 2 + 123
        self.message_tie_ms = self.now_ms - searchable_ms * 2 // 5 + 456
        # With old_fraction: old conversations end a day before the horizon, new ones start a
        # day after it, so neither crosses it while a test runs.
        horizon_ms = self.now_ms - SEARCH_HORIZON_DAYS * DAY_MS
        self.old_bound_ms = horizon_ms - DAY_MS
        self.new_from_ms = horizon_ms + DAY_MS
        self.old_ids: set[str] = set()
        self.ids: set[str] = set()
        self.org_id = self.oid(self.start_ms - 400 * DAY_MS)
        self.brand_id = self.oid(self.start_ms - 399 * DAY_MS)
        self.streams: dict[str, list[dict]] = {name: [] for name in STORES}
        # The audit log in id order, and the ids of objects deleted for good before now by
        # stream (audit_log).
        self.audit: list[Entry] = []
        self.hard_deleted: dict[str, list[str]] = {}
        # Counters that make rare shapes appear at a fixed rate instead of by chance.
        self.out_without_inbound = 0
        self.voice_messages = 0
        self.first_responses = 0
        self.summaries = 0

    def run(self) -> None:
        for step in STEPS:
            step(self)

    def tie_at(self) -> dict[str, str | None]:
        """The tied ``updatedAt`` of conversations and messages (None without ties)."""
        return {
            "conversations": iso(self.conversation_tie_ms) if self.spec.tie_size else None,
            "messages": iso(self.message_tie_ms) if self.spec.tie_size else None,
        }

    def oid(self, ms: int) -> str:
        """Mongo ObjectId: 4 bytes of creation second, 8 seeded random bytes; unique."""
        while True:
            value = f"{(ms // 1000) & 0xFFFFFFFF:08x}{self.rng.getrandbits(64):016x}"
            if value not in self.ids:
                self.ids.add(value)
                return value

    def between(self, lo: int, hi: int) -> int:
        return lo if hi <= lo else self.rng.randint(lo, hi)

    def early(self, fraction: float) -> int:
        """A creation time in the first ``fraction`` of the history (reference data)."""
        return self.between(
            self.start_ms, self.start_ms + int((self.latest_ms - self.start_ms) * fraction)
        )

    def cover(self, n: int, choices: tuple) -> list:
        """``n`` weighted picks in which every choice appears at least once (when n allows)."""
        values = [v for v, _ in choices]
        out = values[:n]
        out += self.rng.choices(values, weights=[w for _, w in choices], k=max(0, n - len(out)))
        self.rng.shuffle(out)
        return out

    def audit_relationships(self, *, deleted: bool) -> dict:
        """Who created, changed and deleted a directory object: the API's machine user."""
        rels = {
            "createdBy": rel("user", self.api_user_id, "users"),
            "modifiedBy": rel("user", self.api_user_id, "users"),
        }
        if deleted:
            rels["deletedBy"] = rel("user", self.api_user_id, "users")
        return rels

    def base(self, type_: str, obj_id: str, path: str, attrs: dict, rels: dict) -> dict:
        return {
            "type": type_,
            "id": obj_id,
            "attributes": attrs,
            "relationships": {"org": rel("org", self.org_id, "orgs"), **rels},
            "links": {"self": f"/{path}/{obj_id}"},
        }

    def person(self) -> tuple[str, str]:
        first, last = self.rng.choice(_FIRST), self.rng.choice(_LAST)
        return first, last
