"""Conversation events: a conversation's create and update events and their changes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kustomer_api.seed.shapes import iso, rel

if TYPE_CHECKING:
    from kustomer_api.seed.builder import Builder
    from kustomer_api.seed.plans import Plan


def conversation_events(b: Builder, plan: Plan, conv: dict, customer_id: str, agent: str) -> None:
    rng = b.rng
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
            changes = event_change(b, attrs, iso(previous), iso(at))
        previous = at
        eid = b.oid(at)
        author = agent if rng.random() < 0.7 else b.api_user_id
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
            "createdBy": rel("user", author, "users"),
            "modifiedBy": rel("user", author, "users"),
            "customer": rel("customer", customer_id, "customers"),
            "conversation": rel("conversation", plan.id, "conversations"),
        }
        b.streams["conversation_events"].append(b.base("event", eid, "v1/events", ev_attrs, rels))


def event_change(b: Builder, attrs: dict, before: str, after: str) -> dict:
    rng = b.rng
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
            "after": {"data": {"type": "queue", "id": rng.choice(b.queue_ids)}},
        }
    return {"attributes": changed, "relationships": relationships}
