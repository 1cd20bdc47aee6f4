"""Which Kustomer role each endpoint needs, for errors a person can act on.

The integration document names the permission-set roles to enable; the finer roles
in brackets also work (kustomer-api.md §1.3). Paths are matched by prefix after ids
are replaced by ``{id}``.
"""

from __future__ import annotations

import re

_ID = re.compile(r"/[0-9a-f]{24}(?=/|$)")

ENDPOINT_PERMISSIONS: dict[str, str] = {
    "/v1/customers/search": "org.permission.search.read (or search.create)",
    "/v1/conversations/{id}/events": "org.permission.event.read",
    "/v1/conversations/{id}/messages": "org.permission.message.read",
    "/v1/conversations": "org.permission.conversation.read",
    "/v1/messages": "org.permission.message.read",
    "/v1/routing/work-sessions": "org.permission.routing.read (or work_session.read)",
    "/v1/routing/statuses": "org.permission.routing.read (or routing_status.read)",
    "/v1/routing/queues": "org.permission.routing.read (or queue.read)",
    "/v1/assistants": "org.permission.read (or assistant.read)",
    "/v1/tags": "org.permission.read (or tag.read)",
    "/v1/teams": "org.permission.read (or team.read)",
    "/v1/users": "org.permission.read (or user.read)",
    "/v1/customers": "org.permission.customer.read",
}


def endpoint_of(path: str) -> str:
    """The endpoint template of a request path: ids become ``{id}``, no query."""
    return _ID.sub("/{id}", path.split("?", 1)[0])


def required_permission(path: str) -> str:
    """The Kustomer role a request to ``path`` needs, or a generic hint."""
    endpoint = endpoint_of(path)
    for prefix, permission in ENDPOINT_PERMISSIONS.items():
        if endpoint.startswith(prefix):
            return permission
    return "a read role for this endpoint"
