"""Typed custom attributes (``attributes.custom``) on customers, companies, conversations,
messages, notes and the KObjects of each Klass, and the declarations their metadata serves.

The suffix of a name sets its type (Kustomer's custom attributes page): Str and Txt (string),
Num (number), At (ISO 8601 date-time), Bool (boolean), Url (URI), Id (the id of another object)
and Tree (a path in a tree of values). Every resource declares each suffix. On top of the
values the earlier steps wrote (kept as they are), most objects get most attributes, some
an explicit null, and a few objects a value that breaks its type or an attribute no metadata
declares (``UNDECLARED``). The last step of the build, each object drawing from a
``Side(b, "custom:<id>")`` of its own: every other value, id and timestamp of the org stays as
it was.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kustomer_api.seed.shapes import iso
from kustomer_api.seed.side import Side
from kustomer_api.seed.spec import DAY_MS

if TYPE_CHECKING:
    from kustomer_api.seed.builder import Builder

# Resource -> {attribute: (display name, metadata type)}. Within a type, attributes the earlier
# steps write come first: the last one of a type is always new, and takes the broken values.
CUSTOM_ATTRIBUTES: dict[str, dict[str, tuple[str, str]]] = {
    "customer": {
        "tierStr": ("Tier", "string"),
        "loyaltyCardStr": ("Loyalty card", "string"),
        "notesTxt": ("Notes", "text"),
        "lifetimeValueNum": ("Lifetime value", "number"),
        "lastOrderAt": ("Last order at", "date"),
        "marketingOptInBool": ("Marketing opt-in", "boolean"),
        "accountUrl": ("Account", "url"),
        "primaryOrderId": ("Primary order", "id"),
        "segmentTree": ("Segment", "tree"),
    },
    "company": {
        "accountTierStr": ("Account tier", "string"),
        "seatsNum": ("Seats", "number"),
        "taxNumberStr": ("Tax number", "string"),
        "profileTxt": ("Profile", "text"),
        "annualRevenueNum": ("Annual revenue", "number"),
        "renewalAt": ("Renewal at", "date"),
        "enterpriseBool": ("Enterprise", "boolean"),
        "websiteUrl": ("Website", "url"),
        "accountManagerId": ("Account manager", "id"),
        "regionTree": ("Region", "tree"),
    },
    "conversation": {
        "orderNumberStr": ("Order number", "string"),
        "refundNum": ("Refund", "number"),
        "vipBool": ("VIP", "boolean"),
        "reasonTree": ("Reason", "tree"),
        "escalationStr": ("Escalation", "string"),
        "paymentLast4Str": ("Card last 4 digits", "string"),
        "summaryTxt": ("Summary", "text"),
        "compensationNum": ("Compensation", "number"),
        "promisedAt": ("Promised at", "date"),
        "followUpBool": ("Follow-up", "boolean"),
        "trackingUrl": ("Tracking", "url"),
        "orderId": ("Order", "id"),
    },
    "message": {
        "sentimentScoreNum": ("Sentiment score", "number"),
        "intentStr": ("Intent", "string"),
        "cardNumberStr": ("Card number", "string"),
        "translationTxt": ("Translation", "text"),
        "readAt": ("Read at", "date"),
        "flaggedBool": ("Flagged", "boolean"),
        "recordingUrl": ("Recording", "url"),
        "orderId": ("Order", "id"),
        "topicTree": ("Topic", "tree"),
    },
    "note": {
        "categoryStr": ("Category", "string"),
        "verificationCodeStr": ("Verification code", "string"),
        "detailsTxt": ("Details", "text"),
        "minutesSpentNum": ("Minutes spent", "number"),
        "followUpAt": ("Follow up at", "date"),
        "internalOnlyBool": ("Internal only", "boolean"),
        "ticketUrl": ("Ticket", "url"),
        "assigneeId": ("Assignee", "id"),
        "topicTree": ("Topic", "tree"),
    },
    "kobject.ecomm-order": {
        "orderNumberStr": ("Order number", "string"),
        "totalNum": ("Total", "number"),
        "statusStr": ("Status", "string"),
        "placedAt": ("Placed at", "date"),
        "giftBool": ("Gift", "boolean"),
        "paymentLast4Str": ("Card last 4 digits", "string"),
        "giftMessageTxt": ("Gift message", "text"),
        "discountNum": ("Discount", "number"),
        "deliveredAt": ("Delivered at", "date"),
        "expressBool": ("Express", "boolean"),
        "trackingUrl": ("Tracking", "url"),
        "subscriptionId": ("Subscription", "id"),
        "categoryTree": ("Category", "tree"),
    },
    "kobject.subscription": {
        "planStr": ("Plan", "string"),
        "renewsAt": ("Renews at", "date"),
        "termsTxt": ("Terms", "text"),
        "priceNum": ("Price", "number"),
        "startedAt": ("Started at", "date"),
        "autoRenewBool": ("Auto-renew", "boolean"),
        "portalUrl": ("Portal", "url"),
        "billedCompanyId": ("Billed company", "id"),
        "categoryTree": ("Category", "tree"),
    },
    "kobject.return-request": {
        "rmaStr": ("RMA", "string"),
        "reasonTree": ("Reason", "tree"),
        "conditionStr": ("Condition", "string"),
        "commentTxt": ("Comment", "text"),
        "refundNum": ("Refund", "number"),
        "receivedAt": ("Received at", "date"),
        "restockBool": ("Restock", "boolean"),
        "labelUrl": ("Return label", "url"),
        "orderId": ("Order", "id"),
    },
}
SENSITIVE: dict[str, frozenset[str]] = {
    resource: frozenset(names)
    for resource, names in {
        "customer": ("loyaltyCardStr",),
        "company": ("taxNumberStr",),
        "conversation": ("paymentLast4Str",),
        "message": ("cardNumberStr",),
        "note": ("verificationCodeStr",),
        "kobject.ecomm-order": ("paymentLast4Str",),
        "kobject.subscription": (),
        "kobject.return-request": (),
    }.items()
}
# On some objects of every resource, with no metadata: a known suffix and none.
UNDECLARED = ("legacyCodeStr", "sourceSystem")
# Dropdowns (metadata ``enumeration: true`` and ``values``), by attribute name.
ENUMERATIONS = {
    "tierStr": ["gold", "silver"],
    "accountTierStr": ["enterprise", "growth", "free"],
    "escalationStr": ["none", "tier2", "manager"],
    "intentStr": ["question", "complaint", "praise", "other"],
    "categoryStr": ["billing", "shipping", "fraud", "other"],
    "statusStr": ["placed", "shipped", "delivered", "returned", "cancelled"],
    "planStr": ["monthly", "annual"],
    "conditionStr": ["new", "opened", "damaged"],
}
# The resource an Id attribute names (metadata ``target``), by attribute name: ones whose
# objects a recent past (``recent_days``) leaves as they are, so that the values stay too.
TARGETS = {
    "primaryOrderId": "kobject.ecomm-order",
    "orderId": "kobject.ecomm-order",
    "subscriptionId": "kobject.subscription",
    "billedCompanyId": "company",
    "accountManagerId": "user",
    "assigneeId": "user",
}
# Tree attributes: top-level value -> its children.
_TREE_VALUES: dict[str, dict[str, tuple[str, ...]]] = {
    "reasonTree": {
        "billing": ("refund",),
        "shipping": ("delay",),
        "product": ("defect",),
        "other": (),
    },
    "segmentTree": {"retail": ("new", "returning"), "wholesale": ("small", "large")},
    "regionTree": {"americas": ("us", "brazil"), "emea": ("germany", "france"), "apac": ("japan",)},
    "topicTree": {"order": ("status", "change"), "account": ("login",), "feedback": ()},
    "categoryTree": {"apparel": ("shoes", "jackets"), "gear": ("tents",), "gift-card": ()},
}


# Metadata ``tree`` of each tree attribute: nested ``children``, top levels with display names.
TREES = {
    name: {
        "children": [
            {
                "value": top,
                "displayName": top.replace("-", " ").capitalize(),
                **({"children": [{"value": c} for c in children]} if children else {}),
            }
            for top, children in values.items()
        ]
    }
    for name, values in _TREE_VALUES.items()
}
# The values objects hold: "<top>.<child>", or "<top>" for a top level without children.
_TREE_PATHS = {
    name: [f"{top}.{c}" if c else top for top, cs in values.items() for c in cs or ("",)]
    for name, values in _TREE_VALUES.items()
}
# (low, high, decimals) of numbers; others are 0..1000 with 2 decimals.
_NUMBERS = {
    "lifetimeValueNum": (0, 5000, 2),
    "seatsNum": (5, 500, 0),
    "annualRevenueNum": (10_000, 5_000_000, 0),
    "sentimentScoreNum": (-1, 1, 2),
    "minutesSpentNum": (1, 90, 0),
}
_TEXTS = (
    "Prefers email. Allergic to latex.",
    "Called twice about the same parcel.\nAsked for a supervisor.",
    "Kundin wünscht Rückruf — bitte nach 17 Uhr.",
    "VIP since 2019; handle with care 🙂",
    "",
)
# Broken values (about 3% of the objects each, at fixed positions; ``_fill``): (metadata type,
# values).
_BROKEN = (
    ("number", ("12", "3.5", "40", "0.25")),
    ("number", ("n/a",)),
    ("date", ("not a date",)),
    ("boolean", ("true", "false")),
)
_PERIOD = 30  # objects per round of broken values: each kind on 1 in 30
_MISSING = 0.1  # share of objects without a given attribute
_NULL = 0.08  # share with an explicit null


def custom_data(b: Builder) -> None:
    klass_of = {klass_id: name for name, klass_id in b.klass_ids.items()}
    by_resource: dict[str, list[dict]] = {
        "customer": b.streams["customers"],
        "company": b.streams["companies"],
        "conversation": b.streams["conversations"],
        "message": b.streams["messages"],
        "note": b.streams["notes"],
    }
    for kobject in b.streams["kobjects"]:
        klass = klass_of[kobject["relationships"]["klass"]["data"]["id"]]
        by_resource.setdefault(f"kobject.{klass}", []).append(kobject)
    targets = {resource: [o["id"] for o in objects] for resource, objects in by_resource.items()}
    targets["user"] = b.humans
    for resource, objects in by_resource.items():
        for n, (side, custom) in enumerate(_holders(b, objects)):
            _fill(side, resource, n, custom, targets)


def _holders(b: Builder, objects: list[dict]) -> list[tuple[Side, dict]]:
    """The ``custom`` dict to fill of each object that gets one, with the object's random stream.

    Each object draws from a stream of its own (``custom:<id>``), and what depends on a
    position depends only on the objects before it: objects a spec adds at the end of a
    stream (``recent_days``) change none of the others. Objects with a dict keep it; every
    other one with ``custom: null`` (the first included) keeps the null; objects without the
    key (messages, notes) mostly get a dict, some a null and some stay without.
    """
    holders = []
    nulls = 0
    for obj in objects:
        side = Side(b, f"custom:{obj['id']}")
        attrs = obj["attributes"]
        if "custom" not in attrs:
            draw = side.rng.random()
            if draw < 0.2:
                continue
            attrs["custom"] = None if draw < 0.3 else {}
        elif attrs["custom"] is None:
            nulls += 1
            if nulls % 2 == 0:
                attrs["custom"] = {}
        if attrs["custom"] is not None:
            holders.append((side, attrs["custom"]))
    return holders


def _fill(side: Side, resource: str, n: int, custom: dict, targets: dict[str, list[str]]) -> None:
    """The attributes of the ``n``-th object of ``resource`` that holds a ``custom`` dict."""
    rng = side.rng
    declared = CUSTOM_ATTRIBUTES[resource]
    for name, (_display, kind) in declared.items():
        if name in custom:
            continue  # written by an earlier step
        draw = rng.random()
        # The first object has every attribute, so that each suffix appears on every resource.
        if n == 0 or draw >= _MISSING + _NULL:
            custom[name] = _value(side, resource, name, kind, targets)
        elif draw >= _MISSING:
            custom[name] = None
    if n % 5 == 0:
        custom["legacyCodeStr"] = f"L{rng.randint(100, 999)}"
    if n % 3 == 1:
        custom["sourceSystem"] = rng.choice(("zendesk", "salesforce", "csv-import"))
    # The 2nd to 5th object of every round of _PERIOD get one broken value each (the first
    # round too, so that a resource of a few objects has each).
    broken = n % _PERIOD - 1
    if 0 <= broken < len(_BROKEN):
        kind, values = _BROKEN[broken]
        last_of = {k: name for name, (_display, k) in declared.items()}
        custom[last_of[kind]] = rng.choice(values)


def _value(  # noqa: PLR0911 (one return per metadata type)
    side: Side, resource: str, name: str, kind: str, targets: dict[str, list[str]]
) -> Any:
    """A valid value of a declared attribute."""
    rng = side.rng
    if kind == "string":
        if name in ENUMERATIONS:
            return rng.choice(ENUMERATIONS[name])
        return f"{name[:3].upper()}-{rng.randint(100_000, 999_999)}"
    if kind == "text":
        return rng.choice(_TEXTS)
    if kind == "number":
        low, high, decimals = _NUMBERS.get(name, (0, 1000, 2))
        if decimals == 0:
            return rng.randint(low, high)
        return round(rng.uniform(low, high), decimals)
    if kind == "date":
        return iso(side.between(side.b.start_ms, side.b.now_ms + 90 * DAY_MS))
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "url":
        path = resource.replace(".", "/")
        return f"https://admin.acme.example/{path}/{name[:-3].lower()}/{rng.randint(1000, 99_999)}"
    if kind == "id":
        pool = targets.get(TARGETS[name]) or [None]
        return rng.choice(pool)
    return rng.choice(_TREE_PATHS[name])
