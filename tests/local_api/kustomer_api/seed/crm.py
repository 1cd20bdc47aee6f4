"""CRM objects (issue 15): companies, notes on conversations, KObjects of each Klass and, with
``OrgSpec.object_links``, attachments on some messages and companies named by some customers.

Companies and KObjects spread over the history like conversations (so some are past the search
horizon, for the archive); notes sit inside their conversation's life; attachments take their
message's times. Everything comes from ``Side(b, "crm")``: the org built before is unchanged,
except, with ``object_links``, the customers and messages that gain a relationship.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kustomer_api.seed.custom_data import ENUMERATIONS
from kustomer_api.seed.org_settings import KLASSES
from kustomer_api.seed.shapes import audit_attributes, rel
from kustomer_api.seed.side import Side, ms

if TYPE_CHECKING:
    from kustomer_api.seed.builder import Builder

_COMPANY_NAMES = (
    "Northwind",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark Logistics",
    "Wayne Retail",
    "Hooli",
    "Vandelay Imports",
    "Soylent",
    "Tyrell",
    "Cyberdyne",
    "Wonka Foods",
)
_NOTE_LINES = (
    "Checked the order in Shopify: shipped yesterday, tracking not updated yet.",
    "Customer is a VIP, offered a 10% voucher.",
    "Fraud check passed.",
    "Waiting on the warehouse to confirm the return.",
    "Refund approved by Billing, see ticket BIL-{n}.",
    "Called the customer, no answer. Will retry tomorrow.",
)
_FILES = (
    ("photo", "jpg", "image/jpeg"),
    ("screenshot", "png", "image/png"),
    ("invoice", "pdf", "application/pdf"),
    ("recording", "mp3", "audio/mpeg"),
    ("label", "pdf", "application/pdf"),
)


def crm(b: Builder) -> None:
    side = Side(b, "crm")
    company_ids = _companies(b, side)
    _notes(b, side)
    _kobjects(b, side, company_ids)
    if b.spec.object_links:
        _link_customers(b, side, company_ids)
        _attachments(b, side)


def _spread(b: Builder, side: Side) -> tuple[int, int]:
    created = side.between(b.start_ms, b.latest_ms)
    return created, side.later(created)


def _companies(b: Builder, side: Side) -> list[str]:
    rng = side.rng
    ids = []
    for n in range(max(4, b.spec.conversations // 25)):
        created, updated = _spread(b, side)
        name = f"{_COMPANY_NAMES[n % len(_COMPANY_NAMES)]} {n // len(_COMPANY_NAMES) + 1}"
        slug = name.lower().replace(" ", "-")
        deleted = rng.random() < 0.05
        attrs = {
            "name": name,
            "externalId": f"CRM-{rng.randint(10000, 99999)}",
            "domains": [f"{slug}.example"],
            "emails": [{"type": "work", "email": f"support@{slug}.example"}],
            "phones": [{"type": "work", "phone": f"+1{rng.randint(2000000000, 9899999999)}"}]
            if rng.random() < 0.6
            else [],
            "tags": rng.sample(b.tag_ids, rng.choice([0, 0, 1, 2])),
            "custom": None
            if rng.random() < 0.3
            else {
                "accountTierStr": rng.choice(["enterprise", "growth", "free"]),
                "seatsNum": rng.randint(5, 500),
            },
            "rev": rng.randint(1, 9),
            "roleGroupVersions": [],
            **audit_attributes(created, updated, deleted=deleted),
        }
        company_id = side.oid(created)
        rels = b.audit_relationships(deleted=deleted)
        b.streams["companies"].append(b.base("company", company_id, "v1/companies", attrs, rels))
        if not deleted:
            ids.append(company_id)
    return ids


def _notes(b: Builder, side: Side) -> None:
    rng = side.rng
    for conversation in b.streams["conversations"]:
        if rng.random() >= 0.25:
            continue
        attrs_of = conversation["attributes"]
        begin, end = ms(attrs_of["createdAt"]), ms(attrs_of["updatedAt"])
        customer_id = conversation["relationships"]["customer"]["data"]["id"]
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            created = side.between(begin + 1, max(begin + 1, end))
            updated = created + rng.randint(0, 4000)
            if rng.random() < 0.1:
                updated = side.between(updated, b.latest_ms)
            agent = rng.choice(b.humans)
            team = b.team_of.get(agent)
            deleted = rng.random() < 0.02
            attrs = {
                "body": rng.choice(_NOTE_LINES).format(n=rng.randint(100, 999)),
                "createdByTeams": [team] if team else [],
                "userMentions": [{"user": rng.choice(b.humans)}] if rng.random() < 0.2 else [],
                "rev": rng.randint(1, 3),
                **audit_attributes(created, min(updated, b.latest_ms), deleted=deleted),
            }
            rels = {
                "conversation": rel("conversation", conversation["id"], "conversations"),
                "customer": rel("customer", customer_id, "customers"),
                "createdBy": rel("user", agent, "users"),
                "modifiedBy": rel("user", agent, "users"),
            }
            note_id = side.oid(created)
            b.streams["notes"].append(b.base("note", note_id, "v1/notes", attrs, rels))


def _kobject_custom(side: Side, klass: str, n: int) -> dict:
    rng = side.rng
    if klass == "ecomm-order":
        return {
            "orderNumberStr": f"ORD-{440000 + n}",
            "totalNum": round(rng.uniform(9, 480), 2),
            "statusStr": rng.choice(ENUMERATIONS["statusStr"]),
            "giftBool": rng.random() < 0.1,
        }
    if klass == "subscription":
        return {"planStr": rng.choice(["monthly", "annual"])}
    return {
        "rmaStr": f"RMA-{rng.randint(1000, 9999)}",
        "reasonTree": rng.choice(["sizing", "damaged", "changed_mind"]),
    }


def _kobjects(b: Builder, side: Side, company_ids: list[str]) -> None:
    rng = side.rng
    customer_ids = [c["id"] for c in b.streams["customers"]]
    shares = {"ecomm-order": 12, "subscription": 40, "return-request": 30}
    for klass, (display, icon, _color) in KLASSES.items():
        for n in range(max(3, b.spec.conversations // shares[klass])):
            created, updated = _spread(b, side)
            deleted = rng.random() < 0.02
            attrs = {
                "title": f"{display} #{4400 + n}",
                "description": f"{display} synced from the store",
                "externalId": f"{klass}-{n}",
                "icon": icon,
                "images": [],
                "data": {"source": "store-sync", "lineItems": rng.randint(1, 5)},
                "custom": _kobject_custom(side, klass, n),
                "tags": [],
                "rev": rng.randint(1, 5),
                **audit_attributes(created, updated, deleted=deleted),
            }
            rels = {
                "klass": rel("klass", b.klass_ids[klass], "klasses"),
                "customer": rel("customer", rng.choice(customer_ids), "customers"),
                **b.audit_relationships(deleted=deleted),
            }
            if company_ids and rng.random() < 0.2:
                rels["company"] = rel("company", rng.choice(company_ids), "companies")
            kobject_id = side.oid(created)
            b.streams["kobjects"].append(
                b.base("kobject", kobject_id, f"v1/klasses/{klass}", attrs, rels)
            )


def _link_customers(b: Builder, side: Side, company_ids: list[str]) -> None:
    """Some customers work for a company (``object_links``)."""
    if not company_ids:
        return
    for customer in b.streams["customers"]:
        if side.rng.random() < 0.4:
            company_id = side.rng.choice(company_ids)
            customer["relationships"]["company"] = rel("company", company_id, "companies")


def _attachments(b: Builder, side: Side) -> None:
    """Files on about one message in twenty (``object_links``); the message names them."""
    rng = side.rng
    for message in b.streams["messages"]:
        if rng.random() >= 0.05:
            continue
        created = message["attributes"]["createdAt"]
        refs = []
        for _ in range(rng.choice([1, 1, 2])):
            stem, extension, content_type = rng.choice(_FILES)
            attrs = {
                "name": f"{stem}-{rng.randint(1, 999)}.{extension}",
                "contentType": content_type,
                "contentLength": rng.randint(2_000, 4_000_000),
                "redacted": False,
                "uploaded": True,
                "createdAt": created,
                "updatedAt": created,
            }
            rels = {"message": rel("message", message["id"], "messages")}
            attachment_id = side.oid(ms(created))
            b.streams["attachments"].append(
                b.base("attachment", attachment_id, "v1/attachments", attrs, rels)
            )
            refs.append({"type": "attachment", "id": attachment_id})
        message["relationships"]["attachments"] = {"data": refs}
