"""The /v1 endpoints, one module per entity, each with its ``ROUTES``.

A new entity is a module here with its handlers and ``ROUTES``, and one line below.
"""

from kustomer_api.handlers import (
    audit_logs,
    conversations,
    directory,
    messages,
    objects,
    routing,
    searches,
    session,
    settings,
)

ROUTES = (
    *session.ROUTES,
    *searches.ROUTES,
    *conversations.ROUTES,
    *messages.ROUTES,
    *routing.ROUTES,
    *directory.ROUTES,
    *objects.ROUTES,
    *settings.ROUTES,
    *audit_logs.ROUTES,
)
ROUTE_NAMES = frozenset(r.name for r in ROUTES)
