"""The local API's typed custom attributes, their metadata, the per-Klass search contexts and
the KObject list of one Klass, with the ``kobject_context`` and ``metadata_route`` switches."""

from __future__ import annotations

import math
import re
import time
from datetime import datetime

import pytest
from kustomer_api import OrgSpec
from kustomer_api.auth import TICKETS_ONLY_TOKEN
from kustomer_api.config import Config, changed
from kustomer_api.seed import Org, builder
from kustomer_api.seed.custom_data import CUSTOM_ATTRIBUTES, SENSITIVE, UNDECLARED
from local_api_client import (
    ARCHIVE,
    HORIZON_S,
    SEARCH,
    archive,
    epoch,
    error,
    get,
    ids,
    search,
    searchable,
    session,
    walk,
)

pytest_plugins = ("local_api_fixtures",)

# Suffix -> the metadata type it sets (Kustomer's custom attributes page).
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
OBJECT_ID = re.compile(r"[0-9a-f]{24}")
# Resource -> the list serving its objects (every one of them but soft-deleted conversations
# and customers, which their lists hide).
LISTS = {
    "customer": "/v1/customers",
    "company": "/v1/companies",
    "conversation": "/v1/conversations",
    "message": "/v1/messages",
    "note": "/v1/notes",
    **{r: f"/v1/klasses/{r.removeprefix('kobject.')}" for r in CUSTOM_ATTRIBUTES if "." in r},
}


def suffix(name: str) -> str:
    return next(s for s in SUFFIXES if name.endswith(s))


def is_valid(kind: str, value: object) -> bool:
    """Whether a non-null value has the type its suffix sets."""
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if not isinstance(value, str):
        return False
    if kind == "date":
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return False
    return {
        "url": value.startswith("https://"),
        "id": bool(OBJECT_ID.fullmatch(value)),
    }.get(kind, True)


@pytest.fixture(scope="module")
def customs(api):
    """Resource -> the ``custom`` of each object its list serves (None where null)."""
    with session(api.token) as http:
        return {
            resource: [o["attributes"].get("custom") for o in walk(api, http, path, pageSize=100)]
            for resource, path in LISTS.items()
        }


def test_the_custom_step_changes_nothing_else(monkeypatch):
    spec = OrgSpec(seed=5, conversations=80, now=1_700_000_000, object_links=True)
    with_custom = Org.build(spec)
    monkeypatch.setattr(builder, "STEPS", builder.STEPS[:-1])
    without = Org.build(spec)
    for stream in ("customers", "companies", "conversations", "messages", "notes", "kobjects"):
        before, after = without.truth(stream), with_custom.truth(stream)
        assert ids(before) == ids(after)
        nulls = still_null = 0
        for old, new in zip(before, after, strict=True):
            custom = new["attributes"].pop("custom", None)
            null = "custom" in old["attributes"] and old["attributes"]["custom"] is None
            kept = old["attributes"].pop("custom", None)
            assert old == new
            # Keys written before keep their values; half of the nulls stay.
            assert all(custom[k] == v for k, v in (kept or {}).items())
            if null:
                nulls += 1
                still_null += custom is None
        assert still_null == (nulls + 1) // 2, stream


def test_a_recent_past_changes_no_object_of_the_same_org():
    spec = OrgSpec(seed=5, conversations=80, now=1_700_000_000)
    base = Org.build(spec)
    busy = Org.build(OrgSpec(**{**vars(spec), "recent_days": 3, "recent_per_day": 30}))
    for stream in ("customers", "conversations", "messages", "companies", "notes", "kobjects"):
        before = base.truth(stream)
        after = {o["id"]: o for o in busy.truth(stream)}
        assert [after.get(o["id"]) for o in before] == before, stream
    orders = {o["id"] for o in busy.truth("kobjects")}
    referenced = {
        (c["attributes"]["custom"] or {}).get("primaryOrderId") for c in busy.truth("customers")
    }
    assert referenced - {None} <= orders


