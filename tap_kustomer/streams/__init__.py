"""The tap's streams, grouped by domain."""

from __future__ import annotations

from tap_kustomer.streams.conversations import (
    ConversationEventsStream,
    ConversationsStream,
    CustomersStream,
    MessagesStream,
)
from tap_kustomer.streams.directory import TagsStream, TeamsStream, UsersStream
from tap_kustomer.streams.routing import (
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
)

__all__ = ["STREAM_TYPES"]
