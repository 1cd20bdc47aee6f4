"""CRM object lists: ``/v1/customers``, and issue 15's ``/v1/companies``, ``/v1/notes``,
``/v1/klasses`` and the KObjects of one Klass, ``/v1/klasses/{name}``.

Companies, notes and KObjects are searched (``queryContext`` ``company``, ``note``,
``kobject`` and ``kobject_<klass name>``) through ``handlers.searches``; these are their plain
lists, in id order.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from kustomer_api.paging import choice_param, list_page
from kustomer_api.protocol import HttpError, Route, route

if TYPE_CHECKING:
    from kustomer_api.app import App
    from kustomer_api.protocol import Reply, Request
    from kustomer_api.seed import Org

_CUSTOMER_ROLES = ("org.permission.customer.read", "org.user.customer.read")
_COMPANY_ROLES = ("org.permission.company.read", "org.user.company.read")
_NOTE_ROLES = ("org.permission.note.read", "org.user.note.read")
# The roles of GET /v1/klasses/{id}; the list's own page is not in the reference ([?]).
_KLASS_ROLES = ("org.permission.klass.read", "org.user.klass.read", "org.admin.klass.read")
# The roles of GET /v1/klasses/{name}/externalId={externalId}; the list's own are [?].
_KOBJECT_ROLES = (
    "org.permission.kobject.read",
    "org.permission.kobject.kobject_*.read",
    "org.user.kobject.read",
)


def customers(app: App, request: Request) -> Reply:
    # Kustomer's example sorts by `sort=-createdAt` (newest first); other sort keys and
    # the `filter[...]` parameters are not modelled. Soft-deleted customers are hidden,
    # as in the conversation list ([?]).
    order = choice_param(request, "sort", ("createdAt", "-createdAt"))
    live = [o for o in app.org.objects("customers") if not o["attributes"].get("deleted")]
    return list_page(app.org, request, live[::-1] if order == "-createdAt" else live, 100)


def companies(app: App, request: Request) -> Reply:
    return list_page(app.org, request, app.org.objects("companies"), 100)


def notes(app: App, request: Request) -> Reply:
    # Whether the note list takes `sort` is [?]: the conversation list's values, or ignored
    # with notes_sort_ignored (the tap must then stop, not read an ascending list as desc).
    order = choice_param(request, "sort", ("asc", "desc"))
    objects = app.org.objects("notes")
    desc = order == "desc" and not request.config.notes_sort_ignored
    return list_page(app.org, request, objects[::-1] if desc else objects, 100)


def klasses(app: App, request: Request) -> Reply:
    return list_page(app.org, request, app.org.objects("klasses"), 100)


def kobjects_of(org: Org, klass: str) -> list[dict] | None:
    """The KObjects of the Klass named ``klass`` in id order; None if the org has no such Klass."""
    ids = {k["id"] for k in org.objects("klasses") if k["attributes"]["name"] == klass}
    if not ids:
        return None
    return [o for o in org.objects("kobjects") if o["relationships"]["klass"]["data"]["id"] in ids]


def klass_objects(app: App, request: Request) -> Reply:
    # Soft-deleted KObjects are listed with their flag, as companies are ([?]); that an
    # unknown Klass answers 404 rather than an empty list is [?] too.
    objects = kobjects_of(app.org, request.match["name"])
    if objects is None:
        raise HttpError(404, f"No Klass named {request.match['name']}")
    return list_page(app.org, request, objects, 100)


ROUTES = (
    route("GET", "/v1/customers", _CUSTOMER_ROLES, customers),
    route("GET", "/v1/companies", _COMPANY_ROLES, companies),
    route("GET", "/v1/notes", _NOTE_ROLES, notes),
    route("GET", "/v1/klasses", _KLASS_ROLES, klasses),
    # A Klass is addressed by its name (letters, digits, _ and -), not an id; the pattern
    # matches a segment after /v1/klasses only, never /v1/klasses itself.
    Route(
        "GET",
        re.compile(r"/v1/klasses/(?P<name>[A-Za-z0-9_\-]+)"),
        "GET /v1/klasses/{name}",
        _KOBJECT_ROLES,
        klass_objects,
    ),
)
