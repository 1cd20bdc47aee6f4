"""The tap's streams, grouped by domain."""

from __future__ import annotations

from tap_kustomer.streams.conversations import (
    ConversationEventsStream,
    ConversationsStream,
    CustomersStream,
    MessagesStream,
    TicketsStream,
)
from tap_kustomer.streams.directory import TagsStream, TeamsStream, UsersStream
from tap_kustomer.streams.routing import (
    AgentStatesStream,
    AssistantsStream,
    QueuesStream,
    RoutingStatusesStream,
    WorkSessionsStream,
)

STREAM_TYPES = (
    ConversationsStream,
    MessagesStream,
    ConversationEventsStream,
    CustomersStream,
    WorkSessionsStream,
    RoutingStatusesStream,
    QueuesStream,
    AssistantsStream,
    TagsStream,
    TeamsStream,
    UsersStream,
    TicketsStream,
    AgentStatesStream,
)

__all__ = ["STREAM_TYPES"]
