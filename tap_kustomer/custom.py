"""Custom attributes: their types, from Kustomer's metadata or their names, and values kept to them.

Pure functions, no I/O: discovery (``discovery.py``) reads the metadata and declares the types
in the catalog; each stream then keeps its records' ``custom`` values to what its catalog says.

* Kustomer's docs (developer.kustomer.com, Custom attributes): the suffix of a name sets its
  type, and the API refuses a value of another type. The suffix wins over the metadata's
  ``type``, which is a display setting; the metadata types only names without a suffix.
* ``custom`` stays an open object: an attribute added after discovery still passes.
* Allowed values go into the description, never ``enum``: a new dropdown option must not make
  a record invalid.
* Sensitivity cannot ride in a JSON schema keyword: the SDK's catalog keeps only the standard
  keys. It rides in the description (``SENSITIVE_NOTE``), which a user sees in the catalog too.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

Schema = dict[str, Any]

# Suffix -> kind (Kustomer's naming conventions).
SUFFIXES = {
    "Str": "string",
    "Txt": "text",
    "Num": "number",
    "At": "date",
    "Bool": "boolean",
    "Url": "url",
    "Id": "id",
    "Tree": "tree",
}
# The metadata's own names for kinds, where a name has no suffix ([?] beyond the suffix kinds).
_METADATA_KINDS = {"datetime": "date", "date-time": "date", "uri": "url", "reference": "id"}
_SUFFIX = re.compile(r"(?<=[a-z0-9])(" + "|".join(SUFFIXES) + r")$")
_KIND_SCHEMAS: dict[str, Schema] = {
    "string": {"type": ["string", "null"]},
    "text": {"type": ["string", "null"]},
    # No "format": "uri": a target that checks formats would refuse a relative link, and the
    # value is kept as text either way.
    "url": {"type": ["string", "null"]},
    "id": {"type": ["string", "null"]},
    "tree": {"type": ["string", "null"]},
    "number": {"type": ["number", "null"]},
    "date": {"type": ["string", "null"], "format": "date-time"},
    "boolean": {"type": ["boolean", "null"]},
}
_KIND_NOTES = {
    "text": "Multi-line text",
    "url": "A URL",
    "id": "The id of another object",
    "tree": "A path in a tree of values",
}
SENSITIVE_NOTE = "Sensitive in Kustomer: hashed or dropped as pii_mode says."
UNTYPED_NOTE = "No type suffix and no metadata type: any JSON value."
_MAX_LISTED_VALUES = 50
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")


def kind_of(name: str, metadata_type: Any = None) -> str | None:  # noqa: ANN401 - from JSON
    """The kind of an attribute: its suffix's, else the metadata's, else None."""
    found = _SUFFIX.search(name)
    if found:
        return SUFFIXES[found.group(1)]
    if isinstance(metadata_type, str):
        kind = _METADATA_KINDS.get(metadata_type.lower(), metadata_type.lower())
        if kind in _KIND_SCHEMAS:
            return kind
    return None


@dataclass
class Attribute:
    """What is known of one custom attribute: from the metadata, or only its name."""

    name: str
    label: str | None = None
    metadata_type: str | None = None
    values: list[Any] = field(default_factory=list)
    sensitive: bool = False

    @classmethod
    def from_metadata(cls, name: str, entry: Any) -> Attribute:  # noqa: ANN401 - from JSON
        """The attribute as ``GET /v1/metadata/{resource}`` describes it."""
        entry = entry if isinstance(entry, dict) else {}
        values = entry.get("values") if entry.get("enumeration") else None
        return cls(
            name=name,
            label=entry.get("displayName") if isinstance(entry.get("displayName"), str) else None,
            metadata_type=entry.get("type") if isinstance(entry.get("type"), str) else None,
            values=[_value_label(value) for value in values] if isinstance(values, list) else [],
            sensitive=entry.get("sensitive") is True,
        )

    def schema(self) -> Schema:
        """The attribute's JSON schema: its kind's type and format, described."""
        kind = kind_of(self.name, self.metadata_type)
        schema: Schema = dict(_KIND_SCHEMAS[kind]) if kind else {}
        notes = [self.label or self.name]
        if kind in _KIND_NOTES:
            notes.append(_KIND_NOTES[kind])
        if kind is None:
            notes.append(UNTYPED_NOTE)
        if self.values:
            listed = ", ".join(map(str, self.values[:_MAX_LISTED_VALUES]))
            more = " …" if len(self.values) > _MAX_LISTED_VALUES else ""
            notes.append(f"Allowed values: {listed}{more}")
        if self.sensitive:
            notes.append(SENSITIVE_NOTE)
        schema["description"] = ". ".join(note.rstrip(".") for note in notes) + "."
        return schema


def _value_label(value: Any) -> Any:  # noqa: ANN401 - from JSON
    """A dropdown value as the metadata lists it: a scalar, or an object with ``value``."""
    return value.get("value", value) if isinstance(value, dict) else value


def custom_schema(attributes: Iterable[Attribute]) -> Schema:
    """The ``custom`` object: every known attribute declared, open to the others."""
    properties = {attribute.name: attribute.schema() for attribute in attributes}
    return {
        "type": ["object", "null"],
        "additionalProperties": True,
        "properties": dict(sorted(properties.items())),
    }


def merged(*groups: Iterable[Attribute]) -> list[Attribute]:
    """One attribute per name; the first group to describe a name wins (metadata first)."""
    found: dict[str, Attribute] = {}
    for group in groups:
        for attribute in group:
            found.setdefault(attribute.name, attribute)
    return list(found.values())


# ---- keeping values to their declared type ------------------------------------------------

# Returns the value kept to its type, or _BROKEN where no safe coercion exists.
_BROKEN = object()
Coercer = Callable[[Any], Any]


def _to_number(value: Any) -> Any:  # noqa: ANN401 - any JSON value
    if isinstance(value, bool):
        return _BROKEN
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            pass
        try:
            number = float(text)
        except ValueError:
            return _BROKEN
        return number if math.isfinite(number) else _BROKEN
    return _BROKEN


def _to_boolean(value: Any) -> Any:  # noqa: ANN401 - any JSON value
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return _BROKEN


def _to_datetime(value: Any) -> Any:  # noqa: ANN401 - any JSON value
    if not isinstance(value, str):
        return _BROKEN
    if _RFC3339.fullmatch(value):
        return value
    try:
        parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return _BROKEN
    if parsed.tzinfo is None:  # Kustomer's timestamps are UTC
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


def _to_string(value: Any) -> Any:  # noqa: ANN401 - any JSON value
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    # Lists and objects (a multi-select, say) as compact JSON: nothing is lost.
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


_COERCERS: dict[str, Coercer] = {
    "number": _to_number,
    "boolean": _to_boolean,
    "date": _to_datetime,
}
# Values of exactly these Python types need no look: the common case, once per value
# (``type(True)`` is ``bool``, so a boolean never passes for a number). Dates are checked.
_FITTING: dict[str, tuple[type, ...]] = {"number": (int, float), "boolean": (bool,), "date": ()}


@dataclass(frozen=True)
class CustomTypes:
    """The declared attributes of one stream's ``custom``, as its catalog says."""

    coercers: dict[str, tuple[tuple[type, ...], Coercer]]
    declared: frozenset[str]
    sensitive: frozenset[str]

    @classmethod
    def of(cls, custom: Schema | None) -> CustomTypes:
        """Read the declared attributes of a ``custom`` schema (none for an open object)."""
        properties = (custom or {}).get("properties") or {}
        coercers: dict[str, tuple[tuple[type, ...], Coercer]] = {}
        sensitive = set()
        for name, schema in properties.items():
            kind = _schema_kind(schema)
            if kind is not None:
                coercers[name] = (_FITTING.get(kind, (str,)), _COERCERS.get(kind, _to_string))
            if SENSITIVE_NOTE in str(schema.get("description") or ""):
                sensitive.add(name)
        return cls(coercers, frozenset(properties), frozenset(sensitive))

    def keep(self, custom: dict[str, Any]) -> tuple[dict[str, Any], list[str], list[str]]:
        """``custom`` with each declared value kept to its type, in place.

        Returns it, the names whose value broke its type (now null), and the names the
        catalog does not declare.
        """
        broken: list[str] = []
        for name, value in custom.items():
            rule = self.coercers.get(name)
            if rule is None or value is None:
                continue
            fitting, coerce = rule
            if type(value) in fitting:
                continue
            kept = coerce(value)
            if kept is _BROKEN:
                custom[name] = None
                broken.append(name)
            else:
                custom[name] = kept
        undeclared = [name for name in custom if name not in self.declared]
        return custom, broken, undeclared


def _schema_kind(schema: Schema) -> str | None:
    types = schema.get("type") or []
    types = [types] if isinstance(types, str) else types
    if "number" in types or "integer" in types:
        return "number"
    if "boolean" in types:
        return "boolean"
    if "string" in types:
        return "date" if schema.get("format") == "date-time" else "string"
    return None
