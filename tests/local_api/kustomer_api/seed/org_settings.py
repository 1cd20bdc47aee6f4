"""Org settings (issue 15): brands, business schedules with holidays, SLAs with their versions,
shortcuts, Klasses and the custom attribute metadata of every resource (``custom_data``'s).

Shapes follow Kustomer's API reference where it shows them (a schedule's ``hours`` keyed "0"
(Sunday) to "6" in minutes after local midnight, soft deletes with ``deleted``/``deletedAt``,
the ``versions`` of an SLA in ``included``) and MeltanoLabs' tap-kustomer schemas otherwise.
Everything comes from ``Side(b, "settings")``: the org built before is unchanged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kustomer_api.seed.custom_data import (
    CUSTOM_ATTRIBUTES,
    ENUMERATIONS,
    SENSITIVE,
    TARGETS,
    TREES,
)
from kustomer_api.seed.shapes import audit_attributes, iso, rel
from kustomer_api.seed.side import Side
from kustomer_api.seed.spec import DAY_MS

if TYPE_CHECKING:
    from kustomer_api.seed.builder import Builder

_WORKDAY = [[480, 1020]]  # 8:00-17:00
_SPLIT_SHIFT = [[540, 720], [780, 1080]]  # 9:00-12:00 and 13:00-18:00
# (name, timezone, hours by weekday "0" (Sunday) .. "6", holidays (name, month, day, days))
_SCHEDULES = (
    (
        "US Support",
        "America/New_York",
        {"0": None, **{str(d): _WORKDAY for d in range(1, 6)}, "6": [[600, 840]]},
        (("New Year's Day", 1, 1, 1), ("Independence Day", 7, 4, 1), ("Thanksgiving", 11, 27, 2)),
    ),
    (
        "EU Support",
        "Europe/Berlin",
        {"0": None, **{str(d): _SPLIT_SHIFT for d in range(1, 6)}, "6": None},
        (("Christmas", 12, 24, 3), ("Labour Day", 5, 1, 1)),
    ),
    ("APAC Support (retired)", "Asia/Singapore", {str(d): _WORKDAY for d in range(7)}, ()),
)
_BRANDS = (("Acme Outfitters", "#E4572E"), ("Acme Kids", "#29335C"), ("Trailhead Gear", "#A8C686"))
# (name, description, versions, hours, first response target by priority in ms)
_SLAS = (
    ("Standard SLA", "Every conversation not matched above", 3, "business", 4 * 3_600_000),
    ("VIP SLA", "Customers tagged vip", 2, "calendar", 3_600_000),
    ("Social SLA", "Facebook, Instagram and Twitter", 1, "business", 2 * 3_600_000),
)
_SHORTCUTS = (
    "Refund issued",
    "Where is my order",
    "Return label",
    "Address updated",
    "Promo code applied",
    "Subscription cancelled",
    "Escalated to Tier 2",
    "Damaged item: photos please",
    "Chargeback received",
    "Thanks for your patience",
)
# Klass name -> (display name, icon, color); their attributes are ``custom_data``'s.
KLASSES = {
    "ecomm-order": ("Order", "cart", "#5B6CF9"),
    "subscription": ("Subscription", "refresh", "#2BA84A"),
    "return-request": ("Return", "undo", "#E4572E"),
}


def settings(b: Builder) -> None:
    side = Side(b, "settings")
    schedule_ids = _schedules(b, side)
    _brands(b, side)
    _slas(b, side, schedule_ids)
    _shortcuts(b, side)
    b.klass_ids = _klasses(b, side)
    _metadata(b, side)


def _created(b: Builder, side: Side) -> tuple[int, int]:
    """Creation early in the history, last change any time since."""
    created = side.between(b.start_ms - 200 * DAY_MS, b.start_ms + 30 * DAY_MS)
    return created, side.between(created, b.latest_ms)


def _schedules(b: Builder, side: Side) -> list[str]:
    ids = []
    year = int(iso(b.now_ms)[:4])
    for n, (name, timezone, hours, holidays) in enumerate(_SCHEDULES):
        created, updated = _created(b, side)
        deleted = name.endswith("(retired)")
        holiday_ids = []
        for title, month, day, days in holidays:
            hid = side.oid(created)
            start = f"{year}-{month:02d}-{day:02d}T00:00:00.000Z"
            end_day = day + days - 1
            end = f"{year}-{month:02d}-{end_day:02d}T23:59:59.999Z"
            attrs = {"name": title, "startDate": start, "endDate": end, "enabled": True}
            b.streams["holidays"].append(b.base("holiday", hid, "v1/holidays", attrs, {}))
            holiday_ids.append(hid)
        attrs = {
            "name": name,
            "description": f"{name} business hours",
            "timezone": timezone,
            "hours": hours,
            "default": n == 0,
            **audit_attributes(created, updated, deleted=deleted),
        }
        rels = {
            **b.audit_relationships(deleted=deleted),
            "holidays": {"data": [{"type": "holiday", "id": h} for h in holiday_ids]},
        }
        sid = side.oid(created)
        b.streams["business_schedules"].append(b.base("schedule", sid, "v1/schedules", attrs, rels))
        ids.append(sid)
    return ids


def _brands(b: Builder, side: Side) -> None:
    for n, (name, color) in enumerate(_BRANDS):
        created, updated = _created(b, side)
        # The first is the brand every conversation names (the builder's brand_id).
        brand_id = b.brand_id if n == 0 else side.oid(created)
        slug = name.lower().replace(" ", "-")
        attrs = {
            "name": name,
            "iconUrl": f"https://cdn.example/brands/{slug}.png",
            "default": n == 0,
            "color": color,
            **audit_attributes(created, updated, deleted=False),
        }
        rels = b.audit_relationships(deleted=False)
        b.streams["brands"].append(b.base("brand", brand_id, "v1/brands", attrs, rels))


def _slas(b: Builder, side: Side, schedule_ids: list[str]) -> None:
    for order, (name, description, versions, hours, target_ms) in enumerate(_SLAS):
        created, updated = _created(b, side)
        sla_id = side.oid(created)
        version_ids = []
        for version in range(1, versions + 1):
            at = side.between(created, updated)
            vid = side.oid(at)
            factor = 1 + versions - version  # later versions tighten the targets
            attrs = {
                "name": name,
                "description": description,
                "version": version,
                "hours": hours,
                "metrics": {
                    "firstResponse": {str(p): target_ms * factor // p for p in range(1, 6)},
                    "longestUnrespondedMessage": {"3": target_ms * 2 * factor},
                },
                "criteria": {"and": [{"conversation_channels": {"in": ["email", "chat"]}}]},
                "createdAt": iso(at),
                "updatedAt": iso(at),
                "modifiedAt": iso(at),
            }
            rels = {
                "sla": rel("sla", sla_id, "slas"),
                "createdBy": rel("user", b.api_user_id, "users"),
            }
            if hours == "business":
                rels["schedule"] = rel("schedule", schedule_ids[0], "schedules")
            b.streams["sla_versions"].append(
                b.base("sla_version", vid, "v1/slas/versions", attrs, rels)
            )
            version_ids.append(vid)
        attrs = {
            "name": name,
            "description": description,
            "enabled": True,
            "order": order,
            "currentVersion": versions,
            **audit_attributes(created, updated, deleted=False),
        }
        rels = {
            **b.audit_relationships(deleted=False),
            "versions": {"data": [{"type": "sla_version", "id": v} for v in version_ids]},
        }
        b.streams["slas"].append(b.base("sla", sla_id, "v1/slas", attrs, rels))


def _shortcuts(b: Builder, side: Side) -> None:
    rng = side.rng
    for n, name in enumerate(_SHORTCUTS):
        created, updated = _created(b, side)
        deleted = n == len(_SHORTCUTS) - 1
        attrs = {
            "name": name,
            "draft": {"text": f"Hi {{{{customer.firstName}}}}, {name.lower()}."},
            "isPrivate": rng.random() < 0.2,
            "appDisabled": False,
            "rev": rng.randint(1, 6),
            **audit_attributes(created, updated, deleted=deleted),
        }
        rels = b.audit_relationships(deleted=deleted)
        if rng.random() < 0.3:
            rels["accessTeams"] = {
                "data": [{"type": "team", "id": t} for t in rng.sample(b.team_ids, 1)]
            }
        sid = side.oid(created)
        b.streams["shortcuts"].append(b.base("shortcut", sid, "v1/shortcuts", attrs, rels))


def _klasses(b: Builder, side: Side) -> dict[str, str]:
    ids = {}
    for name, (display, icon, color) in KLASSES.items():
        created, updated = _created(b, side)
        properties = CUSTOM_ATTRIBUTES[f"kobject.{name}"]
        described = {k: {"displayName": d, "type": t} for k, (d, t) in properties.items()}
        attrs = {
            "name": name,
            "displayName": display,
            "icon": icon,
            "color": color,
            "metadata": {"properties": described},
            **audit_attributes(created, updated, deleted=False),
        }
        klass_id = side.oid(created)
        b.streams["klasses"].append(
            b.base("klass", klass_id, "v1/klasses", attrs, b.audit_relationships(deleted=False))
        )
        ids[name] = klass_id
    return ids


def _metadata(b: Builder, side: Side) -> None:
    """The metadata of every resource of ``CUSTOM_ATTRIBUTES``; users have none (404)."""
    for resource, properties in CUSTOM_ATTRIBUTES.items():
        created, updated = _created(b, side)
        described = {}
        for name, (display, kind) in properties.items():
            entry = {
                "displayName": display,
                "type": kind,
                "modifiedAt": iso(side.between(created, updated)),
                "modifiedBy": b.api_user_id,
                # [?] what it flags beyond ``sensitive``: no attribute here has sub-attributes.
                "hasSensitiveAttributes": False,
            }
            if name in ENUMERATIONS:
                entry.update(enumeration=True, values=ENUMERATIONS[name])
            if name in TREES:
                entry["tree"] = TREES[name]
            if name in TARGETS:
                entry["target"] = TARGETS[name]
            if name in SENSITIVE[resource]:
                entry["sensitive"] = True
            described[name] = entry
        attrs = {"properties": described, "createdAt": iso(created), "updatedAt": iso(updated)}
        # The metadata of a resource is addressed by the resource's name, not an ObjectId.
        b.streams["metadata"].append(b.base("metadata", resource, "v1/metadata", attrs, {}))
