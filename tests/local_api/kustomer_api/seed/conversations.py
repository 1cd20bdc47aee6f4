"""Conversations: the objects of planned conversations, with their messages, events and
customers; the history's conversations are one step of the build."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kustomer_api.seed.customers import finish_customers
from kustomer_api.seed.events import conversation_events
from kustomer_api.seed.messages import conversation_messages
from kustomer_api.seed.plans import over_history
from kustomer_api.seed.shapes import empty_summary, iso, rel
from kustomer_api.seed.spec import DAY_MS, HOUR_MS, MINUTE_MS, SECOND_MS

if TYPE_CHECKING:
    from kustomer_api.seed.builder import Builder
    from kustomer_api.seed.messages import Msg
    from kustomer_api.seed.plans import Plan


def history(b: Builder) -> None:
    """The conversations of the whole history."""
    generate(b, *over_history(b))


def generate(b: Builder, customers: list[dict], plans: list[Plan]) -> None:
    """The objects of planned conversations, their messages and events, then their customers."""
    conversations = [conversation(b, plan, customers[plan.customer]) for plan in plans]
    finish_customers(b, customers, plans, conversations)
    b.streams["conversations"] += conversations


def summary(b: Builder, m: Msg, *, with_meta: bool, with_author: bool) -> dict:
    out: dict = {"id": m.obj["id"], "sentAt": iso(m.sent), "createdAt": iso(m.created)}
    # A few summaries (1 in 20) lack their channel, as in some real payloads.
    b.summaries += 1
    if b.summaries % 20 != 9:
        out["channel"] = m.channel
    out["directionType"] = m.dtype
    if with_meta and m.obj["attributes"]["meta"]:
        out["meta"] = dict(m.obj["attributes"]["meta"])
    if with_author:
        out["createdBy"] = m.agent
        out["createdByTeams"] = m.obj["attributes"]["createdByTeams"]
    return out


def response_summary(
    b: Builder, plan: Plan, m: Msg, assigned: tuple[list, list], business: str = "number"
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
        out["businessTime"] = int(time_ms * b.rng.uniform(0.3, 1.0))
    out.update(
        {
            "createdAt": iso(m.created),
            "createdBy": m.agent,
            "sentAt": iso(m.sent),
            "responseTime": time_ms,
        }
    )
    return out


def conversation(b: Builder, plan: Plan, customer: dict) -> dict:
    rng = b.rng
    agent = rng.choice(b.humans)
    team = b.team_of.get(agent)
    msgs = conversation_messages(b, plan, customer, agent) if plan.has_messages else []
    c = plan.created
    limit = plan.bound - 1
    last_ms = max((m.created for m in msgs), default=c + b.between(SECOND_MS, 10 * MINUTE_MS))
    # The first message's createdAt can precede the conversation's by a few ms.
    activity = min(limit, max(c, last_ms))
    done_ms = min(limit, activity + b.between(SECOND_MS, 2 * HOUR_MS))
    updated = activity
    if plan.status == "done":
        updated = done_ms
    snooze = None
    if plan.status == "snoozed":
        status_at = min(limit, activity + b.between(MINUTE_MS, HOUR_MS))
        wake = status_at + b.between(DAY_MS, 7 * DAY_MS)
        snooze = {"status": "snoozed", "statusAt": iso(status_at), "time": iso(wake)}
        updated = status_at
    modified = updated
    updated = min(limit, updated + rng.randint(5, 3000))
    if plan.recency == "reopened":
        updated = b.between(updated, limit)
    elif plan.recency == "recent":
        updated = max(updated, b.now_ms - b.between(2 * SECOND_MS, 5 * MINUTE_MS))
    if plan.tied:
        updated = plan.bound
    modified = min(modified, updated)

    roll = rng.random()
    users = [] if roll < 0.15 else [agent] if roll < 0.95 else [agent, rng.choice(b.humans)]
    teams = [team] if team and users else []
    outbound = [m for m in msgs if m.direction == "out"]
    inbound = [m for m in msgs if m.direction == "in"]
    responses = [m for m in msgs if m.dtype == "response-out"]
    channels: list[str] = []
    for m in msgs:
        if m.channel not in channels:
            channels.append(m.channel)
    subject = next((m.obj["attributes"].get("subject") for m in msgs if m.channel == "email"), None)
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
        else empty_summary()
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
            "tags": rng.sample(b.tag_ids, rng.choice([0, 0, 1, 1, 2, 3, 4])),
            "suggestedTags": [],
            "predictions": [],
            "suggestedShortcuts": [],
        }
    )
    if inbound:
        attrs["firstMessageIn"] = summary(b, inbound[0], with_meta=True, with_author=False)
        attrs["lastMessageIn"] = summary(b, inbound[-1], with_meta=True, with_author=False)
    elif plan.direction == "out":
        # Alternate so that both an absent and a null firstMessageIn exist.
        b.out_without_inbound += 1
        if b.out_without_inbound % 2 == 0:
            attrs["firstMessageIn"] = None
    if outbound:
        attrs["firstMessageOut"] = summary(b, outbound[0], with_meta=False, with_author=True)
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
        b.first_responses += 1
        business = {3: "null", 7: "absent"}.get(b.first_responses % 10, "number")
        first_response = response_summary(b, plan, responses[0], (teams, users), business)
        attrs["firstResponse"] = first_response
        attrs["firstResponseSinceLastDone"] = dict(first_response)
        attrs["lastResponse"] = response_summary(b, plan, responses[-1], (teams, users))
    else:
        if shape != "absent":
            attrs["firstResponse"] = {"null": None, "{}": {}, "arrays": empty_summary()}[shape]
        attrs["firstResponseSinceLastDone"] = empty_summary()
        attrs["lastResponse"] = empty_summary()
    attrs.update(
        {
            "firstDone": done_summary,
            "lastDone": dict(done_summary),
            "doneCount": int(done),
            "snoozeCount": int(plan.status == "snoozed"),
            "reopenCount": int(plan.recency == "reopened"),
            "reopenFromDoneCount": int(plan.recency == "reopened" and done),
            "direction": plan.direction,
            "custom": custom(b),
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
                "assistantId": [rng.choice(b.assistant_ids)] if rng.random() < 0.1 else [],
            },
            "phase": "done" if done else "active" if len(msgs) > 1 else "initial",
        }
    )
    if rng.random() < 0.5:
        attrs["sla"] = sla(c, responses[0].created if responses else None)
    attrs["deleted"] = plan.deleted
    if plan.deleted:
        attrs["deletedAt"] = iso(updated)
    rels = {
        "messages": {"links": {"self": f"/v1/conversations/{plan.id}/messages"}},
        "modifiedBy": rel("user", agent, "users"),
        "customer": rel("customer", customer["id"], "customers"),
        "brand": rel("brand", b.brand_id, "brands"),
    }
    if rng.random() < 0.88:
        rels["queue"] = rel("queue", rng.choice(b.queue_ids), "routing/queues")
    conv = b.base("conversation", plan.id, "v1/conversations", attrs, rels)
    plan.extra = {"updated": updated, "activity": activity}
    conversation_events(b, plan, conv, customer["id"], agent)
    return conv


def custom(b: Builder) -> dict | None:
    rng = b.rng
    if rng.random() < 0.35:
        return None
    values = {
        "orderNumberStr": f"ORD-{rng.randint(100000, 999999)}",
        "refundNum": rng.choice([None, round(rng.uniform(5, 400), 2)]),
        "vipBool": rng.random() < 0.1,
        "reasonTree": rng.choice(["billing.refund", "shipping.delay", "product.defect", "other"]),
    }
    keep = rng.sample(sorted(values), rng.randint(1, len(values)))
    return {k: values[k] for k in sorted(keep)}


def sla(created: int, first_response: int | None) -> dict:
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
