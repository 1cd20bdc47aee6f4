"""The org's directory: ``/v1/users``, ``/v1/teams``, ``/v1/tags`` and ``/v1/assistants``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kustomer_api.paging import bool_param, choice_param, list_page, undocumented
from kustomer_api.protocol import route

if TYPE_CHECKING:
    from kustomer_api.app import App
    from kustomer_api.protocol import Reply, Request

_TEAM_ROLES = ("org.permission.team.read",)
_USER_ROLES = ("org.permission.user.read", "org.user.user.read")
_TAG_ROLES = ("org.permission.tag.read",)
_ASSISTANT_ROLES = ("org.permission.assistant.read", "org.user.apps.read")


def _not_deleted_filter(request: Request, objects: list[dict]) -> list[dict]:
    # With no `deleted` filter only live objects come back; the real default is [?].
    want_deleted = bool_param(request, "deleted") is True
    return [o for o in objects if bool(o["attributes"].get("deleted")) == want_deleted]


def _is_pending(user: dict) -> bool:
    attrs = user["attributes"]
    return attrs["userType"] != "machine" and attrs.get("firstLoginAt") is None


def assistants(app: App, request: Request) -> Reply:
    # The endpoint itself is [?]; objects follow GET /v1/ai/automations' documented fields.
    return list_page(app.org, request, app.org.objects("assistants"), 100)


def tags(app: App, request: Request) -> Reply:
    # `deleted` is documented on /v1/users only: refused here when undocumented_params says so.
    undocumented(request, "deleted")
    return list_page(app.org, request, _not_deleted_filter(request, app.org.objects("tags")), 100)


def teams(app: App, request: Request) -> Reply:
    undocumented(request, "deleted")
    return list_page(app.org, request, _not_deleted_filter(request, app.org.objects("teams")), 500)


def users(app: App, request: Request) -> Reply:
    found = _not_deleted_filter(request, app.org.objects("users"))
    user_type = choice_param(request, "userType", ("user", "machine", "limited", "hourly"))
    pending = bool_param(request, "pending")
    email = request.params.get("email")
    # The real API says these filters cannot be combined (what it does then is [?]);
    # here they simply all apply.
    if user_type:
        found = [u for u in found if u["attributes"]["userType"] == user_type]
    if pending is not None:
        found = [u for u in found if _is_pending(u) == pending]
    if email:
        found = [u for u in found if u["attributes"]["email"].lower() == email.lower()]
    return list_page(app.org, request, found, 500)


ROUTES = (
    route("GET", "/v1/assistants", _ASSISTANT_ROLES, assistants),
    route("GET", "/v1/tags", _TAG_ROLES, tags),
    route("GET", "/v1/teams", _TEAM_ROLES, teams),
    route("GET", "/v1/users", _USER_ROLES, users),
)
