"""Conversation data: conversations, their messages and events, and customers."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from tap_kustomer import schemas
from tap_kustomer.client import LIST_PAGE_SIZE, NotFoundError
from tap_kustomer.mapping import TicketRules, needs_messages, ticket
from tap_kustomer.streams.base import KustomerStream, SearchStream

if TYPE_CHECKING:
    from collections.abc import Iterator


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
    query_context = "conversation"
    history_path = "/v1/conversations"
    record_schema = schemas.CONVERSATIONS


class MessagesStream(SearchStream):
    """Messages updated since the bookmark (search, ``queryContext: message``).

    Search returns 500 messages a request from the search budget; the per-conversation
    endpoint would cost a request for every changed conversation from the org budget.
    """

    name = "messages"
    query_context = "message"
    history_path = "/v1/messages"
    record_schema = schemas.MESSAGES


class CustomersStream(SearchStream):
    """Customers updated since the bookmark (search, ``queryContext: customer``)."""

    name = "customers"
    query_context = "customer"
    record_schema = schemas.CUSTOMERS


class ConversationEventsStream(SearchStream):
    """Every event of each conversation created or updated since the bookmark.

    The conversations come from this stream's own search scan (one search request
    per 500 conversations), so its bookmark is its own and it can run without the
    ``conversations`` stream; events are fetched a few conversations at a time.
    """

    name = "conversation_events"
    query_context = "conversation"
    history_path = "/v1/conversations"
    record_schema = schemas.CONVERSATION_EVENTS
    replication_key: ClassVar[str] = "conversation_updated_at"

    def records_for_hits(
        self,
        hits: Iterator[dict[str, Any]],
    ) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
        """Pair each conversation with the records of all its events."""
        for conversation, events in self.concurrent(self._events_of, hits):
            updated_at = conversation["attributes"]["updatedAt"]
            records = []
            for event in events:
                record = self.to_record(event)
                record.setdefault("conversation_id", conversation["id"])
                record["conversation_updated_at"] = updated_at
                records.append(record)
            yield conversation, records

    def probe(self) -> None:
        """Search one conversation and read its events."""
        found = self.client.search({"queryContext": "conversation"}, page=1, page_size=1)
        for conversation in found.get("data") or []:
            self.client.get(f"/v1/conversations/{conversation['id']}/events", {"pageSize": 1})

    def _events_of(self, conversation: dict[str, Any]) -> list[dict[str, Any]]:
        return conversation_children(self, conversation, "events")


class TicketsStream(SearchStream):
    """Conversations as Assembled tickets: channel, status and first-response rules.

    Kept in step with ``conversations`` by the same search scan; a conversation's
    messages are read (one request) only where a first-response rule needs them.
    """

    name = "tickets"
    query_context = "conversation"
    history_path = "/v1/conversations"
    record_schema = schemas.TICKETS

    @cached_property
    def rules(self) -> TicketRules:
        """The mapping choices from the settings."""
        return TicketRules(
            channel_overrides=dict(self.config.get("channel_mapping") or {}),
            use_business_time=self.config["use_business_time"],
        )

    def records_for_hits(
        self,
        hits: Iterator[dict[str, Any]],
    ) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
        """Pair each conversation with its ticket."""
        # About one conversation in five needs its messages (Phone, or an empty firstResponse).
        fetches = self.concurrent(self._messages_if_needed, hits, share_needing_requests=0.2)
        for conversation, messages in fetches:
            yield conversation, [ticket(conversation, messages, self.rules)]

    def _messages_if_needed(self, conversation: dict[str, Any]) -> list[dict[str, Any]] | None:
        if not needs_messages(conversation.get("attributes") or {}, self.rules):
            return None
        return [
            message.get("attributes") or {}
            for message in conversation_children(self, conversation, "messages")
        ]
