"""``/v1/routing``: work sessions (all users', or one user's), statuses and queues."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kustomer_api.paging import bool_param, choice_param, list_page, undocumented
from kustomer_api.protocol import HttpError, route

if TYPE_CHECKING:
    from kustomer_api.app import App
    from kustomer_api.protocol import Reply, Request

_QUEUE_ROLES = ("org.permission.queue.read", "org.permission.routing.read", "org.user.routing.read")
_STATUS_ROLES = (
    "org.permission.routing_status.read",
    "org.permission.routing.read",
    "org.user.routing.read",
)
_WORK_SESSION_ROLES = (
    "org.permission.work_session.read",
    "org.permission.routing.read",
    "org.user.routing.read",
)
# GET /v1/routing/users/{id}/work-sessions lists no work_session role in the reference.
_USER_WORK_SESSION_ROLES = ("org.permission.routing.read", "org.user.routing.read")
ROLES = frozenset(_QUEUE_ROLES + _STATUS_ROLES + _WORK_SESSION_ROLES)


def _in_order(request: Request, sessions: list[dict]) -> list[dict]:
    """Sessions (in id order) in the order the ``work_sessions_order`` setting gives.

    The reference documents neither a default order nor a ``sort`` parameter here ([?]).
    """
    sort = undocumented(request, "sort")
    if sort is not None:
        sort = choice_param(request, "sort", ("asc", "desc"))
    order = request.config.work_sessions_order
    newest_first = order == "desc" or (order == "sortable" and sort == "desc")
    return sessions[::-1] if newest_first else sessions


def work_sessions(app: App, request: Request) -> Reply:
    mine = bool_param(request, "user")
    active = bool_param(request, "active")
    status_type = choice_param(
        request, "statusType", ("available", "busy", "unavailable", "offline")
    )
    sessions = app.org.objects("work_sessions")
    if mine:
        # Every token belongs to the API machine user, and it never routes work.
        sessions = [
            s for s in sessions if s["relationships"]["user"]["data"]["id"] == app.org.api_user_id
        ]
    if active:
        sessions = [s for s in sessions if s["attributes"]["active"]]
    if status_type:
        sessions = [s for s in sessions if s["attributes"]["statusType"] == status_type]
    return list_page(app.org, request, _in_order(request, sessions), 100)


def user_work_sessions(app: App, request: Request) -> Reply:
    user_id = request.match["id"]
    user = app.org.get(user_id)
    if user is None or user["type"] != "user":
        raise HttpError(404, f"User {user_id} not found")
    sessions = [
        s
        for s in app.org.objects("work_sessions")
        if s["relationships"]["user"]["data"]["id"] == user_id
    ]
    return list_page(app.org, request, _in_order(request, sessions), 100)


def statuses(app: App, request: Request) -> Reply:
    return list_page(app.org, request, app.org.objects("routing_statuses"), 100)


def queues(app: App, request: Request) -> Reply:
    return list_page(app.org, request, app.org.objects("queues"), 100)


ROUTES = (
    route("GET", "/v1/routing/work-sessions", _WORK_SESSION_ROLES, work_sessions),
    route(
        "GET", "/v1/routing/users/{id}/work-sessions", _USER_WORK_SESSION_ROLES, user_work_sessions
    ),
    route("GET", "/v1/routing/statuses", _STATUS_ROLES, statuses),
    route("GET", "/v1/routing/queues", _QUEUE_ROLES, queues),
)
