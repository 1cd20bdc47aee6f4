"""Customers: planned with their conversations, finished once those exist."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kustomer_api.seed.shapes import iso
from kustomer_api.seed.spec import DAY_MS, SECOND_MS

if TYPE_CHECKING:
    from kustomer_api.seed.builder import Builder
    from kustomer_api.seed.plans import Plan


def planned_customers(b: Builder, plans: list[Plan], count: int) -> list[dict]:
    first_seen: dict[int, int] = {}
    for plan in plans:
        first_seen[plan.customer] = min(first_seen.get(plan.customer, plan.created), plan.created)
    customers = []
    for n in range(count):
        if n in first_seen:
            created = max(b.start_ms, first_seen[n] - b.between(0, 30 * DAY_MS))
        else:
            created = b.between(b.start_ms, b.latest_ms)
        first, last = b.person()
        customers.append(
            {
                "id": b.oid(created),
                "created": created,
                "name": f"{first} {last}",
                "email": f"{first.lower()}.{last.lower()}.{n}@mail.example",
                "phone": f"+1{b.rng.randint(2000000000, 9899999999)}",
            }
        )
    return customers


def finish_customers(
    b: Builder, customers: list[dict], plans: list[Plan], conversations: list[dict]
) -> None:
    rng = b.rng
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
        updated = min(b.end_ms, max(created, entry["latest"]) + rng.randint(0, 5 * SECOND_MS))
        deleted = rng.random() < 0.02
        counts = entry["counts"]
        first = cust["name"].split()[0]
        attrs = {
            "name": cust["name"],
            "displayName": cust["name"],
            "emails": [{"type": "home", "email": cust["email"]}],
            "phones": [{"type": "mobile", "phone": cust["phone"]}] if rng.random() < 0.7 else [],
            "locale": rng.choice(["en_US", "en_GB", "es_ES", None]),
            "createdAt": iso(created),
            "updatedAt": iso(updated),
            "modifiedAt": iso(updated),
            "lastActivityAt": iso(max(created, entry["latest"])),
            "deleted": deleted,
            "rev": rng.randint(1, 20),
            "custom": None if rng.random() < 0.5 else {"tierStr": rng.choice(["gold", "silver"])},
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
        cust["obj"] = b.base("customer", cust["id"], "v1/customers", attrs, {})
    b.streams["customers"] += [c["obj"] for c in customers]
