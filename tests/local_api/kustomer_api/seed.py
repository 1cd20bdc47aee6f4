"""Deterministic generator of a Kustomer org: the objects the local API serves.

Everything comes from one ``random.Random(spec.seed)``, so a spec with ``now`` set always gives the
same ids, timestamps and contents. Shapes follow the real payloads in
``shared/reference/kustomer-api.md`` §4-5.
"""

from __future__ import annotations

import json
import random
import threading
import time
from dataclasses import dataclass, field

SECOND_MS = 1_000
MINUTE_MS = 60 * SECOND_MS
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
# Search only sees objects updated within this window (reference §4.1 "Data horizon").
SEARCH_HORIZON_DAYS = 730

STREAMS = (
    "conversations",
    "messages",
    "conversation_events",
    "customers",
    "work_sessions",
    "routing_statuses",
    "queues",
    "assistants",
    "tags",
    "teams",
    "users",
)
MUTABLE_STREAMS = ("conversations", "messages", "customers")
KNOWN_CHANNELS = (
    "email",
    "chat",
    "sms",
    "voice",
    "facebook",
    "twitter-dm",
    "twitter-tweet",
    "instagram",
    "whatsapp",
)
# ``form`` and ``video`` are channels a tap has no mapping for.
_PRIMARY_CHANNELS = (
    ("email", 28),
    ("chat", 24),
    ("sms", 10),
    ("voice", 12),
    ("facebook", 4),
    ("twitter-dm", 3),
    ("twitter-tweet", 2),
    ("instagram", 4),
    ("whatsapp", 6),
    ("form", 2),
    ("video", 1),
)
_APPS = {
    "email": "postmark",
    "chat": "chat",
    "sms": "twilio",
    "voice": "kustomer-voice",
    "facebook": "facebook",
    "twitter-dm": "twitter",
    "twitter-tweet": "twitter",
    "instagram": "instagram",
    "whatsapp": "whatsapp",
    "form": "forms",
    "video": "video",
}
# Mean gap between two messages of a conversation, per channel.
_GAP_MS = {"chat": 90 * SECOND_MS, "sms": 10 * MINUTE_MS, "voice": 20 * MINUTE_MS}
_DEFAULT_GAP_MS = 2 * HOUR_MS
_EMAIL_GAP_MS = 8 * HOUR_MS
# (direction, firstResponse scenario) pairs, so that every combination a tap must handle exists.
# "replied": a response-out message exists, "none": it does not; the part after ":" is the
# firstResponse shape. "out-only" conversations have outbound messages only (no firstMessageIn).
_SCENARIOS = (
    (("in", "full"), 53),
    (("out", "full"), 9),
    (("in", "replied:absent"), 3),
    (("in", "replied:null"), 3),
    (("in", "replied:{}"), 3),
    (("in", "replied:arrays"), 5),
    (("out", "replied:arrays"), 1),
    (("in", "none:absent"), 3),
    (("in", "none:null"), 3),
    (("in", "none:{}"), 3),
    (("in", "none:arrays"), 10),
    (("out", "none:arrays"), 2),
    (("out-only", "none:arrays"), 1),
    (("out-only", "none:absent"), 1),
)
_EMPTY_SHAPES = ("absent", "null", "{}", "arrays")
_STATUSES = (("open", 30), ("snoozed", 8), ("done", 56), (None, 3), ("pending", 3))
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
_SUBJECTS = (
    "Where is my order",
    "Refund request",
    "Damaged item received",
    "Change my shipping address",
    "Cancel subscription",
    "Billing question",
    "Promo code not working",
    "Return label needed",
    "Account locked",
    "Wrong size delivered",
)
_CUSTOMER_LINES = (
    "Hello, I have a question. Can you help me?",
    "My order has not arrived yet and tracking shows nothing.",
    "I would like a refund for the damaged item please.",
    "Can you change the delivery address on my order?",
    "The promo code is rejected at checkout.",
    "Please cancel my subscription before the next billing date.",
    "I was charged twice this month.",
    "Thanks, that solved it!",
)
_AGENT_LINES = (
    "Thanks for reaching out! Let me look into this for you.",
    "I have issued a refund, it should appear within 5 business days.",
    "Your order is on its way, here is the tracking link.",
    "I updated the address on your order.",
    "Sorry about that, I applied the discount manually.",
    "Your subscription is cancelled. Anything else I can help with?",
)
_TAG_NAMES = [
    "refund",
    "vip",
    "shipping",
    "billing",
    "bug",
    "feedback",
    "urgent",
    "escalated",
    "returns",
    "warranty",
    "damaged",
    "promo",
    "subscription",
    "account-access",
    "fraud-check",
    "chargeback",
    "wholesale",
    "press",
    "spam",
    "duplicate-charge",
    "address-change",
    "cancellation",
    "exchange",
    "sizing",
    "backorder",
    "loyalty",
    "gift-card",
    "international",
    "out-of-stock",
    "compliment",
]
_TEAM_NAMES = ("Tier 1", "Tier 2", "Billing", "Returns", "VIP", "Social", "Night Shift", "Legacy")
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
_ASSISTANTS = (
    ("Order Status Bot", "customer", "Answers where-is-my-order questions"),
    ("Agent Copilot", "rep", "Drafts replies for agents"),
    ("Returns Concierge", "conversational", "Guides customers through a return"),
    ("Triage Workflow", "workflow", "Tags and routes new conversations"),
)
_SUPPORT_EMAIL = "support@acme-goods.example"
_SUPPORT_PHONE = "+17185146292"


def iso(ms: int) -> str:
    """Format epoch milliseconds the way Kustomer does: ``2022-03-02T14:35:34.848Z``."""
    t = time.gmtime(ms // 1000)
    return (
        f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}T"
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}.{ms % 1000:03d}Z"
    )


