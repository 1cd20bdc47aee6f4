"""The tap's streams, grouped by domain."""

from __future__ import annotations

from tap_kustomer.streams.audit import AuditLogsStream, ConversationStatusChangesStream
from tap_kustomer.streams.conversations import (
    ConversationEventsStream,
    ConversationsStream,
    CustomersStream,
    MessagesStream,
    TicketsStream,
)
from tap_kustomer.streams.directory import TagsStream, TeamsStream, UsersStream
from tap_kustomer.streams.klasses import KlassesStream, KObjectsStream
from tap_kustomer.streams.objects import AttachmentsStream, CompaniesStream, NotesStream
from tap_kustomer.streams.routing import (
    AgentStatesStream,
    AssistantsStream,
    QueuesStream,
    RoutingStatusesStream,
    WorkSessionsStream,
)
from tap_kustomer.streams.settings import (
    BrandsStream,
    BusinessSchedulesStream,
    CustomAttributesStream,
    ShortcutsStream,
    SlasStream,
    SlaVersionsStream,
)

STREAM_TYPES = (
    AuditLogsStream,
    ConversationStatusChangesStream,
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
    CompaniesStream,
    NotesStream,
    KObjectsStream,
    AttachmentsStream,
    KlassesStream,
    ShortcutsStream,
    SlasStream,
    SlaVersionsStream,
    BrandsStream,
    BusinessSchedulesStream,
    CustomAttributesStream,
)

__all__ = ["STREAM_TYPES"]
