"""Which Kustomer roles each endpoint accepts, for errors and ``--test`` lines a person can act on.

The roles are those Kustomer's API reference documents per endpoint (any one is
enough; kustomer-api.md §1.3); the Assembled integration document names coarser
ones (``org.permission.search.read``, ``org.permission.read``), which Kustomer's
reference does not list, so they are shown beside the documented names, never
instead of them. A key's roles cannot be changed after it is created: a missing
role means a new key. Paths are matched by prefix after ids become ``{id}``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ID = re.compile(r"/[0-9a-f]{24}(?=/|$)")


@dataclass(frozen=True)
class EndpointRoles:
    """The roles Kustomer documents for an endpoint, and the integration document's name."""

    documented: tuple[str, ...]
    legacy: tuple[str, ...] = ()
    integration_document: str | None = None
    # Where Kustomer's reference has no page for the endpoint, the roles are inferred.
    inferred: bool = False

    def hint(self) -> str:
        """One line: the roles, which of them is the integration document's, and the key rule."""
        roles = " or ".join(self.documented + self.legacy)
        text = f"one of {roles}"
        if self.inferred:
            text += " (inferred: Kustomer's reference has no page for this endpoint)"
        if self.integration_document and self.integration_document not in self.documented:
            text += f" (Assembled's integration document names {self.integration_document})"
        return text + "; roles cannot be added to an existing key: create a new key with them"


_SEARCH = EndpointRoles(
    (
        "org.permission.search.create",
        "org.permission.search.update",
        "org.permission.search_global.create",
        "org.permission.search_preview.create",
    ),
    ("org.user.search.read", "org.admin.search.read"),
    "org.permission.search.read",
)
_MESSAGES = EndpointRoles(
    ("org.permission.message.read",), ("org.user.message.read",), "org.permission.message.read"
)
_DIRECTORY_DOC = "org.permission.read"

ENDPOINT_ROLES: dict[str, EndpointRoles] = {
    "/v1/customers/search": _SEARCH,
    "/v1/customers/archive/search": _SEARCH,
    "/v1/conversations/{id}/events": EndpointRoles(
        ("org.permission.event.read",), ("org.user.event.read",)
    ),
    "/v1/conversations/{id}/messages": _MESSAGES,
    "/v1/conversations": EndpointRoles(
        ("org.permission.conversation.read",),
        ("org.user.conversation.read",),
        "org.permission.conversation.read",
    ),
    # One file of a message (Kustomer's reference page for the route); before /v1/messages,
    # as the first matching prefix wins.
    "/v1/messages/{id}/attachments": EndpointRoles(
        ("org.permission.attachment.read",), ("org.user.attachment.read",)
    ),
    "/v1/messages": _MESSAGES,
    "/v1/routing/work-sessions": EndpointRoles(
        ("org.permission.work_session.read", "org.permission.routing.read"),
        ("org.user.routing.read",),
        "org.permission.routing.read",
    ),
    "/v1/routing/statuses": EndpointRoles(
        ("org.permission.routing_status.read", "org.permission.routing.read"),
        ("org.user.routing.read",),
        "org.permission.routing.read",
    ),
    "/v1/routing/queues": EndpointRoles(
        ("org.permission.queue.read", "org.permission.routing.read"),
        ("org.user.routing.read",),
        "org.permission.routing.read",
    ),
    # GET /v1/assistants is not in Kustomer's reference; the documented AI list
    # (/v1/ai/automations) takes these roles.
    "/v1/assistants": EndpointRoles(
        ("org.permission.assistant.read",), ("org.user.apps.read",), _DIRECTORY_DOC, inferred=True
    ),
    "/v1/tags": EndpointRoles(("org.permission.tag.read",), (), _DIRECTORY_DOC, inferred=True),
    "/v1/teams": EndpointRoles(("org.permission.team.read",), (), _DIRECTORY_DOC),
    "/v1/users": EndpointRoles(
        ("org.permission.user.read",), ("org.user.user.read",), _DIRECTORY_DOC, inferred=True
    ),
    "/v1/customers": EndpointRoles(
        ("org.permission.customer.read",),
        ("org.user.customer.read",),
        "org.permission.customer.read",
    ),
    "/v1/notes": EndpointRoles(("org.permission.note.read",), ("org.user.note.read",)),
    # developer.kustomer.com "Query events associated with your organization".
    "/v1/audit-logs": EndpointRoles(
        ("org.permission.audit_logs.read",), ("org.admin.audit_logs.read",)
    ),
    # Issue 15's lists. The list pages of Klasses, shortcuts and SLAs are not in the
    # reference: these are the roles of their documented siblings (get by id, shortcut
    # categories); no page names those of /v1/brands. The integration document names none.
    "/v1/klasses": EndpointRoles(
        ("org.permission.klass.read",),
        ("org.user.klass.read", "org.admin.klass.read"),
        inferred=True,
    ),
    "/v1/shortcuts": EndpointRoles(
        ("org.permission.shortcut.read",),
        (
            "org.user.shortcut.read",
            "org.user.content.shortcut.read",
            "org.admin.shortcut.read",
            "org.admin.content.shortcut.read",
        ),
        inferred=True,
    ),
    "/v1/slas": EndpointRoles(("org.permission.sla.read",), ("org.user.sla.read",), inferred=True),
    "/v1/brands": EndpointRoles(("org.permission.brand.read",), inferred=True),
    "/v1/schedules": EndpointRoles(
        ("org.permission.schedule.read",),
        ("org.user.schedule.read", "org.admin.schedule.read"),
    ),
    "/v1/metadata": EndpointRoles(
        ("org.permission.metadata.read",),
        ("org.user.metadata.read", "org.admin.metadata.read"),
    ),
}


def endpoint_of(path: str) -> str:
    """The endpoint template of a request path: ids become ``{id}``, no query."""
    return _ID.sub("/{id}", path.split("?", 1)[0])


def roles_for(path: str) -> EndpointRoles | None:
    """The roles a request to ``path`` needs, where known."""
    endpoint = endpoint_of(path)
    for prefix, roles in ENDPOINT_ROLES.items():
        if endpoint.startswith(prefix):
            return roles
    return None


def unavailable_reason(message: str, endpoint: str | None, status: int | None) -> str:
    """Why a stream's endpoint cannot be read, with the roles that would grant it."""
    if status == 404 and endpoint:  # noqa: PLR2004 - HTTP status
        return (
            f"{message}: the endpoint does not exist for this org or region "
            f"(where it does, it needs {roles_hint(endpoint.partition(' ')[2])})"
        )
    return message


def roles_hint(path: str) -> str:
    """The roles a request to ``path`` needs, in words."""
    roles = roles_for(path)
    return roles.hint() if roles else "a read role for this endpoint"
