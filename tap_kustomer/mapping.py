"""Assembled's mapping rules for Kustomer data, as pure functions (no I/O).

The integration document's tables, with the rows it leaves open decided here:
``whatsapp`` is Social (a messaging app like the others), an unknown channel and a
missing or unknown status map to null (never a guess), and a summary object
without a channel counts as absent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeGuard

from tap_kustomer.records import parse_timestamp, relationship_id

if TYPE_CHECKING:
    import datetime as dt

PHONE = "Phone"
VOICE = "voice"
RESPONSE_OUT = "response-out"

DEFAULT_CHANNELS: dict[str, str | None] = {
    "email": "Email",
    "chat": "Chat",
    "sms": "SMS",
    VOICE: PHONE,
    "facebook": "Social",
    "twitter-dm": "Social",
    "twitter-tweet": "Social",
    "instagram": "Social",
    "whatsapp": "Social",
}
STATUSES = {"done": "closed", "open": "open", "snoozed": "snoozed"}
HUMAN_USER_TYPE = "user"
STANDARD_ROLE = "Standard"
_MS_PER_SECOND = 1000


@dataclass(frozen=True)
class TicketRules:
    """The user's choices: channel table overrides and business-time SLAs."""

    channel_overrides: dict[str, str | None] = field(default_factory=dict)
    use_business_time: bool = False

    def channel(self, kustomer_channel: str | None) -> str | None:
        """Assembled channel of a Kustomer channel; overrides win, unknown is null."""
        if kustomer_channel is None:
            return None
        if kustomer_channel in self.channel_overrides:
            return self.channel_overrides[kustomer_channel]
        return DEFAULT_CHANNELS.get(kustomer_channel)


def _object(value: Any) -> dict[str, Any]:  # noqa: ANN401 - API values are untyped
    """A sub-object as a dict; absent, null or malformed ones are empty."""
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:  # noqa: ANN401
    return value if isinstance(value, str) and value else None


def kustomer_channel(attributes: dict[str, Any]) -> str | None:
    """``firstMessageIn.channel``, else ``firstMessageOut.channel``, else ``channels[0]``."""
    for summary in ("firstMessageIn", "firstMessageOut"):
        channel = _text(_object(attributes.get(summary)).get("channel"))
        if channel:
            return channel
    channels = attributes.get("channels")
    if isinstance(channels, list) and channels:
        return _text(channels[0])
    return None


def ticket_status(kustomer_status: Any) -> str | None:  # noqa: ANN401
    """Map done -> closed, open -> open, snoozed -> snoozed, anything else -> null."""
    return STATUSES.get(kustomer_status) if isinstance(kustomer_status, str) else None


def _instant(value: Any) -> dt.datetime | None:  # noqa: ANN401
    """A timestamp string as a datetime; anything unparseable counts as absent."""
    text = _text(value)
    if text is None:
        return None
    try:
        return parse_timestamp(text)
    except ValueError:
        return None


def _sent(message: dict[str, Any]) -> str | None:
    """A message's time: ``sentAt``, else ``createdAt`` (the first that parses)."""
    for key in ("sentAt", "createdAt"):
        if _instant(message.get(key)):
            return str(message[key])
    return None


