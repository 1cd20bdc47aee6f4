"""Records shaped to their schema, so that every target, map and flattener stays inside it.

* Every top-level property of the schema is present (null when the API left it
  out), so a stream map may name any field and a target sees the same columns in
  every record; fields the schema lacks are dropped (and named once by the stream).
* Under the SDK's flattening (``flattening_enabled``), an object the schema types
  with properties is flattened into one column per property. The SDK flattens the
  record by its own keys, so a null object or an unknown nested key would give a
  column the flattened schema lacks; down to the flattening depth, such objects are
  given every declared property and nothing else. Objects without declared
  properties (``custom``, ``meta``) stay whole: the flattener writes them as JSON.
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]


def _has_properties(schema: Schema) -> bool:
    types = schema.get("type")
    is_object = "object" in types if isinstance(types, list) else types == "object"
    return is_object and bool(schema.get("properties"))


def conform(
    row: dict[str, Any], properties: dict[str, Schema], depth: int
) -> tuple[dict[str, Any], set[str]]:
    """The row with exactly ``properties``, objects shaped ``depth`` levels down.

    Returns the row and the dotted names of the fields it dropped.
    """
    dropped = row.keys() - properties.keys()
    if depth == 0:
        # The common case, once per record: no object to shape.
        return {name: row.get(name) for name in properties}, dropped
    shaped: dict[str, Any] = {}
    for name, schema in properties.items():
        value = row.get(name)
        if depth > 0 and _has_properties(schema) and (value is None or isinstance(value, dict)):
            value, inner = conform(value or {}, schema["properties"], depth - 1)
            dropped |= {f"{name}.{key}" for key in inner}
        shaped[name] = value
    return shaped, dropped
