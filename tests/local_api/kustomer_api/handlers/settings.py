"""Org settings (issue 15): shortcuts, SLAs with their versions, brands, business schedules with
their holidays, and the custom attribute metadata of each resource.

Roles are those Kustomer documents for each endpoint or, where the list has no page of its own
in the reference ([?]), for its documented siblings (get by id, shortcut categories).

Kustomer documents ``versions`` (``all`` or ``active``) on ``GET /v1/slas/{id}`` and
``include=holidays`` on ``GET /v1/schedules/{id}``, both giving the related objects in
``included``; on the lists neither is documented. How the lists answer them is [?]: the
``sla_versions_shape``, ``holidays_shape`` and ``undocumented_params`` settings choose.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

from kustomer_api.paging import data, list_page, undocumented
from kustomer_api.protocol import HttpError, Reply, Route, dumps, route
from kustomer_api.seed.shapes import rel

if TYPE_CHECKING:
    from collections.abc import Callable

    from kustomer_api.app import App
    from kustomer_api.protocol import Request

_SHORTCUT_ROLES = (
    "org.permission.shortcut.read",
    "org.user.shortcut.read",
    "org.user.content.shortcut.read",
    "org.admin.shortcut.read",
    "org.admin.content.shortcut.read",
)
_SLA_ROLES = ("org.permission.sla.read", "org.user.sla.read")
# No page of the reference names the roles of /v1/brands ([?]).
_BRAND_ROLES = ("org.permission.brand.read",)
_SCHEDULE_ROLES = (
    "org.permission.schedule.read",
    "org.user.schedule.read",
    "org.admin.schedule.read",
)
METADATA_ROUTE = "GET /v1/metadata/{resource}"
_METADATA_ROLES = (
    "org.permission.metadata.read",
    "org.user.metadata.read",
    "org.admin.metadata.read",
)


def _related(app: App, objects: list[dict], relation: str) -> list[dict]:
    """The objects ``relation`` names in each of ``objects``, each once, in order."""
    seen: dict[str, dict] = {}
    for obj in objects:
        for ref in (obj["relationships"].get(relation) or {}).get("data") or []:
            found = app.org.get(ref["id"])
            if found is not None:
                seen.setdefault(found["id"], found)
    return list(seen.values())


def _embedded(reply: Reply, name: str, related: Callable[[dict], list[dict]]) -> Reply:
    """A list page whose objects hold their related objects in ``attributes.<name>``.

    The page is re-encoded from copies: the org's objects (and their cached bytes) stay as seeded.
    """
    document = json.loads(reply.body)
    for obj in document["data"]:
        obj["attributes"][name] = related(obj)
        obj["relationships"].pop(name, None)
    return Reply(reply.status, dumps(document))


def _found(app: App, request: Request, type_: str) -> dict:
    found = app.org.get(request.match["id"])
    if found is None or found["type"] != type_:
        raise HttpError(404, f"No {type_} {request.match['id']}")
    return found


def shortcuts(app: App, request: Request) -> Reply:
    return list_page(app.org, request, app.org.objects("shortcuts"), 100)


def slas(app: App, request: Request) -> Reply:
    # Which values ``versions`` takes on the list is [?]: any value gives every version.
    objects = app.org.objects("slas")
    shape = request.config.sla_versions_shape
    if not undocumented(request, "versions"):
        return list_page(app.org, request, objects, 100)
    if shape == "embedded":
        reply = list_page(app.org, request, objects, 100)
        return _embedded(reply, "versions", lambda sla: _related(app, [sla], "versions"))
    # per_sla: the SLAs still name their versions, but ``included`` brings none of them.
    return list_page(
        app.org,
        request,
        objects,
        100,
        included=lambda page: [] if shape == "per_sla" else _related(app, page, "versions"),
    )


def sla(app: App, request: Request) -> Reply:
    """One SLA; with ``versions`` (documented: ``all`` or ``active``), every version of it."""
    found = _found(app, request, "sla")
    if not request.params.get("versions"):
        return data(app.org, found)
    versions = _related(app, [found], "versions")
    if request.config.sla_versions_shape == "embedded":
        attributes = {**found["attributes"], "versions": versions}
        return Reply(200, dumps({"data": {**found, "attributes": attributes}}))
    return Reply(200, dumps({"data": found, "included": versions}))


def brands(app: App, request: Request) -> Reply:
    return list_page(app.org, request, app.org.objects("brands"), 100)


def _includes_holidays(request: Request) -> bool:
    return "holidays" in (request.params.get("include") or "").split(",")


def _holiday_documents(app: App, schedule: dict) -> list[dict]:
    # Embedded holidays are plain documents ([?]: no page shows them embedded).
    return [{"id": h["id"], **h["attributes"]} for h in _related(app, [schedule], "holidays")]


def schedules(app: App, request: Request) -> Reply:
    # Soft-deleted schedules are listed with their flag ([?] whether the list hides them).
    objects = app.org.objects("business_schedules")
    shape = request.config.holidays_shape
    undocumented(request, "include")
    if shape == "embedded":
        reply = list_page(app.org, request, objects, 100)
        return _embedded(reply, "holidays", lambda schedule: _holiday_documents(app, schedule))
    if shape == "per_schedule" or not _includes_holidays(request):
        return list_page(app.org, request, objects, 100)
    return list_page(
        app.org, request, objects, 100, included=lambda page: _related(app, page, "holidays")
    )


def schedule(app: App, request: Request) -> Reply:
    """One schedule; with ``include=holidays``, its holidays as the reference shows them.

    The reference's example: the schedule names no holidays, each holiday names its schedule.
    """
    found = _found(app, request, "schedule")
    if request.config.holidays_shape == "embedded":
        attributes = {**found["attributes"], "holidays": _holiday_documents(app, found)}
        return Reply(200, dumps({"data": {**found, "attributes": attributes}}))
    if not _includes_holidays(request):
        return data(app.org, found)
    relationships = {k: v for k, v in found["relationships"].items() if k != "holidays"}
    back = rel("schedule", found["id"], "schedules")
    holidays = [
        {**h, "relationships": {**h["relationships"], "schedule": back}}
        for h in _related(app, [found], "holidays")
    ]
    return Reply(
        200, dumps({"data": {**found, "relationships": relationships}, "included": holidays})
    )


def metadata(app: App, request: Request) -> Reply:
    resource = request.match["resource"]
    found = app.org.get(resource)
    if found is None or found["type"] != "metadata":
        raise HttpError(404, f"No metadata for {resource}")
    return data(app.org, found)


ROUTES = (
    route("GET", "/v1/shortcuts", _SHORTCUT_ROLES, shortcuts),
    route("GET", "/v1/slas", _SLA_ROLES, slas),
    route("GET", "/v1/slas/{id}", _SLA_ROLES, sla),
    route("GET", "/v1/brands", _BRAND_ROLES, brands),
    route("GET", "/v1/schedules", _SCHEDULE_ROLES, schedules),
    route("GET", "/v1/schedules/{id}", _SCHEDULE_ROLES, schedule),
    # A resource is a name ("customer", "kobject.ecomm-order"), not an id.
    Route(
        "GET",
        re.compile(r"/v1/metadata/(?P<resource>[A-Za-z0-9_.\-]+)"),
        METADATA_ROUTE,
        _METADATA_ROLES,
        metadata,
    ),
)
