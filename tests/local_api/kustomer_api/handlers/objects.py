"""CRM objects beside conversations (issue 15): ``/v1/companies``, ``/v1/notes``, ``/v1/klasses``.

Companies, notes and KObjects are searched (``queryContext`` ``company``, ``note``,
``kobject``) through ``handlers.searches``; these are their plain lists, in id order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kustomer_api.paging import list_page
from kustomer_api.protocol import route

if TYPE_CHECKING:
    from kustomer_api.app import App
    from kustomer_api.protocol import Reply, Request

_COMPANY_ROLES = ("org.permission.company.read", "org.user.company.read")
_NOTE_ROLES = ("org.permission.note.read", "org.user.note.read")
# The roles of GET /v1/klasses/{id}; the list's own page is not in the reference ([?]).
_KLASS_ROLES = ("org.permission.klass.read", "org.user.klass.read", "org.admin.klass.read")


def companies(app: App, request: Request) -> Reply:
    return list_page(app.org, request, app.org.objects("companies"), 100)


def notes(app: App, request: Request) -> Reply:
    return list_page(app.org, request, app.org.objects("notes"), 100)


def klasses(app: App, request: Request) -> Reply:
    return list_page(app.org, request, app.org.objects("klasses"), 100)


ROUTES = (
    route("GET", "/v1/companies", _COMPANY_ROLES, companies),
    route("GET", "/v1/notes", _NOTE_ROLES, notes),
    route("GET", "/v1/klasses", _KLASS_ROLES, klasses),
)