def test_every_suffix_on_every_resource(customs):
    for resource, declared in CUSTOM_ATTRIBUTES.items():
        assert {suffix(name) for name in declared} == set(SUFFIXES), resource
        dicts = [c for c in customs[resource] if c is not None]
        assert dicts, resource
        valid = {
            suffix(name)
            for custom in dicts
            for name, value in custom.items()
            if name in declared and value is not None and is_valid(SUFFIXES[suffix(name)], value)
        }
        assert valid == set(SUFFIXES), resource
        # Attributes are on most objects (where there are enough to tell), not all: some leave
        # them out, some hold null.
        for name in declared:
            holding = sum(1 for c in dicts if c.get(name) is not None)
            assert holding > (len(dicts) / 2 if len(dicts) >= 30 else 0), (resource, name)
        assert any(any(c.get(n, 0) is None for n in declared) for c in dicts), resource
        assert any(any(n not in c for n in declared) for c in dicts), resource
    # Nulls stay represented where they were, and messages and notes gain some.
    for resource in ("customer", "company", "conversation", "message", "note"):
        assert None in customs[resource], resource


def test_some_messages_and_notes_stay_without_custom(api):
    for stream in ("messages", "notes"):
        objects = api.org.truth(stream)
        without = sum(1 for o in objects if "custom" not in o["attributes"])
        assert 0 < without < len(objects) / 3, stream


def of_klass(api, klass: str) -> list[dict]:
    """The KObjects of one Klass in the org, in id order."""
    klass_id = next(k["id"] for k in api.org.truth("klasses") if k["attributes"]["name"] == klass)
    return [
        o
        for o in api.org.truth("kobjects")
        if o["relationships"]["klass"]["data"]["id"] == klass_id
    ]


def test_customer_attributes(api, customs):
    dicts = [c for c in customs["customer"] if c]
    values = [c["lifetimeValueNum"] for c in dicts if isinstance(c.get("lifetimeValueNum"), float)]
    assert len(values) > len(dicts) / 2
    assert all(0 <= v <= 5000 and round(v, 2) == v for v in values)
    assert {c.get("tierStr") for c in dicts} >= {"gold", "silver"}
    for name in ("lastOrderAt", "marketingOptInBool", "accountUrl", "notesTxt", "loyaltyCardStr"):
        assert any(c.get(name) is not None for c in dicts), name
    referenced = {c["primaryOrderId"] for c in dicts if c.get("primaryOrderId")}
    assert referenced
    assert referenced <= set(ids(of_klass(api, "ecomm-order")))
    assert "loyaltyCardStr" in SENSITIVE["customer"]


def test_broken_values_and_undeclared_attributes(customs):
    for resource, declared in CUSTOM_ATTRIBUTES.items():
        dicts = [c for c in customs[resource] if c is not None]
        values = [(suffix(n), v) for c in dicts for n, v in c.items() if n in declared]
        broken = {
            "numeric Num": sum(
                1 for s, v in values if s == "Num" and v in ("12", "3.5", "40", "0.25")
            ),
            "other Num": sum(1 for s, v in values if s == "Num" and v == "n/a"),
            "At": sum(1 for s, v in values if s == "At" and v == "not a date"),
            "Bool": sum(1 for s, v in values if s == "Bool" and v in ("true", "false")),
        }
        for kind, count in broken.items():
            assert count >= 1, (resource, kind)
            if len(dicts) >= 100:
                assert 0.01 <= count / len(dicts) <= 0.05, (resource, kind, count, len(dicts))
        # Every other value has its declared type.
        wrong = [(s, v) for s, v in values if v is not None and not is_valid(SUFFIXES[s], v)]
        assert len(wrong) == sum(broken.values()), resource
        for name in UNDECLARED:
            assert name not in declared
            assert any(isinstance(c.get(name), str) for c in dicts), (resource, name)


