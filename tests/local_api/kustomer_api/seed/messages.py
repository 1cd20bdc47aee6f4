"""Messages: a conversation's messages on its channels, with channel-specific meta."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from kustomer_api.seed.shapes import iso, rel
from kustomer_api.seed.spec import DAY_MS, HOUR_MS, MINUTE_MS, SECOND_MS

if TYPE_CHECKING:
    from kustomer_api.seed.builder import Builder
    from kustomer_api.seed.plans import Plan

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
PRIMARY_CHANNELS = (
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
_SUPPORT_EMAIL = "support@acme-goods.example"
_SUPPORT_PHONE = "+17185146292"


@dataclass
class Msg:
    """Bookkeeping for one generated message while its conversation is assembled."""

    obj: dict
    sent: int
    created: int
    direction: str
    dtype: str
    channel: str
    agent: str | None


def gap(b: Builder, channel: str) -> float:
    mean = _EMAIL_GAP_MS if channel == "email" else _GAP_MS.get(channel, _DEFAULT_GAP_MS)
    return b.rng.expovariate(1 / mean)


def directions(b: Builder, plan: Plan, count: int) -> list[str]:
    if plan.outbound_only:
        return ["out"] * count
    dirs = [plan.direction]
    for _ in range(count - 1):
        prev = dirs[-1]
        flip = b.rng.random() < 0.6
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


def conversation_messages(b: Builder, plan: Plan, customer: dict, agent: str) -> list[Msg]:
    rng = b.rng
    count = min(15, int(rng.expovariate(1 / 4.2)) + 1)
    dirs = directions(b, plan, count)
    channels = [plan.channel] * len(dirs)
    if plan.multi_channel:
        second = rng.choice([c for c in KNOWN_CHANNELS if c != plan.channel])
        channels = [channels[0]] + [
            second if rng.random() < 0.5 else plan.channel for _ in dirs[1:]
        ]
    offsets = [0.0]
    for ch in channels[1:]:
        offsets.append(offsets[-1] + gap(b, ch) + SECOND_MS)
    room = min(plan.bound - 5 * SECOND_MS, plan.created + 21 * DAY_MS) - plan.created
    scale = min(1.0, room / offsets[-1]) if offsets[-1] else 1.0
    msgs: list[Msg] = []
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
        msg = message(
            b, plan, customer, agent, (sent, created), (direction, dtype, channel), voice_answered
        )
        msgs.append(Msg(msg, sent, created, direction, dtype, channel, agent))
    return msgs


def channel_meta(
    b: Builder, channel: str, direction: str, customer: dict, sent: int, answered: bool
) -> dict:
    rng = b.rng
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
        limit = b.end_ms
        if answered:
            answered_at = min(limit, sent + rng.randint(3, 90) * SECOND_MS + rng.randint(0, 999))
            meta["answeredAt"] = iso(answered_at)
            meta["endedAt"] = iso(min(limit, answered_at + rng.randint(30, 1200) * SECOND_MS))
            meta["status"] = "completed"
        else:
            meta["endedAt"] = iso(min(limit, sent + rng.randint(10, 60) * SECOND_MS))
            meta["status"] = rng.choice(["missed", "voicemail"])
        # A few voice messages lack placedAt.
        b.voice_messages += 1
        if b.voice_messages % 20 == 7:
            del meta["placedAt"]
        return meta
    return {}


def message(
    b: Builder,
    plan: Plan,
    customer: dict,
    agent: str,
    times: tuple[int, int],
    kind: tuple[str, str, str],
    answered: bool,
) -> dict:
    rng = b.rng
    sent, created = times
    direction, dtype, channel = kind
    inbound = direction == "in"
    mid = b.oid(created)
    updated = created + rng.randint(0, 40)
    if rng.random() < 0.08:
        updated = b.between(updated, plan.bound)
    text = rng.choice(_CUSTOMER_LINES if inbound else _AGENT_LINES)
    meta = channel_meta(b, channel, direction, customer, sent, answered)
    team = b.team_of.get(agent)
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
        "customer": rel(customer_type, customer["id"], "customers"),
        "conversation": rel("conversation", plan.id, "conversations"),
    }
    if not inbound:
        rels["createdBy"] = rel("user", agent, "users")
        rels["modifiedBy"] = rel("user", agent, "users")
    msg = b.base("message", mid, "v1/messages", attrs, rels)
    b.streams["messages"].append(msg)
    return msg


def tie_messages(b: Builder) -> None:
    if not b.spec.tie_size:
        return
    at = b.message_tie_ms
    stamp = iso(at)
    candidates = [
        m
        for m in b.streams["messages"]
        if m["attributes"]["createdAt"] <= stamp
        and m["relationships"]["conversation"]["data"]["id"] not in b.old_ids
    ]
    for msg in b.rng.sample(candidates, min(b.spec.tie_size, len(candidates))):
        msg["attributes"]["updatedAt"] = stamp
        msg["attributes"]["modifiedAt"] = stamp
