"""Routing data: work sessions, routing statuses, queues and assistants."""

from __future__ import annotations

from tap_kustomer import schemas
from tap_kustomer.streams.base import ListStream


class WorkSessionsStream(ListStream):
    """Every user's work sessions, past and active (``user=false``: all users)."""

    name = "work_sessions"
    path = "/v1/routing/work-sessions"
    record_schema = schemas.WORK_SESSIONS
    passes = ({"user": "false"},)


class RoutingStatusesStream(ListStream):
    """The org's routing statuses (available, busy, unavailable, offline types)."""

    name = "routing_statuses"
    path = "/v1/routing/statuses"
    record_schema = schemas.ROUTING_STATUSES


class QueuesStream(ListStream):
    """Routing queues, the system ``DEFAULT_QUEUE`` included."""

    name = "queues"
    path = "/v1/routing/queues"
    record_schema = schemas.QUEUES


class AssistantsStream(ListStream):
    """Kustomer assistants (bots); the endpoint's shape is not documented publicly."""

    name = "assistants"
    path = "/v1/assistants"
    record_schema = schemas.ASSISTANTS