def test_metadata_lists_every_declared_attribute(api, http):
    for resource, declared in CUSTOM_ATTRIBUTES.items():
        response = get(api, http, f"/v1/metadata/{resource}")
        assert response.status_code == 200, resource
        data = response.json()["data"]
        assert (data["type"], data["id"]) == ("metadata", resource)
        properties = data["attributes"]["properties"]
        assert set(properties) == set(declared), resource
        for name, (display, kind) in declared.items():
            entry = properties[name]
            assert (entry["displayName"], entry["type"]) == (display, kind)
            assert kind == SUFFIXES[suffix(name)]
            assert entry["modifiedBy"] == api.org.api_user_id
            assert entry["hasSensitiveAttributes"] is False
            assert entry.get("sensitive", False) is (name in SENSITIVE[resource])
            assert ("target" in entry) is (kind == "id"), (resource, name)
        dropdowns = [p for p in properties.values() if p.get("enumeration")]
        assert dropdowns, resource
        assert all(p["values"] and p["type"] == "string" for p in dropdowns)
        assert all(p["tree"]["children"] for p in properties.values() if p["type"] == "tree")
    for resource in ("customer", "conversation", "message", "note", "kobject.ecomm-order"):
        assert SENSITIVE[resource], resource
    customer = get(api, http, "/v1/metadata/customer").json()["data"]["attributes"]["properties"]
    assert customer["tierStr"]["values"] == ["gold", "silver"]
    assert customer["primaryOrderId"]["target"] == "kobject.ecomm-order"
    conversation = get(api, http, "/v1/metadata/conversation").json()["data"]["attributes"]
    reasons = conversation["properties"]["reasonTree"]["tree"]["children"]
    assert reasons[0] == {
        "value": "billing",
        "displayName": "Billing",
        "children": [{"value": "refund"}],
    }
    assert get(api, http, "/v1/metadata/user").status_code == 404
    for klass in get(api, http, "/v1/klasses").json()["data"]:
        declared = CUSTOM_ATTRIBUTES[f"kobject.{klass['attributes']['name']}"]
        assert klass["attributes"]["metadata"]["properties"] == {
            name: {"displayName": display, "type": kind}
            for name, (display, kind) in declared.items()
        }


def test_metadata_route_forbidden(api, http):
    with session(TICKETS_ONLY_TOKEN) as no_role:
        without_role = get(api, no_role, "/v1/metadata/customer")
    assert without_role.status_code == 403
    api.configure(metadata_route="forbidden")
    try:
        for resource in ("customer", "note", "kobject.subscription", "user"):
            response = get(api, http, f"/v1/metadata/{resource}")
            assert response.status_code == 403
            assert response.json() == without_role.json()
        assert get(api, http, "/v1/klasses").status_code == 200
    finally:
        api.configure(metadata_route="on")
    assert get(api, http, "/v1/metadata/customer").status_code == 200


@pytest.mark.parametrize("shape", ["jsonapi", "code_message"])
def test_kobject_context_refused(api, http, shape):
    body = {"queryContext": "kobject", "sort": [{"kobject_updated_at": "asc"}]}
    assert search(api, http, body).status_code == 200
    api.configure(kobject_context="refused", error_shape=shape)
    try:
        detail = "queryContext kobject is not supported: use kobject_<klass name>"
        for call in (search, archive):
            response = call(api, http, body)
            assert response.status_code == 400
            if shape == "jsonapi":
                assert response.json() == error(400, "bad_request", "Bad Request", detail)
            else:
                assert response.json() == {
                    "errors": [{"code": "bad_request", "message": detail, "meta": {}}]
                }
            per_klass = {**body, "queryContext": "kobject_subscription"}
            assert call(api, http, per_klass).status_code == 200
    finally:
        api.configure(kobject_context="accepted", error_shape="jsonapi")
    with pytest.raises(ValueError, match="kobject_context"):
        changed(Config(), {"kobject_context": "off"})
    with pytest.raises(ValueError, match="metadata_route"):
        changed(Config(), {"metadata_route": "missing"})


