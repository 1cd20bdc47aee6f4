"""Conversation data: conversations, their messages and events, and customers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from tap_kustomer import schemas
from tap_kustomer.client import NotFoundError
from tap_kustomer.streams.base import SearchStream

if TYPE_CHECKING:
    from collections.abc import Iterator

EVENTS_PAGE_SIZE = 100


class ConversationsStream(SearchStream):
    """Conversations updated since the bookmark (search, ``queryContext: conversation``)."""

    name = "conversations"
    query_context = "conversation"
    record_schema = schemas.CONVERSATIONS


class MessagesStream(SearchStream):
    """Messages updated since the bookmark (search, ``queryContext: message``).

    Search returns 500 messages a request from the search budget; the per-conversation
    endpoint would cost a request for every changed conversation from the org budget.
    """

    name = "messages"
    query_context = "message"
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

    def _events_of(self, conversation: dict[str, Any]) -> list[dict[str, Any]]:
        path = f"/v1/conversations/{conversation['id']}/events"
        try:
            return [
                event
                for page in self.client.iter_pages(path, {"page": 1, "pageSize": EVENTS_PAGE_SIZE})
                for event in page.get("data") or []
            ]
        except NotFoundError:
            # Deleted between the search and this request: nothing to read, not a failure.
            self.logger.warning("Conversation %s: events answered 404; skipped", conversation["id"])
            return []
