"""JSON:API object -> flat record: the one rule every stream's records follow.

* ``id`` stays ``id``; ``type`` and ``links`` are dropped (they are the same for
  every record of a stream).
* Top-level attribute names become snake_case (``updatedAt`` -> ``updated_at``);
  nested objects are kept exactly as the API sends them.
* A to-one relationship becomes ``<name>_id`` (``customer`` -> ``customer_id``,
  ``createdBy`` -> ``created_by_id``), a to-many one ``<singular name>_ids``
  (``queues`` -> ``queue_ids``). Relationships that carry only links (no ``data``)
  are dropped: they name no object.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from typing import Any

import inflection

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


@lru_cache(maxsize=4096)
def snake_case(name: str) -> str:
    """``updatedAt`` -> ``updated_at``; cached, as the same few names recur."""
    return _CAMEL_BOUNDARY.sub("_", name).replace("-", "_").lower()


@lru_cache(maxsize=1024)
def _to_one_key(name: str) -> str:
    return f"{snake_case(name)}_id"


@lru_cache(maxsize=1024)
def _to_many_key(name: str) -> str:
    return f"{inflection.singularize(snake_case(name))}_ids"


def flatten(obj: dict[str, Any]) -> dict[str, Any]:
    """Flatten one JSON:API resource object into a record."""
    record: dict[str, Any] = {"id": obj["id"]}
    for name, value in (obj.get("attributes") or {}).items():
        record[snake_case(name)] = value
    for name, relationship in (obj.get("relationships") or {}).items():
        if not isinstance(relationship, dict) or "data" not in relationship:
            continue
        data = relationship["data"]
        if isinstance(data, list):
            record[_to_many_key(name)] = [
                item["id"] for item in data if isinstance(item, dict) and "id" in item
            ]
        else:
            record[_to_one_key(name)] = data.get("id") if isinstance(data, dict) else None
    return record


def relationship_id(obj: dict[str, Any], name: str) -> str | None:
    """The id a to-one relationship of a raw object points at, if any."""
    relationship = (obj.get("relationships") or {}).get(name)
    data = relationship.get("data") if isinstance(relationship, dict) else None
    return data.get("id") if isinstance(data, dict) else None


def parse_timestamp(value: str) -> dt.datetime:
    """Parse Kustomer's ISO-8601 UTC timestamps (``2022-03-02T14:35:34.848Z``)."""
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed


def format_timestamp(value: dt.datetime) -> str:
    """Format a datetime the way Kustomer does: UTC, milliseconds, ``Z``."""
    utc = value.astimezone(dt.timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