def test_per_klass_context_pages_one_klass(api, http):
    orders = of_klass(api, "ecomm-order")
    assert len(orders) < len(api.org.truth("kobjects"))
    body = {"queryContext": "kobject_ecomm-order", "sort": [{"kobject_updated_at": "asc"}]}
    expected = sorted(searchable(orders), key=lambda o: (o["attributes"]["updatedAt"], o["id"]))
    assert len(expected) > 10
    got = walk(api, http, SEARCH, body, pageSize=5)
    assert ids(got) == ids(expected)
    first = search(api, http, body, pageSize=5).json()
    assert first["meta"]["total"] == len(expected)
    assert first["meta"]["totalPages"] == math.ceil(len(expected) / 5)
    assert first["links"]["next"] == f"{SEARCH}?page=2&pageSize=5"
    # Criteria and sorts keep the kobject_ prefix; ids and creation times work the same.
    bound = expected[len(expected) // 2]["attributes"]["createdAt"]
    criteria = {
        **body,
        "and": [{"kobject_created_at": {"gte": bound}}, {"kobject_id": {"in": ids(expected)}}],
        "sort": [{"kobject_created_at": "desc"}],
    }
    newer = sorted(
        (o for o in expected if o["attributes"]["createdAt"] >= bound),
        key=lambda o: o["attributes"]["createdAt"],
        reverse=True,
    )
    assert ids(walk(api, http, SEARCH, criteria, pageSize=3)) == ids(newer)
    # The archive serves the Klass's KObjects past the horizon, and only those.
    cutoff = time.time() - HORIZON_S
    old = [
        o
        for o in orders
        if not o["attributes"]["deleted"] and epoch(o["attributes"]["updatedAt"]) < cutoff
    ]
    assert old, "the org has orders past the horizon"
    assert sorted(ids(walk(api, http, ARCHIVE, body, pageSize=5))) == sorted(ids(old))
    for bad in (
        {"queryContext": "kobject_no-such-klass"},
        {"queryContext": "kobject_ecomm-order", "sort": [{"ecomm-order_updated_at": "asc"}]},
        {"queryContext": "kobject_"},
        {"queryContext": ["kobject"]},
    ):
        response = search(api, http, bad)
        assert response.status_code == 400, bad
        assert response.json()["errors"][0]["code"] == "bad_request"


def test_kobjects_of_one_klass_list(api, http):
    for klass in ("ecomm-order", "subscription", "return-request"):
        expected = ids(of_klass(api, klass))
        assert ids(walk(api, http, f"/v1/klasses/{klass}", pageSize=4)) == expected
    page = get(api, http, "/v1/klasses/ecomm-order", pageSize=5).json()
    assert page["meta"] == {"pageSize": 5, "page": 1}
    assert page["links"]["next"] == "/v1/klasses/ecomm-order?page=2&pageSize=5"
    assert page["data"][0]["links"]["self"].startswith("/v1/klasses/ecomm-order/")
    # /v1/klasses itself still lists the Klasses.
    klasses = get(api, http, "/v1/klasses").json()["data"]
    assert {k["type"] for k in klasses} == {"klass"}
    assert len(klasses) == 3
    missing = get(api, http, "/v1/klasses/no-such-klass")
    assert missing.status_code == 404
    assert missing.json()["errors"][0]["code"] == "not_found"
    api.configure(list_max_records=10, missing_routes=["GET /v1/klasses/{name}"])
    try:
        assert get(api, http, "/v1/klasses/ecomm-order").status_code == 404
        assert get(api, http, "/v1/klasses").status_code == 200
        api.configure(missing_routes=[])
        assert get(api, http, "/v1/klasses/ecomm-order", page=3, pageSize=5).status_code == 400
        assert get(api, http, "/v1/klasses/ecomm-order", page=2, pageSize=5).status_code == 200
    finally:
        api.configure(list_max_records=0, missing_routes=[])
