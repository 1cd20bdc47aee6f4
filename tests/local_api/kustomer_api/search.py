"""Evaluation of ``POST /v1/customers/search`` bodies against JSON:API objects (pure functions).

Search attribute names are ``<context>_<snake_case attribute>`` and map onto the object's camelCase
attributes (``conversation_updated_at`` -> ``updatedAt``, ``conversation_first_response_sent_at`` ->
``firstResponse.sentAt``); ``<context>_custom_<name>`` reads ``custom[name]``. An attribute that
resolves to nothing is simply missing (it matches only ``not_set``), as an unmapped field does in
Elasticsearch.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# queryContext -> stream holding its objects.
CONTEXTS = {
    "conversation": "conversations",
    "message": "messages",
    "customer": "customers",
    # Issue 15. ``kobject`` holds the KObjects of every Klass (undocumented); ``kobject_<klass
    # name>`` those of one Klass (``split_context``).
    "company": "companies",
    "note": "notes",
    "kobject": "kobjects",
}
KLASS_CONTEXT_PREFIX = "kobject_"
OPERATORS = frozenset({"equals", "in", "gte", "gt", "lte", "lt", "contains", "not_set"})
_GROUPS = ("and", "or", "not")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")
_WORD = re.compile(r"\w+")
# Attributes that live in relationships rather than attributes.
_RELATIONSHIPS = {
    "customer_id": "customer",
    "queue": "queue",
    "created_by": "createdBy",
    "modified_by": "modifiedBy",
}

Predicate = Callable[[dict], bool]
Getter = Callable[[dict], Any]


class SearchError(ValueError):
    """The body is not a valid search; the server answers 400 with this message."""


def zone(name: str | None) -> tzinfo:
    """The ``timeZone`` of a search (IANA name), GMT by default."""
    if name in (None, "", "GMT", "UTC", "Etc/GMT", "Etc/UTC"):
        return timezone.utc
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        msg = f"unknown timeZone {name!r}"
        raise SearchError(msg) from exc


def _to_us(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


def query_instant(value: object, tz: tzinfo) -> int:
    """A criterion's datetime in epoch microseconds; date-only and naive values are in ``tz``."""
    if not isinstance(value, str):
        msg = f"expected a date or datetime string, got {value!r}"
        raise SearchError(msg)
    try:
        if _DATE_ONLY.fullmatch(value):
            moment = datetime.combine(date.fromisoformat(value), datetime.min.time(), tzinfo=tz)
        else:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=tz)
    except ValueError as exc:
        msg = f"invalid date {value!r}"
        raise SearchError(msg) from exc
    return _to_us(moment)