def _earliest(messages: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The earliest of the given message attribute dicts that has a time."""
    timed = [(_instant(_sent(m)), index, m) for index, m in enumerate(messages) if _sent(m)]
    return min(timed, key=lambda item: (item[0], item[1]))[2] if timed else None


def _seconds_between(start: str | None, end: str | None) -> float | None:
    start_at, end_at = _instant(start), _instant(end)
    if start_at is None or end_at is None:
        return None
    return round((end_at - start_at).total_seconds(), 3)


def needs_messages(attributes: dict[str, Any], rules: TicketRules) -> bool:
    """Whether the first-response rules need the conversation's messages.

    Phone: always (the messages are authoritative). Other channels: only when
    ``firstResponse`` has no ``createdAt``, ``firstMessageOut`` is not the first
    response, and the conversation may hold outbound messages.
    """
    if rules.channel(kustomer_channel(attributes)) == PHONE:
        return True
    if _instant(_object(attributes.get("firstResponse")).get("createdAt")):
        return False
    first_out = _object(attributes.get("firstMessageOut"))
    if first_out.get("directionType") == RESPONSE_OUT and _sent(first_out):
        return False
    outbound = attributes.get("outboundMessageCount")
    return not (isinstance(outbound, int) and outbound == 0)


def first_response(
    attributes: dict[str, Any],
    messages: list[dict[str, Any]] | None,
    rules: TicketRules,
) -> tuple[str | None, float | None]:
    """``(first_responded_at, first_response_duration in seconds)`` of a conversation.

    ``messages`` are the conversation's message attribute dicts, or None when they
    were not fetched (``needs_messages`` said no).
    """
    if rules.channel(kustomer_channel(attributes)) == PHONE:
        return _phone_first_response(attributes, messages or [])
    responded_at = _text(_object(attributes.get("firstResponse")).get("createdAt"))
    if _instant(responded_at) is None:
        responded_at = None
    if responded_at is None:
        first_out = _object(attributes.get("firstMessageOut"))
        if first_out.get("directionType") == RESPONSE_OUT:
            responded_at = _sent(first_out)
    if responded_at is None and messages:
        earliest = _earliest([m for m in messages if m.get("directionType") == RESPONSE_OUT])
        responded_at = _sent(earliest) if earliest else None
    if responded_at is None:
        return None, None
    business_time = _object(attributes.get("firstResponse")).get("businessTime")
    if rules.use_business_time and _is_number(business_time):
        return responded_at, round(business_time / _MS_PER_SECOND, 3)
    return responded_at, _seconds_between(_text(attributes.get("createdAt")), responded_at)


def _phone_first_response(
    attributes: dict[str, Any], messages: list[dict[str, Any]]
) -> tuple[str | None, float | None]:
    call = _earliest([m for m in messages if m.get("channel") == VOICE])
    if call is None:
        return None, None
    meta = _object(call.get("meta"))
    summary = _object(attributes.get("firstMessageIn"))
    if not meta and summary.get("id") is not None and summary.get("id") == call.get("id"):
        meta = _object(summary.get("meta"))
    answered_at = _text(meta.get("answeredAt")) if _instant(meta.get("answeredAt")) else None
    return answered_at, _seconds_between(_text(meta.get("placedAt")), answered_at)


def _is_number(value: Any) -> TypeGuard[float]:  # noqa: ANN401
    """A finite JSON number (``true`` is not one)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _ids(value: Any) -> list[str]:  # noqa: ANN401
    """A list of ids, in order, without repeats; anything else is ``[]``."""
    if not isinstance(value, list):
        return []
    return list(dict.fromkeys(item for item in value if isinstance(item, str)))


def ticket(
    conversation: dict[str, Any],
    messages: list[dict[str, Any]] | None,
    rules: TicketRules,
) -> dict[str, Any]:
    """The Assembled ticket of a raw conversation object."""
    attributes = _object(conversation.get("attributes"))
    channel = kustomer_channel(attributes)
    responded_at, duration = first_response(attributes, messages, rules)
    status = attributes.get("status")
    return {
        "id": conversation["id"],
        "channel": rules.channel(channel),
        "kustomer_channel": channel,
        "status": ticket_status(status),
        "kustomer_status": status if isinstance(status, str) else None,
        "created_at": _text(attributes.get("createdAt")),
        "updated_at": _text(attributes.get("updatedAt")),
        "first_responded_at": responded_at,
        "first_response_duration": duration,
        "customer_id": relationship_id(conversation, "customer"),
        "queue_id": relationship_id(conversation, "queue"),
        "assigned_user_ids": _ids(attributes.get("assignedUsers")),
        "assigned_team_ids": _ids(attributes.get("assignedTeams")),
        "tag_ids": _ids(attributes.get("tags")),
        "direction": _text(attributes.get("direction")),
        "priority": _number_or_none(attributes.get("priority")),
    }


def assembled_role(user_type: Any) -> str | None:  # noqa: ANN401
    """``Standard`` for human agents; null for machine users and collaborators."""
    return STANDARD_ROLE if user_type == HUMAN_USER_TYPE else None


def agent_state(
    session: dict[str, Any],
    statuses: dict[str, dict[str, Any]],
    queues: dict[str, dict[str, Any]],
    observed_at: str,
) -> dict[str, Any] | None:
    """One agent's state at a snapshot, from an active work session; None if inactive.

    ``statuses`` and ``queues`` are the org's routing statuses and queues by id.
    """
    attributes = _object(session.get("attributes"))
    user_id = relationship_id(session, "user")
    if user_id is None or attributes.get("active") is False or attributes.get("signedOutAt"):
        return None
    status_id = relationship_id(session, "status")
    status = _object(_object(statuses.get(status_id or "")).get("attributes"))
    queue_data = _object(_object(session.get("relationships")).get("queues")).get("data")
    queue_ids = [q["id"] for q in queue_data or [] if isinstance(q, dict) and "id" in q]
    by_status = _object(_object(attributes.get("totalTimeByStatus")).get(status_id or ""))
    return {
        "user_id": user_id,
        "observed_at": observed_at,
        "work_session_id": session["id"],
        "status_id": status_id,
        "status_name": _text(status.get("name")),
        "status_type": _text(status.get("statusType")) or _text(attributes.get("statusType")),
        "status_since": _text(by_status.get("statusAt")),
        "signed_in_at": _text(attributes.get("signedInAt")),
        "team_id": relationship_id(session, "team"),
        "queue_ids": queue_ids,
        "queue_names": [
            _text(_object(_object(queues.get(q)).get("attributes")).get("name")) for q in queue_ids
        ],
        "routable": attributes.get("routable")
        if isinstance(attributes.get("routable"), bool)
        else None,
        "capacity": attributes.get("capacity")
        if isinstance(attributes.get("capacity"), list)
        else [],
        "capacity_remaining": _number_or_none(attributes.get("capacityRemaining")),
        "total_capacity": _number_or_none(attributes.get("totalCapacity")),
        "capacity_status": _text(attributes.get("capacityStatus")),
        "work_item_count": _number_or_none(attributes.get("workItemCount")),
        "last_assigned_item_at": _text(attributes.get("lastAssignedItemAt")),
    }


def _number_or_none(value: Any) -> float | int | None:  # noqa: ANN401
    return value if _is_number(value) else None
