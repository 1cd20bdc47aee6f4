"""``/v1/routing``: work sessions, statuses and queues."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kustomer_api.paging import bool_param, choice_param, list_page
from kustomer_api.protocol import route

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
ROLES = frozenset(_QUEUE_ROLES + _STATUS_ROLES + _WORK_SESSION_ROLES)


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
    # Default order is [?]: ascending id (= signedInAt).
    return list_page(app.org, request, sessions, 100)


def statuses(app: App, request: Request) -> Reply:
    return list_page(app.org, request, app.org.objects("routing_statuses"), 100)


def queues(app: App, request: Request) -> Reply:
    return list_page(app.org, request, app.org.objects("queues"), 100)


ROUTES = (
    route("GET", "/v1/routing/work-sessions", _WORK_SESSION_ROLES, work_sessions),
    route("GET", "/v1/routing/statuses", _STATUS_ROLES, statuses),
    route("GET", "/v1/routing/queues", _QUEUE_ROLES, queues),
)
