"""Personal data in records: kept, hashed or dropped (``pii_mode``), in one place.

The fields are those that hold the org's customers' personal data: message bodies,
previews and subjects, the addresses and phone numbers in ``meta``, customer names,
emails, phones and addresses, and the same values when an event records a change
to them. Ids, timestamps and call times stay, so every count and SLA still works.
"""

from __future__ import annotations

import hashlib
from typing import Any

KEEP, HASH, DROP = "keep", "hash", "drop"

# Top-level record fields, per stream.
RECORD_FIELDS: dict[str, frozenset[str]] = {
    "conversations": frozenset({"name", "preview"}),
    "messages": frozenset({"body", "preview", "subject"}),
    "customers": frozenset(
        {
            "name",
            "display_name",
            "preferred_name",
            "emails",
            "phones",
            "whatsapps",
            "socials",
            "urls",
            "locations",
            "external_id",
            "external_ids",
        }
    ),
}
# Keys inside ``meta`` objects (messages, and message summaries on conversations and
# customers) that hold addresses, phone numbers or subjects.
META_KEYS = frozenset({"from", "to", "cc", "bcc", "recipient", "replyTo", "proxy", "subject"})
# Record fields holding message summaries with a ``meta`` object.
SUMMARY_FIELDS = frozenset(
    {
        "first_message_in",
        "first_message_out",
        "last_message_in",
        "last_message_out",
        "last_message_unresponded_to",
        "last_message_unresponded_to_since_last_done",
    }
)
# Attributes whose before/after values an event's ``changes`` may carry.
CHANGED_ATTRIBUTES = frozenset(
    {"name", "preview", "body", "subject", "displayName", "emails", "phones", "whatsapps"}
)


def hashed(value: Any) -> Any:  # noqa: ANN401 - any JSON value
    """The value with every string replaced by its SHA-256, so equal values still join.

    Arrays and objects keep their shape, so a record stays valid against its schema
    (``emails`` stays an array of objects); numbers, which may be coordinates or phone
    numbers, become null; booleans and null stay as they are.
    """
    if isinstance(value, str):
        return hashlib.sha256(value.encode()).hexdigest()
    if isinstance(value, list):
        return [hashed(item) for item in value]
    if isinstance(value, dict):
        return {key: hashed(item) for key, item in value.items()}
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return None
    return value


def _apply(container: dict[str, Any], keys: frozenset[str], mode: str) -> None:
    for key in keys & container.keys():
        if mode == DROP:
            container[key] = None
        else:
            container[key] = hashed(container[key])


def protect(stream: str, record: dict[str, Any], mode: str) -> dict[str, Any]:
    """Hash or drop the personal fields of one record, in place; ``keep`` leaves it."""
    if mode == KEEP:
        return record
    _apply(record, RECORD_FIELDS.get(stream, frozenset()), mode)
    if isinstance(record.get("meta"), dict):
        _apply(record["meta"], META_KEYS, mode)
    for summary in SUMMARY_FIELDS & record.keys():
        value = record[summary]
        if isinstance(value, dict) and isinstance(value.get("meta"), dict):
            _apply(value["meta"], META_KEYS, mode)
    changes = (record.get("changes") or {}) if isinstance(record.get("changes"), dict) else {}
    attributes = changes.get("attributes")
    if isinstance(attributes, dict):
        _apply(attributes, CHANGED_ATTRIBUTES, mode)
    return record