@dataclass(frozen=True)
class OrgSpec:
    """What to generate. With ``now`` set, the same spec always gives the same org."""

    seed: int = 7
    conversations: int = 3000
    history_days: int = 540
    tie_size: int = 0
    now: float | None = None  # epoch seconds; None means time.time() at build
    # Share of conversations (seeded pick) created and last updated before the 2-year search
    # horizon, with their messages and events; the rest are created within it. Needs
    # history_days >= SEARCH_HORIZON_DAYS + 2. None keeps the plain spread over history_days.
    old_fraction: float | None = None


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
        self._streams = {name: sorted(streams[name], key=_id) for name in STREAMS}
        self._by_id = {o["id"]: o for name in STREAMS for o in self._streams[name]}
        self.messages_by_conversation = _group(self._streams["messages"], "conversation")
        self.events_by_conversation = _group(self._streams["conversation_events"], "conversation")
        self._encoded: dict[str, bytes] = {}
        self._mutation_rng = random.Random(spec.seed * 104_729 + 1)
        # Every seeded timestamp is before now_ms, so bumps start after it.
        self._last_bump_ms = now_ms

    @classmethod
    def build(cls, spec: OrgSpec) -> Org:
        return _Builder(spec).build()

    def objects(self, stream: str) -> list[dict]:
        """Live objects of a stream in id order (hold ``lock`` while using them)."""
        if stream not in self._streams:
            msg = f"unknown stream {stream!r}; expected one of {', '.join(STREAMS)}"
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


def audit_attributes(created: int, updated: int, *, deleted: bool) -> dict:
    """The timestamps and soft-delete flags of a directory object."""
    return {
        "createdAt": iso(created),
        "updatedAt": iso(updated),
        "modifiedAt": iso(updated),
        "deleted": deleted,
        "deletedAt": iso(updated) if deleted else None,
    }


def _rel(type_: str, obj_id: str, path: str) -> dict:
    return {"links": {"self": f"/v1/{path}/{obj_id}"}, "data": {"type": type_, "id": obj_id}}


def _empty_summary() -> dict:
    return {"createdByTeams": [], "assignedTeams": [], "assignedUsers": []}


@dataclass
class _Msg:
    """Bookkeeping for one generated message while its conversation is assembled."""

    obj: dict
    sent: int
    created: int
    direction: str
    dtype: str
    channel: str
    agent: str | None


@dataclass
class _Plan:
    """The choices made for one conversation before its objects are generated."""

    created: int
    bound: int  # nothing of this conversation happens after this instant
    customer: int
    tied: bool = False
    old: bool = False  # everything of it stays before the search horizon
    has_messages: bool = True
    channel: str = "email"
    direction: str = "in"
    first_response: str = "full"
    outbound_only: bool = False
    multi_channel: bool = False
    big_events: bool = False
    status: str | None = "open"
    recency: str = "normal"
    deleted: bool = False
    id: str = ""
    extra: dict = field(default_factory=dict)


