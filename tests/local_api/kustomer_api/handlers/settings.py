"""Org settings (issue 15): shortcuts, SLAs with their versions, brands, business schedules with
their holidays, and the custom attribute metadata of each resource.

Roles are those Kustomer documents for each endpoint or, where the list has no page of its own
in the reference ([?]), for its documented siblings (get by id, shortcut categories).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from kustomer_api.paging import data, list_page
from kustomer_api.protocol import HttpError, Route, route

if TYPE_CHECKING:
    from kustomer_api.app import App
    from kustomer_api.protocol import Reply, Request

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


def shortcuts(app: App, request: Request) -> Reply:
    return list_page(app.org, request, app.org.objects("shortcuts"), 100)


def slas(app: App, request: Request) -> Reply:
    # ``versions`` is documented ("retrieve information about SLA versions"); which values
    # it takes is [?]: any value includes every version of the page's SLAs.
    if not request.params.get("versions"):
        return list_page(app.org, request, app.org.objects("slas"), 100)
    return list_page(
        app.org,
        request,
        app.org.objects("slas"),
        100,
        included=lambda page: _related(app, page, "versions"),
    )


def brands(app: App, request: Request) -> Reply:
    return list_page(app.org, request, app.org.objects("brands"), 100)


def schedules(app: App, request: Request) -> Reply:
    # Soft-deleted schedules are listed with their flag ([?] whether the list hides them).
    objects = app.org.objects("business_schedules")
    if "holidays" not in (request.params.get("include") or "").split(","):
        return list_page(app.org, request, objects, 100)
    return list_page(
        app.org, request, objects, 100, included=lambda page: _related(app, page, "holidays")
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
    route("GET", "/v1/brands", _BRAND_ROLES, brands),
    route("GET", "/v1/schedules", _SCHEDULE_ROLES, schedules),
    # A resource is a name ("customer", "kobject.ecomm-order"), not an id.
    Route(
        "GET",
        re.compile(r"/v1/metadata/(?P<resource>[A-Za-z0-9_.\-]+)"),
        "GET /v1/metadata/{resource}",
        _METADATA_ROLES,
        metadata,
    ),
)
