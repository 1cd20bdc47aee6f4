"""API keys: bearer tokens, their roles and pods (reference §1.3), and who may call a route."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from kustomer_api import handlers
from kustomer_api.handlers import audit_logs, routing
from kustomer_api.handlers.settings import METADATA_ROUTE

if TYPE_CHECKING:
    from kustomer_api.config import Config
    from kustomer_api.protocol import Route

ADMIN_TOKEN = "local-admin-token"
NO_ROUTING_TOKEN = "local-no-routing-token"
NO_AUDIT_TOKEN = "local-no-audit-token"
TICKETS_ONLY_TOKEN = "local-tickets-only-token"
EXPIRED_TOKEN = "local-expired-token"
POD = "prod1"
# Named by the Assembled integration document but not by the OAS: whether it works is [?].
# Accepted for (archive) search only with the ``accept_search_read_role`` setting.
SEARCH_READ_ROLE = "org.permission.search.read"
# Documented roles no endpoint served here asks for; the admin key holds them too.
_UNUSED_ROLES = (
    "org.permission.customer.read",
    "org.user.customer.read",
    "org.user.team.read",
    "org.user.tag.read",
)
# Every route accepts any one of its roles.
ALL_ROLES = tuple(
    sorted(
        {
            *(r for route in handlers.ROUTES for r in route.roles or ()),
            SEARCH_READ_ROLE,
            *_UNUSED_ROLES,
        }
    )
)
_TICKET_ROLES = (
    "org.permission.search.create",
    "org.permission.conversation.read",
    "org.permission.message.read",
    "org.permission.event.read",
)


@dataclass(frozen=True)
class Token:
    roles: frozenset[str]
    pod: str = POD
    expired: bool = False


def default_tokens() -> dict[str, Token]:
    """The documented test keys: every role, no routing roles, no audit log roles, tickets
    only, expired."""
    return {
        ADMIN_TOKEN: Token(frozenset(ALL_ROLES)),
        NO_ROUTING_TOKEN: Token(frozenset(ALL_ROLES) - routing.ROLES),
        NO_AUDIT_TOKEN: Token(frozenset(ALL_ROLES) - audit_logs.ROLES),
        TICKETS_ONLY_TOKEN: Token(frozenset(_TICKET_ROLES)),
        EXPIRED_TOKEN: Token(frozenset(ALL_ROLES), expired=True),
    }


def authenticate(tokens: dict[str, Token], authorization: str | None) -> Token | str:
    """The token of an ``Authorization`` header, or why it is refused (a 401's detail)."""
    scheme, _, value = (authorization or "").strip().partition(" ")
    token = tokens.get(value.strip()) if scheme.lower() == "bearer" else None
    if token is None:
        return "Invalid token"
    if token.expired:
        return "Expired token"
    if token.pod != POD:
        return f"Auth token associated with pod {token.pod} but request is being handled by {POD}"
    return token


def allowed(route: Route, token: Token, config: Config) -> bool:
    roles = route.roles
    if roles is None:
        return True
    if route.archive and config.archive_search == "forbidden":
        return False  # as for a key without the role
    if route.name == METADATA_ROUTE and config.metadata_route == "forbidden":
        return False
    if route.name == audit_logs.AUDIT_ROUTE and config.audit_logs_route == "forbidden":
        return False
    if route.search and config.accept_search_read_role:
        roles = (*roles, SEARCH_READ_ROLE)
    return not token.roles.isdisjoint(roles)