class _Builder:
    def __init__(self, spec: OrgSpec) -> None:
        if spec.conversations < 1 or spec.history_days < 1 or spec.tie_size < 0:
            msg = "conversations and history_days must be >= 1 and tie_size >= 0"
            raise ValueError(msg)
        if spec.old_fraction is not None:
            fraction = spec.old_fraction
            if isinstance(fraction, bool) or not isinstance(fraction, (int, float)):
                msg = f"old_fraction must be a number or None, got {fraction!r}"
                raise TypeError(msg)
            if not 0 <= fraction <= 1:
                msg = f"old_fraction must be within [0, 1], got {fraction!r}"
                raise ValueError(msg)
            if spec.history_days < SEARCH_HORIZON_DAYS + 2:
                msg = f"old_fraction needs history_days >= {SEARCH_HORIZON_DAYS + 2}"
                raise ValueError(msg)
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
        self.recent_ms = horizon_ms + DAY_MS
        self.old_ids: set[str] = set()
        self.ids: set[str] = set()
        self.org_id = self.oid(self.start_ms - 400 * DAY_MS)
        self.brand_id = self.oid(self.start_ms - 399 * DAY_MS)
        self.messages: list[dict] = []
        self.events: list[dict] = []
        # Counters that make rare shapes appear at a fixed rate instead of by chance.
        self.out_without_inbound = 0
        self.voice_messages = 0
        self.first_responses = 0
        self.summaries = 0

    # ---- helpers -------------------------------------------------------------------------

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
            "createdBy": _rel("user", self.api_user_id, "users"),
            "modifiedBy": _rel("user", self.api_user_id, "users"),
        }
        if deleted:
            rels["deletedBy"] = _rel("user", self.api_user_id, "users")
        return rels

    def base(self, type_: str, obj_id: str, path: str, attrs: dict, rels: dict) -> dict:
        return {
            "type": type_,
            "id": obj_id,
            "attributes": attrs,
            "relationships": {"org": _rel("org", self.org_id, "orgs"), **rels},
            "links": {"self": f"/{path}/{obj_id}"},
        }

    def person(self) -> tuple[str, str]:
        first, last = self.rng.choice(_FIRST), self.rng.choice(_LAST)
        return first, last

    # ---- build ---------------------------------------------------------------------------

    def build(self) -> Org:
        users = self.users()
        teams = self.teams()
        tags = self.tags()
        queues = self.queues()
        statuses = self.statuses()
        assistants = self.assistants()
        customers, plans = self.plan_conversations()
        self.customers = customers
        conversations = [self.conversation(p) for p in plans]
        self.finish_customers(customers, plans, conversations)
        work_sessions = self.work_sessions()
        self.tie_messages()
        streams = {
            "conversations": conversations,
            "messages": self.messages,
            "conversation_events": self.events,
            "customers": [c["obj"] for c in customers],
            "work_sessions": work_sessions,
            "routing_statuses": statuses,
            "queues": queues,
            "assistants": assistants,
            "tags": tags,
            "teams": teams,
            "users": users,
        }
        tie_at = {
            "conversations": iso(self.conversation_tie_ms) if self.spec.tie_size else None,
            "messages": iso(self.message_tie_ms) if self.spec.tie_size else None,
        }
        return Org(
            self.spec,
            self.now_ms,
            streams,
            org_id=self.org_id,
            api_user_id=self.api_user_id,
            tie_at=tie_at,
        )

    def users(self) -> list[dict]:
        kinds = ["machine"] * 5 + ["limited"] * 5 + ["user"] * 30
        self.humans: list[str] = []  # active agents (userType user) that have logged in
        self.human_created: dict[str, int] = {}
        self.deactivated: dict[str, int] = {}
        self.machines: list[str] = []
        users = []
        for n, kind in enumerate(kinds):
            created = self.early(0.5)
            uid = self.oid(created)
            first, last = self.person()
            updated = self.between(created, self.end_ms)
            deleted = n in (6, 8, 12, 20, 31)
            pending = n in (15, 27)
            if kind == "machine":
                name = "Assembled Integration" if n == 0 else f"API Key {n}"
                email = f"machine-{n}@acme-goods.example"
                roles = ["org.permission.conversation.read", "org.permission.search.read"]
                self.machines.append(uid)
            else:
                name = f"{first} {last}"
                email = f"{first.lower()}.{last.lower()}{n}@acme-goods.example"
                roles = ["org.admin", "org.user"] if n % 9 == 0 else ["org.user"]
            if n == 0:
                # The API key's own machine user: "the calling user" of user=true filters.
                self.api_user_id = uid
            login = None if pending else iso(self.between(created, updated))
            attrs = {
                "name": name,
                "displayName": name.split()[0] if kind != "machine" else name,
                "email": email,
                "userType": kind,
                "roles": roles,
                "roleGroups": [],
                "avatarUrl": None,
                "mobile": None,
                "emailVerifiedAt": login,
                "firstLoginAt": login,
                "mostRecentLoginAt": login,
                "createdAt": iso(created),
                "updatedAt": iso(updated),
                "modifiedAt": iso(updated),
                "deleted": deleted,
                "deletedAt": iso(updated) if deleted else None,
            }
            rels = {"modifiedBy": _rel("user", uid, "users")}
            users.append(self.base("user", uid, "v1/users", attrs, rels))
            if kind == "user" and deleted:
                self.deactivated[uid] = updated
            elif kind == "user" and not pending:
                self.humans.append(uid)
            if kind == "user":
                self.human_created[uid] = created
        return users

    def teams(self) -> list[dict]:
        teams = []
        self.team_ids: list[str] = []
        self.team_of: dict[str, str] = {}
        for n, name in enumerate(_TEAM_NAMES):
            created = self.early(0.1)
            tid = self.oid(created)
            updated = self.between(created, self.end_ms)
            deleted = n >= len(_TEAM_NAMES) - 2
            members = self.rng.sample(self.humans, self.rng.randint(3, 8))
            if not deleted:
                self.team_ids.append(tid)
                for uid in members:
                    self.team_of.setdefault(uid, tid)
            attrs = {
                "name": name,
                "displayName": name,
                "icon": self.rng.choice(["users", "star", "headset", "inbox"]),
                "members": members,
                "roleGroups": [],
                **audit_attributes(created, updated, deleted=deleted),
            }
            rels = self.audit_relationships(deleted=deleted)
            teams.append(self.base("team", tid, "v1/teams", attrs, rels))
        return teams

    def tags(self) -> list[dict]:
        tags = []
        self.tag_ids: list[str] = []
        colors = ("#f44336", "#4caf50", "#2196f3", "#ff9800", "#9c27b0", "#607d8b")
        for n, name in enumerate(_TAG_NAMES):
            created = self.early(0.3)
            tag_id = self.oid(created)
            updated = self.between(created, self.end_ms)
            deleted = n % 8 == 5
            self.tag_ids.append(tag_id)
            attrs = {
                "name": name,
                "color": colors[n % len(colors)],
                **audit_attributes(created, updated, deleted=deleted),
            }
            rels = self.audit_relationships(deleted=deleted)
            tags.append(self.base("tag", tag_id, "v1/tags", attrs, rels))
        return tags

    def queues(self) -> list[dict]:
        queues = []
        self.queue_ids: list[str] = []
        for name, display, system, priority, item_size in _QUEUES:
            created = self.early(0.1)
            qid = self.oid(created)
            updated = self.between(created, self.end_ms)
            self.queue_ids.append(qid)
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
            rels = {"modifiedBy": _rel("user", self.api_user_id, "users")}
            queues.append(self.base("queue", qid, "v1/routing/queues", attrs, rels))
        return queues

    def statuses(self) -> list[dict]:
        statuses = []
        self.status_ids: dict[str, list[str]] = {}
        for name, status_type, system in _ROUTING_STATUSES:
            created = self.early(0.1)
            sid = self.oid(created)
            updated = self.between(created, self.end_ms)
            self.status_ids.setdefault(status_type, []).append(sid)
            attrs = {
                "name": name,
                "statusType": status_type,
                "system": system,
                "createdAt": iso(created),
                "updatedAt": iso(updated),
                "modifiedAt": iso(updated),
            }
            # Type literal as in work-session relationships ("type": "status"), list type is [?].
            statuses.append(self.base("status", sid, "v1/routing/statuses", attrs, {}))
        return statuses

    def assistants(self) -> list[dict]:
        assistants = []
        self.assistant_ids: list[str] = []
        for n, (name, kind, description) in enumerate(_ASSISTANTS):
            created = self.early(0.9)
            aid = self.oid(created)
            updated = self.between(created, self.end_ms)
            self.assistant_ids.append(aid)
            attrs = {
                "name": name,
                "description": description,
                "type": kind,
                "machineUserId": self.machines[1 + n % (len(self.machines) - 1)],
                "version": 0,
                "createdAt": iso(created),
                "updatedAt": iso(updated),
                "modifiedAt": iso(updated),
                "deleted": False,
            }
            assistants.append(self.base("assistant", aid, "v1/assistants", attrs, {}))
        return assistants

    # ---- conversations -------------------------------------------------------------------

    def plan_conversations(self) -> tuple[list[dict], list[_Plan]]:
        n = self.spec.conversations
        tied = set(self.rng.sample(range(n), min(self.spec.tie_size, n)))
        old = self.old_conversations(n, tied)
        # Without old_fraction, conversations spread over the whole history as they always did.
        earliest = self.start_ms if self.spec.old_fraction is None else self.recent_ms
        plans = []
        n_customers = max(1, n // 2)
        for i in range(n):
            if i in tied:
                created = self.between(earliest, self.conversation_tie_ms - HOUR_MS)
                plan = _Plan(created, self.conversation_tie_ms, self.rng.randrange(n_customers))
                plan.tied = True
            elif i in old:
                created = self.between(self.start_ms, self.old_bound_ms - HOUR_MS)
                plan = _Plan(created, self.old_bound_ms, self.rng.randrange(n_customers))
                plan.old = True
            else:
                created = self.between(earliest, self.latest_ms)
                plan = _Plan(created, self.end_ms, self.rng.randrange(n_customers))
            plans.append(plan)
        for plan, has in zip(plans, self.cover(n, ((True, 99), (False, 1))), strict=True):
            plan.has_messages = has
        with_messages = [p for p in plans if p.has_messages]
        m = len(with_messages)
        dims = (
            ("channel", _PRIMARY_CHANNELS),
            ("multi_channel", ((False, 85), (True, 15))),
        )
        for attr, choices in dims:
            for plan, value in zip(with_messages, self.cover(m, choices), strict=True):
                setattr(plan, attr, value)
        for plan, (direction, first_response) in zip(
            with_messages, self.cover(m, _SCENARIOS), strict=True
        ):
            plan.direction = "out" if direction.startswith("out") else "in"
            plan.outbound_only = direction == "out-only"
            plan.first_response = first_response
        for plan in plans:
            if not plan.has_messages:
                plan.channel = ""
                plan.first_response = "none:" + self.rng.choice(_EMPTY_SHAPES)
        big = self.cover(m, ((True, 1), (False, 99))) if m >= 20 else [False] * m
        for plan, value in zip(with_messages, big, strict=True):
            plan.big_events = value
        for plan, status in zip(plans, self.cover(n, _STATUSES), strict=True):
            plan.status = status
        free = [p for p in plans if not p.tied]
        # Old conversations keep "normal" recency: a recent update would cross the horizon.
        fresh = [p for p in free if not p.old]
        recency = (("normal", 88), ("reopened", 10), ("recent", 2))
        for plan, value in zip(fresh, self.cover(len(fresh), recency), strict=True):
            plan.recency = value
        for plan, value in zip(free, self.cover(len(free), ((False, 98), (True, 2))), strict=True):
            plan.deleted = value
        customers = self.plan_customers(plans, n_customers)
        for plan in plans:
            plan.id = self.oid(plan.created)
            if plan.old:
                self.old_ids.add(plan.id)
        return customers, plans

    def old_conversations(self, n: int, tied: set[int]) -> set[int]:
        """Indexes of the conversations kept before the horizon (none without old_fraction)."""
        if self.spec.old_fraction is None:
            return set()
        candidates = [i for i in range(n) if i not in tied]
        count = min(round(self.spec.old_fraction * n), len(candidates))
        return set(self.rng.sample(candidates, count))

    def plan_customers(self, plans: list[_Plan], count: int) -> list[dict]:
        first_seen: dict[int, int] = {}
        for plan in plans:
            first_seen[plan.customer] = min(
                first_seen.get(plan.customer, plan.created), plan.created
            )
        customers = []
        for n in range(count):
            if n in first_seen:
                created = max(self.start_ms, first_seen[n] - self.between(0, 30 * DAY_MS))
            else:
                created = self.between(self.start_ms, self.latest_ms)
            first, last = self.person()
            customers.append(
                {
                    "id": self.oid(created),
                    "created": created,
                    "name": f"{first} {last}",
                    "email": f"{first.lower()}.{last.lower()}.{n}@mail.example",
                    "phone": f"+1{self.rng.randint(2000000000, 9899999999)}",
                }
            )
        return customers

    def gap(self, channel: str) -> float:
        mean = _EMAIL_GAP_MS if channel == "email" else _GAP_MS.get(channel, _DEFAULT_GAP_MS)
        return self.rng.expovariate(1 / mean)

    def directions(self, plan: _Plan, count: int) -> list[str]:
        if plan.outbound_only:
            return ["out"] * count
        dirs = [plan.direction]
        for _ in range(count - 1):
            prev = dirs[-1]
            flip = self.rng.random() < 0.6
            dirs.append(("out" if prev == "in" else "in") if flip else prev)
        if plan.first_response.startswith("none"):
            # No response-out at all: inbound only, or outbound messages before any inbound.
            outs = dirs.count("out") if plan.direction == "out" else 0
            return ["out"] * outs + ["in"] * (len(dirs) - outs)
        if plan.direction == "in":
            if len(dirs) < 2:
                dirs.append("out")
            dirs[1] = "out"
        else:
            dirs += ["in"] * max(0, 3 - len(dirs))
            dirs[1], dirs[2] = "in", "out"
        return dirs

    def conversation_messages(self, plan: _Plan, customer: dict, agent: str) -> list[_Msg]:
        rng = self.rng
        count = min(15, int(rng.expovariate(1 / 4.2)) + 1)
        dirs = self.directions(plan, count)
        channels = [plan.channel] * len(dirs)
        if plan.multi_channel:
            second = rng.choice([c for c in KNOWN_CHANNELS if c != plan.channel])
            channels = [channels[0]] + [
                second if rng.random() < 0.5 else plan.channel for _ in dirs[1:]
            ]
        offsets = [0.0]
        for ch in channels[1:]:
            offsets.append(offsets[-1] + self.gap(ch) + SECOND_MS)
        room = min(plan.bound - 5 * SECOND_MS, plan.created + 21 * DAY_MS) - plan.created
        scale = min(1.0, room / offsets[-1]) if offsets[-1] else 1.0
        msgs: list[_Msg] = []
        first_voice = True
        answered = rng.random() >= 0.2
        prev_dir = None
        for k, (direction, channel) in enumerate(zip(dirs, channels, strict=True)):
            if k == 0:
                sent = plan.created - rng.randint(0, 250)
                dtype = f"initial-{direction}"
            else:
                sent = plan.created + int(offsets[k] * scale) + k
                dtype = f"{'followup' if direction == prev_dir else 'response'}-{direction}"
            prev_dir = direction
            # Strictly increasing even when a short conversation's gaps are squeezed to ms.
            created = max(sent + rng.randint(15, 600), msgs[-1].created + 1 if msgs else 0)
            voice_answered = answered if channel == "voice" and first_voice else rng.random() >= 0.2
            if channel == "voice":
                first_voice = False
            msg = self.message(
                plan, customer, agent, (sent, created), (direction, dtype, channel), voice_answered
            )
            msgs.append(_Msg(msg, sent, created, direction, dtype, channel, agent))
        return msgs

    def meta(self, channel: str, direction: str, customer: dict, sent: int, answered: bool) -> dict:
        rng = self.rng
        inbound = direction == "in"
        if channel == "email":
            to = _SUPPORT_EMAIL if inbound else customer["email"]
            # meta.to is loosely typed in the real API: string, object or array of objects.
            shape = rng.random()
            to_value = to if shape < 0.4 else {"email": to} if shape < 0.6 else [{"email": to}]
            return {
                "subject": rng.choice(_SUBJECTS),
                "from": customer["email"] if inbound else _SUPPORT_EMAIL,
                "to": to_value,
            }
        if channel == "sms":
            return {
                "from": customer["phone"] if inbound else _SUPPORT_PHONE,
                "to": _SUPPORT_PHONE if inbound else customer["phone"],
                "proxy": _SUPPORT_PHONE,
                "attachmentNum": 0,
            }
        if channel == "voice":
            meta = {
                "from": customer["phone"] if inbound else _SUPPORT_PHONE,
                "to": _SUPPORT_PHONE if inbound else customer["phone"],
                "placedAt": iso(sent),
            }
            limit = self.end_ms
            if answered:
                answered_at = min(
                    limit, sent + rng.randint(3, 90) * SECOND_MS + rng.randint(0, 999)
                )
                meta["answeredAt"] = iso(answered_at)
                meta["endedAt"] = iso(min(limit, answered_at + rng.randint(30, 1200) * SECOND_MS))
                meta["status"] = "completed"
            else:
                meta["endedAt"] = iso(min(limit, sent + rng.randint(10, 60) * SECOND_MS))
                meta["status"] = rng.choice(["missed", "voicemail"])
            # A few voice messages lack placedAt.
            self.voice_messages += 1
            if self.voice_messages % 20 == 7:
                del meta["placedAt"]
            return meta
        return {}

    def message(
        self,
        plan: _Plan,
        customer: dict,
        agent: str,
        times: tuple[int, int],
        kind: tuple[str, str, str],
        answered: bool,
    ) -> dict:
        rng = self.rng
        sent, created = times
        direction, dtype, channel = kind
        inbound = direction == "in"
        mid = self.oid(created)
        updated = created + rng.randint(0, 40)
        if rng.random() < 0.08:
            updated = self.between(updated, plan.bound)
        text = rng.choice(_CUSTOMER_LINES if inbound else _AGENT_LINES)
        meta = self.meta(channel, direction, customer, sent, answered)
        team = self.team_of.get(agent)
        status = "received" if inbound else "sent"
        if not inbound and rng.random() < 0.01:
            status = "error"
        attrs = {
            "channel": channel,
            "app": _APPS.get(channel, channel),
            "size": rng.randint(1, 20),
            "direction": direction,
            "directionType": dtype,
            "preview": text[:100],
        }
        if channel == "email":
            attrs["subject"] = meta["subject"]
        if channel in ("email", "chat") and rng.random() < 0.7:
            attrs["body"] = text
        attrs.update(
            {
                "meta": meta,
                "status": status,
                "assignedTeams": [team] if team and not inbound else [],
                "assignedUsers": [] if inbound else [agent],
                "auto": not inbound and rng.random() < 0.05,
                "sentAt": iso(sent),
                "createdAt": iso(created),
                "updatedAt": iso(updated),
                "modifiedAt": iso(updated),
                "redacted": False,
                "createdByTeams": [team] if team and not inbound else [],
                "rev": rng.randint(1, 3),
                "reactions": [],
                "lang": "en",
            }
        )
        if status == "error":
            attrs["errorAt"] = iso(updated)
        # One real payload spells the customer relationship type "customers".
        customer_type = "customers" if rng.random() < 0.03 else "customer"
        rels = {
            "customer": _rel(customer_type, customer["id"], "customers"),
            "conversation": _rel("conversation", plan.id, "conversations"),
        }
        if not inbound:
            rels["createdBy"] = _rel("user", agent, "users")
            rels["modifiedBy"] = _rel("user", agent, "users")
        msg = self.base("message", mid, "v1/messages", attrs, rels)
        self.messages.append(msg)
        return msg

    def summary(self, m: _Msg, *, with_meta: bool, with_author: bool) -> dict:
        out: dict = {"id": m.obj["id"], "sentAt": iso(m.sent), "createdAt": iso(m.created)}
        # A few summaries (1 in 20) lack their channel, as in some real payloads.
        self.summaries += 1
        if self.summaries % 20 != 9:
            out["channel"] = m.channel
        out["directionType"] = m.dtype
        if with_meta and m.obj["attributes"]["meta"]:
            out["meta"] = dict(m.obj["attributes"]["meta"])
        if with_author:
            out["createdBy"] = m.agent
            out["createdByTeams"] = m.obj["attributes"]["createdByTeams"]
        return out

    def response_summary(
        self, plan: _Plan, m: _Msg, assigned: tuple[list, list], business: str = "number"
    ) -> dict:
        time_ms = m.created - plan.created
        out = {
            "createdByTeams": m.obj["attributes"]["createdByTeams"],
            "assignedTeams": assigned[0],
            "assignedUsers": assigned[1],
            "id": m.obj["id"],
            "time": time_ms,
        }
        if business == "null":
            out["businessTime"] = None
        elif business == "number":
            out["businessTime"] = int(time_ms * self.rng.uniform(0.3, 1.0))
        out.update(
            {
                "createdAt": iso(m.created),
                "createdBy": m.agent,
                "sentAt": iso(m.sent),
                "responseTime": time_ms,
            }
        )
        return out

    def conversation(self, plan: _Plan) -> dict:
        rng = self.rng
        customer = self.customers[plan.customer]
        agent = rng.choice(self.humans)
        team = self.team_of.get(agent)
        msgs = self.conversation_messages(plan, customer, agent) if plan.has_messages else []
        c = plan.created
        limit = plan.bound - 1
        last_ms = max(
            (m.created for m in msgs), default=c + self.between(SECOND_MS, 10 * MINUTE_MS)
        )
        # The first message's createdAt can precede the conversation's by a few ms.
        activity = min(limit, max(c, last_ms))
        done_ms = min(limit, activity + self.between(SECOND_MS, 2 * HOUR_MS))
        updated = activity
        if plan.status == "done":
            updated = done_ms
        snooze = None
        if plan.status == "snoozed":
            status_at = min(limit, activity + self.between(MINUTE_MS, HOUR_MS))
            wake = status_at + self.between(DAY_MS, 7 * DAY_MS)
            snooze = {"status": "snoozed", "statusAt": iso(status_at), "time": iso(wake)}
            updated = status_at
        modified = updated
        updated = min(limit, updated + rng.randint(5, 3000))
        if plan.recency == "reopened":
            updated = self.between(updated, limit)
        elif plan.recency == "recent":
            updated = max(updated, self.now_ms - self.between(2 * SECOND_MS, 5 * MINUTE_MS))
        if plan.tied:
            updated = plan.bound
        modified = min(modified, updated)

        roll = rng.random()
        users = [] if roll < 0.15 else [agent] if roll < 0.95 else [agent, rng.choice(self.humans)]
        teams = [team] if team and users else []
        outbound = [m for m in msgs if m.direction == "out"]
        inbound = [m for m in msgs if m.direction == "in"]
        responses = [m for m in msgs if m.dtype == "response-out"]
        channels: list[str] = []
        for m in msgs:
            if m.channel not in channels:
                channels.append(m.channel)
        subject = next(
            (m.obj["attributes"].get("subject") for m in msgs if m.channel == "email"), None
        )
        by_channel: dict[str, int] = {}
        out_by_channel: dict[str, int] = {}
        for m in msgs:
            by_channel[m.channel] = by_channel.get(m.channel, 0) + 1
            if m.direction == "out":
                out_by_channel[m.channel] = out_by_channel.get(m.channel, 0) + 1
        done = plan.status == "done"
        done_summary = (
            {
                "createdByTeams": None if rng.random() < 0.3 else teams,
                "assignedTeams": teams,
                "assignedUsers": users,
                "time": done_ms - c,
                "businessTime": int((done_ms - c) * rng.uniform(0.3, 1.0)),
                "createdAt": iso(done_ms),
                "createdBy": agent if users else None,
                "noteCount": 0,
                "messageCount": len(msgs),
                "messageCountByChannel": by_channel,
                "outboundMessageCount": len(outbound),
                "outboundMessageCountByChannel": out_by_channel,
                "lastMessageDirection": msgs[-1].direction if msgs else None,
                "lastMessageDirectionType": msgs[-1].dtype if msgs else None,
            }
            if done
            else _empty_summary()
        )
        attrs: dict = {
            "name": subject
            or (msgs[0].obj["attributes"]["preview"][:60] if msgs else "New conversation"),
            "preview": msgs[-1].obj["attributes"]["preview"] if msgs else None,
            "channels": channels,
        }
        if plan.status is not None:
            attrs["status"] = plan.status
        attrs.update(
            {
                "snooze": snooze,
                "messageCount": len(msgs),
                "noteCount": rng.choice([0, 0, 0, 1, 2]),
                "satisfaction": rng.randint(1, 5) if done and rng.random() < 0.2 else 0,
                "satisfactionLevel": {"sentByTeams": [], "answers": []},
                "createdAt": iso(c),
                "updatedAt": iso(updated),
                "modifiedAt": iso(modified),
                "lastActivityAt": iso(max(activity, modified)),
                "spam": False,
                "ended": done and plan.channel in ("chat", "voice"),
                "importedAt": None,
                "tags": rng.sample(self.tag_ids, rng.choice([0, 0, 1, 1, 2, 3, 4])),
                "suggestedTags": [],
                "predictions": [],
                "suggestedShortcuts": [],
            }
        )
        if inbound:
            attrs["firstMessageIn"] = self.summary(inbound[0], with_meta=True, with_author=False)
            attrs["lastMessageIn"] = self.summary(inbound[-1], with_meta=True, with_author=False)
        elif plan.direction == "out":
            # Alternate so that both an absent and a null firstMessageIn exist.
            self.out_without_inbound += 1
            if self.out_without_inbound % 2 == 0:
                attrs["firstMessageIn"] = None
        if outbound:
            attrs["firstMessageOut"] = self.summary(outbound[0], with_meta=False, with_author=True)
            last_out = outbound[-1]
            attrs["lastMessageOut"] = {
                "id": last_out.obj["id"],
                "sentAt": iso(last_out.sent),
                "createdAt": iso(last_out.created),
                "createdBy": last_out.agent,
            }
        if msgs:
            attrs["lastMessageAt"] = iso(msgs[-1].sent)
            if msgs[-1].direction == "in":
                tail = len(msgs) - 1
                while tail > 0 and msgs[tail - 1].direction == "in":
                    tail -= 1
                m = msgs[tail]
                attrs["lastMessageUnrespondedTo"] = {
                    "id": m.obj["id"],
                    "sentAt": iso(m.sent),
                    "createdAt": iso(m.created),
                }
        attrs["assignedUsers"] = users
        attrs["assignedTeams"] = teams
        shape = plan.first_response.split(":")[-1]
        if responses and shape == "full":
            # businessTime is null for 1 in 10 first responses and missing for another 1 in 10.
            self.first_responses += 1
            business = {3: "null", 7: "absent"}.get(self.first_responses % 10, "number")
            first_response = self.response_summary(plan, responses[0], (teams, users), business)
            attrs["firstResponse"] = first_response
            attrs["firstResponseSinceLastDone"] = dict(first_response)
            attrs["lastResponse"] = self.response_summary(plan, responses[-1], (teams, users))
        else:
            if shape != "absent":
                attrs["firstResponse"] = {"null": None, "{}": {}, "arrays": _empty_summary()}[shape]
            attrs["firstResponseSinceLastDone"] = _empty_summary()
            attrs["lastResponse"] = _empty_summary()
        attrs.update(
            {
                "firstDone": done_summary,
                "lastDone": dict(done_summary),
                "doneCount": int(done),
                "snoozeCount": int(plan.status == "snoozed"),
                "reopenCount": int(plan.recency == "reopened"),
                "reopenFromDoneCount": int(plan.recency == "reopened" and done),
                "direction": plan.direction,
                "custom": self.custom(),
                "lastMessageDirection": msgs[-1].direction if msgs else None,
                "outboundMessageCount": len(outbound),
                "inboundMessageCount": len(inbound),
                "rev": len(msgs) + rng.randint(1, 12),
                "priority": rng.choices([1, 2, 3, 4, 5], weights=[10, 15, 50, 15, 10])[0],
                "totalDone": {"businessTime": 0, "time": 0},
                "totalOpen": {
                    "time": activity - c,
                    "businessTime": int((activity - c) * 0.6),
                    "timeSinceLastDone": 0,
                    "businessTimeSinceLastDone": 0,
                },
                "defaultLang": "en_us",
                "roleGroupVersions": [],
                "accessOverride": [],
                "linkedConversations": [],
                "mergedTarget": False,
                "assistant": {
                    "fac": {"reasons": []},
                    "assistantId": [rng.choice(self.assistant_ids)] if rng.random() < 0.1 else [],
                },
                "phase": "done" if done else "active" if len(msgs) > 1 else "initial",
            }
        )
        if rng.random() < 0.5:
            attrs["sla"] = self.sla(c, responses[0].created if responses else None)
        attrs["deleted"] = plan.deleted
        if plan.deleted:
            attrs["deletedAt"] = iso(updated)
        rels = {
            "messages": {"links": {"self": f"/v1/conversations/{plan.id}/messages"}},
            "modifiedBy": _rel("user", agent, "users"),
            "customer": _rel("customer", customer["id"], "customers"),
            "brand": _rel("brand", self.brand_id, "brands"),
        }
        if rng.random() < 0.88:
            rels["queue"] = _rel("queue", rng.choice(self.queue_ids), "routing/queues")
        conv = self.base("conversation", plan.id, "v1/conversations", attrs, rels)
        plan.extra = {"updated": updated, "activity": activity}
        self.conversation_events(plan, conv, customer["id"], agent)
        return conv

    def custom(self) -> dict | None:
        rng = self.rng
        if rng.random() < 0.35:
            return None
        values = {
            "orderNumberStr": f"ORD-{rng.randint(100000, 999999)}",
            "refundNum": rng.choice([None, round(rng.uniform(5, 400), 2)]),
            "vipBool": rng.random() < 0.1,
            "reasonTree": rng.choice(
                ["billing.refund", "shipping.delay", "product.defect", "other"]
            ),
        }
        keep = rng.sample(sorted(values), rng.randint(1, len(values)))
        return {k: values[k] for k in sorted(keep)}

    def sla(self, created: int, first_response: int | None) -> dict:
        breach_at = created + 4 * HOUR_MS
        breached = first_response is None or first_response > breach_at
        first = {"breachAt": iso(breach_at)}
        if first_response is not None:
            first["satisfiedAt"] = iso(first_response)
        return {
            "name": "Standard SLA",
            "version": 3,
            "matchedAt": iso(created + 50),
            "breached": breached,
            "status": "done" if first_response is not None else "pending",
            "metrics": {"firstResponse": first},
            "summary": {"firstBreachAt": iso(breach_at) if breached else None},
        }

    def conversation_events(self, plan: _Plan, conv: dict, customer_id: str, agent: str) -> None:
        rng = self.rng
        c = plan.created
        end = max(c + 100, plan.extra["updated"])
        if plan.big_events:
            n_updates = rng.randint(120, 250) - 1
        else:
            n_updates = rng.choices([0, 1, 2, 3], weights=[45, 35, 15, 5])[0]
        created = c + rng.randint(1, 50)
        times = [created, *sorted(rng.randint(c + 100, end) for _ in range(n_updates))]
        attrs = conv["attributes"]
        previous = times[0]
        for k, at in enumerate(times):
            if k == 0:
                name = "kustomer.conversation.create"
                changes = {
                    "attributes": {
                        "status": {"op": "add", "before": None, "after": "open"},
                        "priority": {"op": "add", "before": None, "after": 3},
                    },
                    "relationships": {
                        "customer": {
                            "op": "add",
                            "before": None,
                            "after": {"data": {"type": "customer", "id": customer_id}},
                        }
                    },
                }
            else:
                name = "kustomer.conversation.update"
                changes = self.event_change(attrs, iso(previous), iso(at))
            previous = at
            eid = self.oid(at)
            author = agent if rng.random() < 0.7 else self.api_user_id
            ev_attrs = {
                "name": name,
                "publishedAt": iso(at + 1),
                "createdAt": iso(at),
                "updatedAt": iso(at),
                "modifiedAt": iso(at),
                "changes": changes,
                "location": None,
                "meta": None,
            }
            rels = {
                "createdBy": _rel("user", author, "users"),
                "modifiedBy": _rel("user", author, "users"),
                "customer": _rel("customer", customer_id, "customers"),
                "conversation": _rel("conversation", plan.id, "conversations"),
            }
            self.events.append(self.base("event", eid, "v1/events", ev_attrs, rels))

    def event_change(self, attrs: dict, before: str, after: str) -> dict:
        rng = self.rng
        kind = rng.randrange(5)
        changed: dict = {"updatedAt": {"op": "replace", "before": before, "after": after}}
        relationships: dict = {}
        if kind == 0:
            changed["status"] = {"op": "replace", "before": "open", "after": attrs.get("status")}
        elif kind == 1:
            changed["priority"] = {"op": "replace", "before": 3, "after": attrs["priority"]}
        elif kind == 2:
            changed["assignedUsers"] = {
                "op": "replace",
                "before": [],
                "after": attrs["assignedUsers"],
            }
        elif kind == 3:
            changed["tags"] = {"op": "replace", "before": [], "after": attrs["tags"]}
        else:
            relationships["queue"] = {
                "op": "add",
                "before": None,
                "after": {"data": {"type": "queue", "id": rng.choice(self.queue_ids)}},
            }
        return {"attributes": changed, "relationships": relationships}

    def finish_customers(
        self, customers: list[dict], plans: list[_Plan], conversations: list[dict]
    ) -> None:
        rng = self.rng
        stats: dict[int, dict] = {}
        for plan, conv in zip(plans, conversations, strict=True):
            entry = stats.setdefault(plan.customer, {"latest": 0, "counts": {}})
            entry["latest"] = max(entry["latest"], plan.extra["activity"])
            if not plan.deleted:
                status = conv["attributes"].get("status")
                entry["counts"][status] = entry["counts"].get(status, 0) + 1
        for n, cust in enumerate(customers):
            entry = stats.get(n, {"latest": cust["created"], "counts": {}})
            created = cust["created"]
            updated = min(
                self.end_ms, max(created, entry["latest"]) + rng.randint(0, 5 * SECOND_MS)
            )
            deleted = rng.random() < 0.02
            counts = entry["counts"]
            first = cust["name"].split()[0]
            attrs = {
                "name": cust["name"],
                "displayName": cust["name"],
                "emails": [{"type": "home", "email": cust["email"]}],
                "phones": [{"type": "mobile", "phone": cust["phone"]}]
                if rng.random() < 0.7
                else [],
                "locale": rng.choice(["en_US", "en_GB", "es_ES", None]),
                "createdAt": iso(created),
                "updatedAt": iso(updated),
                "modifiedAt": iso(updated),
                "lastActivityAt": iso(max(created, entry["latest"])),
                "deleted": deleted,
                "rev": rng.randint(1, 20),
                "custom": None
                if rng.random() < 0.5
                else {"tierStr": rng.choice(["gold", "silver"])},
                "conversationCounts": {
                    "all": sum(counts.values()),
                    "open": counts.get("open", 0),
                    "done": counts.get("done", 0),
                    "snoozed": counts.get("snoozed", 0),
                },
                "preferredName": first,
            }
            if deleted:
                attrs["deletedAt"] = iso(updated)
            cust["obj"] = self.base("customer", cust["id"], "v1/customers", attrs, {})

    # ---- routing -------------------------------------------------------------------------

    def work_sessions(self) -> list[dict]:
        sessions = []
        for uid, deleted_at in [*((u, None) for u in self.humans), *self.deactivated.items()]:
            first_day = max(self.human_created[uid], self.now_ms - 30 * DAY_MS)
            last_day = min(deleted_at or self.now_ms, self.now_ms) - DAY_MS
            if last_day <= first_day:
                continue
            for _ in range(self.rng.randint(3, 8)):
                signed_in = self.between(first_day, last_day)
                signed_out = signed_in + self.between(4 * HOUR_MS, 9 * HOUR_MS)
                sessions.append(self.work_session(uid, signed_in, min(signed_out, self.end_ms)))
        active_users = [u for u in self.humans if self.rng.random() < 0.6]
        kinds = self.cover(len(active_users), (("available", 5), ("busy", 2), ("unavailable", 3)))
        for uid, kind in zip(active_users, kinds, strict=True):
            signed_in = self.end_ms - self.between(10 * MINUTE_MS, 8 * HOUR_MS)
            sessions.append(self.work_session(uid, signed_in, None, kind))
        return sessions

    def work_session(
        self, uid: str, signed_in: int, signed_out: int | None, status_type: str = "offline"
    ) -> dict:
        rng = self.rng
        status_id = rng.choice(self.status_ids[status_type])
        end = signed_out if signed_out is not None else self.end_ms
        span = end - signed_in
        available_ms = int(span * rng.uniform(0.5, 0.9))
        status_at = self.between(signed_in, end)
        limit = rng.choice([2, 3, 4])
        remaining = rng.randint(0, limit)
        handled = rng.randint(0, 40)
        by_status = {
            self.status_ids["available"][0]: {
                "statusAt": iso(self.between(signed_in, end)),
                "businessTime": available_ms,
                "time": available_ms,
                "statusSelectedCount": rng.randint(1, 4),
            },
            status_id: {"statusAt": iso(status_at), "statusSelectedCount": 1},
        }
        team = self.team_of.get(uid)
        queues = rng.sample(self.queue_ids, rng.randint(1, 3))
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
            "lastAssignedItemAt": iso(self.between(signed_in, end)) if handled else None,
            "createdAt": iso(signed_in),
            "updatedAt": iso(end if signed_out is not None else status_at),
            "modifiedAt": iso(status_at),
            "rev": rng.randint(5, 120),
        }
        rels = {
            "user": _rel("user", uid, "users"),
            "status": _rel("status", status_id, "routing/statuses"),
            "queues": {"data": [{"type": "queue", "id": q} for q in queues]},
            "modifiedBy": {"data": {"type": "user", "id": uid}},
        }
        if team:
            rels["team"] = _rel("team", team, "teams")
        wid = self.oid(signed_in)
        return self.base("work_session", wid, "v1/routing/work-sessions", attrs, rels)

    def tie_messages(self) -> None:
        if not self.spec.tie_size:
            return
        at = self.message_tie_ms
        stamp = iso(at)
        candidates = [
            m
            for m in self.messages
            if m["attributes"]["createdAt"] <= stamp
            and m["relationships"]["conversation"]["data"]["id"] not in self.old_ids
        ]
        for msg in self.rng.sample(candidates, min(self.spec.tie_size, len(candidates))):
            msg["attributes"]["updatedAt"] = stamp
            msg["attributes"]["modifiedAt"] = stamp
