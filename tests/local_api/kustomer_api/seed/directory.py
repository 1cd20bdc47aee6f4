"""Directory objects: users (agents, machine users), teams, tags and assistants."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kustomer_api.seed.shapes import audit_attributes, iso, rel

if TYPE_CHECKING:
    from kustomer_api.seed.builder import Builder

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
_ASSISTANTS = (
    ("Order Status Bot", "customer", "Answers where-is-my-order questions"),
    ("Agent Copilot", "rep", "Drafts replies for agents"),
    ("Returns Concierge", "conversational", "Guides customers through a return"),
    ("Triage Workflow", "workflow", "Tags and routes new conversations"),
)


def users(b: Builder) -> None:
    kinds = ["machine"] * 5 + ["limited"] * 5 + ["user"] * 30
    b.humans = []  # active agents (userType user) that have logged in
    b.human_created = {}
    b.deactivated = {}
    b.machines = []
    users = []
    for n, kind in enumerate(kinds):
        created = b.early(0.5)
        uid = b.oid(created)
        first, last = b.person()
        updated = b.between(created, b.end_ms)
        deleted = n in (6, 8, 12, 20, 31)
        pending = n in (15, 27)
        if kind == "machine":
            name = "Assembled Integration" if n == 0 else f"API Key {n}"
            email = f"machine-{n}@acme-goods.example"
            roles = ["org.permission.conversation.read", "org.permission.search.read"]
            b.machines.append(uid)
        else:
            name = f"{first} {last}"
            email = f"{first.lower()}.{last.lower()}{n}@acme-goods.example"
            roles = ["org.admin", "org.user"] if n % 9 == 0 else ["org.user"]
        if n == 0:
            # The API key's own machine user: "the calling user" of user=true filters.
            b.api_user_id = uid
        login = None if pending else iso(b.between(created, updated))
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
        rels = {"modifiedBy": rel("user", uid, "users")}
        users.append(b.base("user", uid, "v1/users", attrs, rels))
        if kind == "user" and deleted:
            b.deactivated[uid] = updated
        elif kind == "user" and not pending:
            b.humans.append(uid)
        if kind == "user":
            b.human_created[uid] = created
    b.streams["users"] += users


def teams(b: Builder) -> None:
    teams = []
    b.team_ids = []
    b.team_of = {}
    for n, name in enumerate(_TEAM_NAMES):
        created = b.early(0.1)
        tid = b.oid(created)
        updated = b.between(created, b.end_ms)
        deleted = n >= len(_TEAM_NAMES) - 2
        members = b.rng.sample(b.humans, b.rng.randint(3, 8))
        if not deleted:
            b.team_ids.append(tid)
            for uid in members:
                b.team_of.setdefault(uid, tid)
        attrs = {
            "name": name,
            "displayName": name,
            "icon": b.rng.choice(["users", "star", "headset", "inbox"]),
            "members": members,
            "roleGroups": [],
            **audit_attributes(created, updated, deleted=deleted),
        }
        rels = b.audit_relationships(deleted=deleted)
        teams.append(b.base("team", tid, "v1/teams", attrs, rels))
    b.streams["teams"] += teams


def tags(b: Builder) -> None:
    tags = []
    b.tag_ids = []
    colors = ("#f44336", "#4caf50", "#2196f3", "#ff9800", "#9c27b0", "#607d8b")
    for n, name in enumerate(_TAG_NAMES):
        created = b.early(0.3)
        tag_id = b.oid(created)
        updated = b.between(created, b.end_ms)
        deleted = n % 8 == 5
        b.tag_ids.append(tag_id)
        attrs = {
            "name": name,
            "color": colors[n % len(colors)],
            **audit_attributes(created, updated, deleted=deleted),
        }
        rels = b.audit_relationships(deleted=deleted)
        tags.append(b.base("tag", tag_id, "v1/tags", attrs, rels))
    b.streams["tags"] += tags


def assistants(b: Builder) -> None:
    assistants = []
    b.assistant_ids = []
    for n, (name, kind, description) in enumerate(_ASSISTANTS):
        created = b.early(0.9)
        aid = b.oid(created)
        updated = b.between(created, b.end_ms)
        b.assistant_ids.append(aid)
        attrs = {
            "name": name,
            "description": description,
            "type": kind,
            "machineUserId": b.machines[1 + n % (len(b.machines) - 1)],
            "version": 0,
            "createdAt": iso(created),
            "updatedAt": iso(updated),
            "modifiedAt": iso(updated),
            "deleted": False,
        }
        assistants.append(b.base("assistant", aid, "v1/assistants", attrs, {}))
    b.streams["assistants"] += assistants