@functools.lru_cache(maxsize=1 << 18)
def stored_instant(value: str) -> int | None:
    """A stored timestamp (always UTC with ``Z``) in epoch microseconds; memoised."""
    try:
        return _to_us(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return None


def split_context(context: object) -> tuple[str, str | None]:
    """The context whose attribute names a search uses, and the Klass it is limited to.

    ``kobject_<klass name>`` searches one Klass's KObjects with the attribute names of
    ``kobject`` (``kobject_updated_at``, ``kobject_id``): the Klass name is not part of them.
    """
    if not isinstance(context, str):
        msg = f"queryContext must be a string, got {context!r}"
        raise SearchError(msg)
    klass = context.removeprefix(KLASS_CONTEXT_PREFIX)
    if klass != context and klass:
        return "kobject", klass
    if context not in CONTEXTS:
        names = ", ".join((*CONTEXTS, f"{KLASS_CONTEXT_PREFIX}<klass name>"))
        msg = f"queryContext must be one of {names}, got {context!r}"
        raise SearchError(msg)
    return context, None


def _camel(parts: list[str]) -> str:
    return parts[0] + "".join(p[:1].upper() + p[1:] for p in parts[1:])


def _nested(container: dict, parts: list[str]) -> Any:
    """Resolve snake parts against camelCase keys, descending into sub-objects when needed."""
    direct = _camel(parts)
    if direct in container:
        return container[direct]
    for cut in range(1, len(parts)):
        sub = container.get(_camel(parts[:cut]))
        if isinstance(sub, dict):
            value = _nested(sub, parts[cut:])
            if value is not None:
                return value
    return None


def _relation_ids(relation: str) -> Getter:
    def get(obj: dict) -> Any:
        data = (obj["relationships"].get(relation) or {}).get("data")
        if isinstance(data, list):
            return [d["id"] for d in data]
        return data["id"] if data else None

    return get


def attribute_getter(name: str, context: str) -> tuple[Getter, bool]:
    """Getter for a search attribute, and whether it holds datetimes."""
    prefix = f"{context}_"
    if not isinstance(name, str) or not name.startswith(prefix) or name == prefix:
        msg = f"attribute {name!r} does not belong to queryContext {context!r}"
        raise SearchError(msg)
    rest = name[len(prefix) :]
    if rest == "id":
        return (lambda obj: obj["id"]), False
    if rest in _RELATIONSHIPS:
        return _relation_ids(_RELATIONSHIPS[rest]), False
    if rest.startswith("custom_"):
        key = rest[len("custom_") :]
        return (lambda obj: (obj["attributes"].get("custom") or {}).get(key)), key.endswith("At")
    if context == "customer" and rest in ("email", "phone"):
        field = f"{rest}s"
        return (lambda obj: [e.get(rest) for e in obj["attributes"].get(field) or []]), False
    parts = rest.split("_")
    camel = _camel(parts)

    def get(obj: dict) -> Any:
        attrs = obj["attributes"]
        return attrs[camel] if camel in attrs else _nested(attrs, parts)

    return get, rest.endswith("_at")


def _is_unset(value: Any) -> bool:
    return value is None or value in ("", [], {})


def _values(value: Any) -> list:
    """Multi-valued fields match when any element does (Elasticsearch semantics)."""
    return value if isinstance(value, list) else [value]


def _as_bool(value: Any) -> Any:
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


def _comparable(value: Any, operand: Any) -> tuple[Any, Any] | None:
    """Bring a stored value and an operand to one comparable type, or None if they differ."""
    if isinstance(value, bool) or isinstance(operand, bool):
        value, operand = _as_bool(value), _as_bool(operand)
        return (value, operand) if isinstance(value, bool) and isinstance(operand, bool) else None
    if isinstance(value, (int, float)):
        if isinstance(operand, str):
            try:
                operand = float(operand)
            except ValueError:
                return None
        return (value, operand) if isinstance(operand, (int, float)) else None
    if isinstance(value, str) and isinstance(operand, str):
        return value, operand
    return None


_RANGE = {
    "gte": lambda a, b: a >= b,
    "gt": lambda a, b: a > b,
    "lte": lambda a, b: a <= b,
    "lt": lambda a, b: a < b,
}


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _contains(value: Any, words: list[str]) -> bool:
    """Whole-word match: the operand's words appear consecutively in the value's words."""
    if not isinstance(value, str) or not words:
        return False
    have = _words(value)
    size = len(words)
    return any(have[i : i + size] == words for i in range(len(have) - size + 1))


def _operator(op: str, operand: Any, get: Getter, is_datetime: bool, tz: tzinfo) -> Predicate:
    if op not in OPERATORS:
        msg = f"unsupported operator {op!r}"
        raise SearchError(msg)
    if op == "not_set":
        return lambda obj: _is_unset(get(obj))
    if op == "contains":
        words = _words(str(operand))
        return lambda obj: any(_contains(v, words) for v in _values(get(obj)))
    if op == "in" and not isinstance(operand, list):
        msg = f"operator 'in' needs a list, got {operand!r}"
        raise SearchError(msg)
    if is_datetime:
        targets = [query_instant(v, tz) for v in (operand if op == "in" else [operand])]

        def instants(obj: dict) -> list[int]:
            return [stored_instant(v) for v in _values(get(obj)) if isinstance(v, str)]

        if op in _RANGE:
            compare, target = _RANGE[op], targets[0]
            return lambda obj: any(t is not None and compare(t, target) for t in instants(obj))
        return lambda obj: any(t in targets for t in instants(obj))
    if op in _RANGE:
        compare = _RANGE[op]

        def in_range(obj: dict) -> bool:
            for value in _values(get(obj)):
                pair = _comparable(value, operand)
                if pair is not None and compare(*pair):
                    return True
            return False

        return in_range
    targets = operand if op == "in" else [operand]

    def equal(obj: dict) -> bool:
        for value in _values(get(obj)):
            for target in targets:
                pair = _comparable(value, target)
                if pair is not None and pair[0] == pair[1]:
                    return True
        return False

    return equal


def _clause(clause: Any, context: str, tz: tzinfo) -> Predicate:
    """One ``{attr: {op: value}}`` object (several keys are ANDed); may nest and/or/not groups."""
    if not isinstance(clause, dict) or not clause:
        msg = f"a criterion must be a non-empty object, got {clause!r}"
        raise SearchError(msg)
    parts: list[Predicate] = []
    for name, ops in clause.items():
        if name in _GROUPS:
            parts.append(_group({name: ops}, context, tz))
            continue
        if not isinstance(ops, dict) or not ops:
            msg = f"criterion for {name!r} must be an object of operators"
            raise SearchError(msg)
        get, is_datetime = attribute_getter(name, context)
        parts.extend(_operator(op, value, get, is_datetime, tz) for op, value in ops.items())
    return lambda obj: all(p(obj) for p in parts)


def _clauses(value: Any, context: str, tz: tzinfo) -> list[Predicate]:
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    return [_clause(item, context, tz) for item in items]


def _group(body: dict, context: str, tz: tzinfo) -> Predicate:
    all_of = _clauses(body.get("and"), context, tz)
    any_of = _clauses(body.get("or"), context, tz)
    none_of = _clauses(body.get("not"), context, tz)

    def match(obj: dict) -> bool:
        return (
            all(p(obj) for p in all_of)
            and (not any_of or any(p(obj) for p in any_of))
            and not any(p(obj) for p in none_of)
        )

    return match


def compile_filter(body: dict, context: str) -> Predicate:
    """Predicate for the body's ``and``/``or``/``not`` criteria (``includeDeleted`` not included)."""
    return _group(body, context, zone(body.get("timeZone")))


def _sort_spec(sort: Any, context: str) -> tuple[Getter, bool, bool] | None:
    """First key of ``sort`` only: the real API sorts unreliably on more than one key."""
    if sort in (None, [], {}):
        return None
    first = sort[0] if isinstance(sort, list) else sort
    if not isinstance(first, dict) or not first:
        msg = f"invalid sort {sort!r}"
        raise SearchError(msg)
    name, direction = next(iter(first.items()))
    if not isinstance(direction, str) or direction.lower() not in ("asc", "desc"):
        msg = f"sort direction must be 'asc' or 'desc', got {direction!r}"
        raise SearchError(msg)
    get, is_datetime = attribute_getter(name, context)
    return get, is_datetime, direction.lower() == "desc"


def _sort_key(value: Any, is_datetime: bool) -> tuple | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if value is None:
        return None
    if is_datetime and isinstance(value, str):
        instant = stored_instant(value)
        return None if instant is None else (1, instant)
    if isinstance(value, bool):
        return (0, int(value))
    if isinstance(value, (int, float)):
        return (1, value)
    return (2, str(value))


def matching(objects: list[dict], body: dict, context: str) -> list[dict]:
    """Objects matching a search body, sorted as the body asks (ties and default: id ascending).

    Objects without the sort attribute come last in both directions (Elasticsearch's default).
    Soft-deleted objects are dropped unless ``includeDeleted`` is true. The 2-year horizon is
    applied separately (``within_horizon``) because it moves with the wall clock. A per-Klass
    context's objects are the caller's to choose (the Klass of each KObject is in the org).
    """
    context = split_context(context)[0]
    predicate = compile_filter(body, context)
    sort = _sort_spec(body.get("sort"), context)
    include_deleted = body.get("includeDeleted") is True
    found = [
        o
        for o in objects
        if (include_deleted or not o["attributes"].get("deleted")) and predicate(o)
    ]
    found.sort(key=lambda o: o["id"])
    if sort is None:
        return found
    get, is_datetime, descending = sort
    keyed = [(_sort_key(get(o), is_datetime), o) for o in found]
    present = [pair for pair in keyed if pair[0] is not None]
    # Stable sorts keep id order among equal keys, also when reversed.
    present.sort(key=lambda pair: pair[0], reverse=descending)
    return [o for _, o in present] + [o for key, o in keyed if key is None]


def tie_runs(objects: list[dict], body: dict, context: str) -> list[tuple[int, int]]:
    """``(start, end)`` slices of ``matching``'s result whose sort keys are equal (2+ objects).

    Objects without the sort attribute (they come last) form one run too. Without a ``sort``
    there are no runs: the order is then id ascending, as ``matching`` documents.
    """
    sort = _sort_spec(body.get("sort"), split_context(context)[0])
    if sort is None:
        return []
    get, is_datetime, _ = sort
    keys = [_sort_key(get(o), is_datetime) for o in objects]
    runs = []
    start = 0
    for end in range(1, len(keys) + 1):
        if end == len(keys) or keys[end] != keys[start]:
            if end - start > 1:
                runs.append((start, end))
            start = end
    return runs


def _updated_us(obj: dict) -> int | None:
    updated = obj["attributes"].get("updatedAt")
    return stored_instant(updated) if isinstance(updated, str) else None


def within_horizon(objects: list[dict], cutoff_us: int) -> list[dict]:
    """Objects whose ``updatedAt`` is not older than the cutoff (epoch microseconds)."""
    out = []
    for obj in objects:
        instant = _updated_us(obj)
        if instant is not None and instant >= cutoff_us:
            out.append(obj)
    return out


def beyond_horizon(objects: list[dict], cutoff_us: int) -> list[dict]:
    """The exact complement of ``within_horizon`` (same order): what archive search serves.

    An object without a readable ``updatedAt`` (none is seeded) lands here, so that the two
    together always give back every object.
    """
    out = []
    for obj in objects:
        instant = _updated_us(obj)
        if instant is None or instant < cutoff_us:
            out.append(obj)
    return out
