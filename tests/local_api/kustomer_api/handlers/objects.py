"""CRM object lists: ``/v1/customers``, and issue 15's ``/v1/companies``, ``/v1/notes``, ``/v1/klasses``.

Companies, notes and KObjects are searched (``queryContext`` ``company``, ``note``,
``kobject``) through ``handlers.searches``; these are their plain lists, in id order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kustomer_api.paging import choice_param, list_page
from kustomer_api.protocol import route

if TYPE_CHECKING:
    from kustomer_api.app import App
    from kustomer_api.protocol import Reply, Request

_CUSTOMER_ROLES = ("org.permission.customer.read", "org.user.customer.read")
_COMPANY_ROLES = ("org.permission.company.read", "org.user.company.read")
_NOTE_ROLES = ("org.permission.note.read", "org.user.note.read")
# The roles of GET /v1/klasses/{id}; the list's own page is not in the reference ([?]).
_KLASS_ROLES = ("org.permission.klass.read", "org.user.klass.read", "org.admin.klass.read")


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


ROUTES = (
    route("GET", "/v1/customers", _CUSTOMER_ROLES, customers),
    route("GET", "/v1/companies", _COMPANY_ROLES, companies),
    route("GET", "/v1/notes", _NOTE_ROLES, notes),
    route("GET", "/v1/klasses", _KLASS_ROLES, klasses),
)
