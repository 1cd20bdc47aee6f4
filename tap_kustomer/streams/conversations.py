"""Conversation data: conversations, their messages and events, and customers."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from tap_kustomer import schemas
from tap_kustomer.client import LIST_PAGE_SIZE, NotFoundError
from tap_kustomer.mapping import TicketRules, needs_messages, ticket
from tap_kustomer.records import parse_timestamp
from tap_kustomer.streams.base import KustomerStream, SearchStream

if TYPE_CHECKING:
    import datetime as dt


def conversation_children(
    stream: KustomerStream, conversation: dict[str, Any], kind: str
) -> list[dict[str, Any]]:
    """All ``/v1/conversations/{id}/<kind>`` objects; none if the conversation is gone."""
    path = f"/v1/conversations/{conversation['id']}/{kind}"
    try:
        return [
            child
            for page in stream.client.iter_pages(path, {"page": 1, "pageSize": LIST_PAGE_SIZE})
            for child in page.get("data") or []
        ]
    except NotFoundError:
        # Deleted between the search and this request: nothing to read, not a failure.
        stream.logger.warning("Conversation %s: %s answered 404; skipped", conversation["id"], kind)
        return []


class ConversationsStream(SearchStream):
    """Conversations updated since the bookmark (search, ``queryContext: conversation``)."""

    name = "conversations"
    deleted_as = ("conversation",)
    query_context = "conversation"
    history_path = "/v1/conversations"
    record_schema = schemas.CONVERSATIONS


class MessagesStream(SearchStream):
    """Messages updated since the bookmark (search, ``queryContext: message``).

    Search returns 500 messages a request from the search budget; the per-conversation
    endpoint would cost a request for every changed conversation from the org budget.
    """

    name = "messages"
    deleted_as = ("message",)
    query_context = "message"
    history_path = "/v1/messages"
    record_schema = schemas.MESSAGES


class CustomersStream(SearchStream):
    """Customers updated since the bookmark (search, ``queryContext: customer``)."""

    name = "customers"
    deleted_as = ("customer",)
    query_context = "customer"
    # The archive search does not document customers: where it refuses them, the list
    # does, newest first by Kustomer's own example (developer.kustomer.com, Get customers).
    history_path = "/v1/customers"
    history_sort = "-createdAt"
    archive_documented = False
    record_schema = schemas.CUSTOMERS


class ConversationEventsStream(SearchStream):
    """Every event of each conversation updated since the bookmark.

    The conversations come from the conversation feed (one search per 500
    conversations, shared with conversations and tickets); each costs one events
    request, so ``events_start_date`` may keep this stream to a shorter window.
    """

    name = "conversation_events"
    query_context = "conversation"
    history_path = "/v1/conversations"
    record_schema = schemas.CONVERSATION_EVENTS
    replication_key: ClassVar[str] = "conversation_updated_at"
    requests_per_hit: ClassVar[float] = 1.0

    @property
    def window_start(self) -> dt.datetime:
        """``events_start_date`` where it is later than ``start_date``."""
        start_date = self.run.start_date
        events_start = self.config.get("events_start_date")
        return max(start_date, parse_timestamp(events_start)) if events_start else start_date

    def records_for(self, hit: dict[str, Any]) -> list[dict[str, Any]]:
        """The records of all the conversation's events."""
        updated_at = hit["attributes"]["updatedAt"]
        records = []
        for event in conversation_children(self, hit, "events"):
            record = self.to_record(event)
            record.setdefault("conversation_id", hit["id"])
            record["conversation_updated_at"] = updated_at
            records.append(record)
        return records

    def probe(self) -> None:
        """Search one conversation and read its events."""
        found = self.client.search({"queryContext": "conversation"}, page=1, page_size=1)
        for conversation in found.get("data") or []:
            self.client.get(f"/v1/conversations/{conversation['id']}/events", {"pageSize": 1})


class TicketsStream(SearchStream):
    """Conversations as Assembled tickets: channel, status and first-response rules.

    Fed by the same conversation scan as ``conversations``; a conversation's
    messages are read (one request) only where a first-response rule needs them.
    """

    name = "tickets"
    # A ticket is its conversation.
    deleted_as = ("conversation",)
    query_context = "conversation"
    history_path = "/v1/conversations"
    record_schema = schemas.TICKETS
    # About one conversation in five needs its messages (Phone, or an empty firstResponse).
    requests_per_hit: ClassVar[float] = 0.2

    @cached_property
    def rules(self) -> TicketRules:
        """The mapping choices from the settings."""
        return TicketRules(
            channel_overrides=dict(self.config.get("channel_mapping") or {}),
            use_business_time=self.config["use_business_time"],
        )

    def records_for(self, hit: dict[str, Any]) -> list[dict[str, Any]]:
        """The conversation's ticket."""
        messages = None
        if needs_messages(hit.get("attributes") or {}, self.rules):
            messages = [
                message.get("attributes") or {}
                for message in conversation_children(self, hit, "messages")
            ]
        return [ticket(hit, messages, self.rules)]
