"""CRM objects beside conversations: companies, notes and attachments (custom objects: ``klasses``).

Why search, not lists or per-conversation children:

* ``companies`` and ``notes``: ``POST /v1/customers/search`` (``queryContext`` ``company``,
  ``note``) returns 500 changed objects a request and filters on ``updatedAt``; the lists
  (``GET /v1/companies``, ``GET /v1/notes``) have no date filter, and notes per
  conversation (``GET /v1/conversations/{id}/notes``) would cost a request for every
  changed conversation. An idle run costs one search each.
* ``attachments``: a scan of changed messages (``queryContext: message``); only a message
  whose ``attachments`` relationship names files costs a request, one per conversation:
  ``GET /v1/conversations/{id}/messages?include=attachments``, the files in ``included``
  (in Kustomer's OpenAPI, not on its current reference page: [?] whether every API honours
  it). A file ``included`` lacks is read alone through the documented route,
  ``GET /v1/messages/{message_id}/attachments/{id}`` (role ``org.permission.attachment.read``).

All three are ``SearchStream``s, so ties, the indexing-lag overlap, resumable STATE and
the history pass (the archive search covers companies, messages and custom objects)
apply as to conversations.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, ClassVar

from tap_kustomer import schemas_objects
from tap_kustomer.client import LIST_PAGE_SIZE, NotFoundError, PermissionDeniedError
from tap_kustomer.permissions import roles_hint
from tap_kustomer.pii import DROP, KEEP, hashed
from tap_kustomer.records import relationship_id
from tap_kustomer.streams.base import KustomerStream, SearchStream

if TYPE_CHECKING:
    from singer_sdk import Tap
    from singer_sdk.helpers.types import Context

    from tap_kustomer.streams.base import Run

# Conversations whose attachments one run keeps at hand (a conversation's messages
# change together, so their hits sit close in the scan).
_CACHED_CONVERSATIONS = 512
# Kustomer's documented route for one file of a message.
FILE_ROUTE = "/v1/messages/{id}/attachments/{id}"


def protect_fields(record: dict[str, Any], fields: frozenset[str], mode: str) -> dict[str, Any]:
    """Hash or drop ``fields`` of a record as ``pii_mode`` says (shapes kept, as ``pii``)."""
    if mode == KEEP:
        return record
    for name in fields & record.keys():
        record[name] = None if mode == DROP else hashed(record[name])
    return record


class PersonalFieldsStream(KustomerStream):
    """A stream with personal fields of its own for ``pii_mode`` to hash or drop."""

    personal_fields: ClassVar[frozenset[str]] = frozenset()

    def post_process(
        self, row: dict[str, Any], context: Context | None = None
    ) -> dict[str, Any] | None:
        """The shaped record, its personal fields protected."""
        record = super().post_process(row, context)
        if record is None:
            return None
        return protect_fields(record, self.personal_fields, self.config["pii_mode"])


class CompaniesStream(PersonalFieldsStream, SearchStream):
    """Companies updated since the bookmark (search, ``queryContext: company``).

    Deleted companies (Kustomer has no DELETE: ``deleted: true``) come with their flag.
    """

    name = "companies"
    deleted_as = ("company",)
    query_context = "company"
    record_schema = schemas_objects.COMPANIES
    personal_fields = frozenset({"emails", "phones", "whatsapps", "socials", "locations"})


class NotesStream(PersonalFieldsStream, SearchStream):
    """Internal notes updated since the bookmark (search, ``queryContext: note``)."""

    name = "notes"
    deleted_as = ("note",)
    query_context = "note"
    # The archive search does not document notes: where it refuses them, the list (whose
    # sort parameter is [?]: a list that ignores it stops the pass, never a silent hole).
    history_path = "/v1/notes"
    archive_documented = False
    record_schema = schemas_objects.NOTES
    personal_fields = frozenset({"body"})


class AttachmentsStream(PersonalFieldsStream, SearchStream):
    """Files on messages updated since the bookmark, one request per conversation with any.

    The replication key is the message's ``updatedAt`` (``message_updated_at``). A file the
    conversation's ``included`` lacks (``include`` not honoured, or the file added after the
    read) costs one request of its own, ``GET /v1/messages/{message_id}/attachments/{id}``.
    Where that route answers 403 or 404 the file is still emitted, with its id, message and
    conversation only, and one warning a run says so.
    """

    name = "attachments"
    query_context = "message"
    history_path = "/v1/messages"
    record_schema = schemas_objects.ATTACHMENTS
    replication_key: ClassVar[str] = "message_updated_at"
    # Few messages carry files: look further ahead to keep requests in flight.
    requests_per_hit: ClassVar[float] = 0.1
    personal_fields = frozenset({"name"})

    def __init__(self, tap: Tap, run: Run) -> None:
        """Start with no conversation read."""
        super().__init__(tap, run)
        self._lock = threading.Lock()
        self._by_conversation: OrderedDict[str, dict[str, dict[str, Any]]] = OrderedDict()
        self._reading: dict[str, threading.Lock] = {}
        # Set once a conversation read shows ``include`` ignored: its reads then bring no
        # file, so each file is read alone from then on.
        self._include_ignored = False
        # Set by a 403 on the file route: the key lacks the role, every file would fail.
        self._file_route_denied = False
        self._warned_unread = False

    def records_for(self, hit: dict[str, Any]) -> list[dict[str, Any]]:
        """The records of the message's files."""
        conversation_id = relationship_id(hit, "conversation")
        records = []
        for attachment in self._files_of(hit):
            record = self.to_record(attachment)
            record["message_id"] = hit["id"]
            record["conversation_id"] = conversation_id
            record["message_updated_at"] = hit["attributes"]["updatedAt"]
            records.append(record)
        return records

    def probe(self) -> None:
        """Search one message and read its conversation's messages with their files."""
        found = self.client.search({"queryContext": "message"}, page=1, page_size=1)
        for message in found.get("data") or []:
            conversation_id = relationship_id(message, "conversation")
            if conversation_id:
                params = {"page": 1, "pageSize": 1, "include": "attachments"}
                self.client.get(f"/v1/conversations/{conversation_id}/messages", params)

    def _files_of(self, message: dict[str, Any]) -> list[dict[str, Any]]:
        ids = _file_ids(message)
        if not ids:
            return []
        conversation_id = relationship_id(message, "conversation")
        known = (
            self._attachments_of(conversation_id)
            if conversation_id and not self._include_ignored
            else {}
        )
        return [known.get(file_id) or self._read_file(message["id"], file_id) for file_id in ids]

    def _read_file(self, message_id: str, file_id: str) -> dict[str, Any]:
        """One file through the documented route; its id alone where the route refuses."""
        if not self._file_route_denied:
            try:
                document = self.client.get(f"/v1/messages/{message_id}/attachments/{file_id}")
            except PermissionDeniedError as exc:
                self._file_route_denied = True
                self._warn_unread(exc.status)
            except NotFoundError as exc:
                self._warn_unread(exc.status)
            else:
                found = document.get("data")
                if isinstance(found, dict) and found.get("id") == file_id:
                    return found
        # What is lost: the file's name, content type and size, its redaction and upload
        # flags and its timestamps; the id, message and conversation are kept.
        return {"id": file_id}

    def _warn_unread(self, status: int | None) -> None:
        with self._lock:
            if self._warned_unread:
                return
            self._warned_unread = True
        self.logger.warning(
            "attachments: GET %s answered %s: files the conversation read lacks are "
            "emitted with their id, message and conversation only (no name, type or size); "
            "the route needs %s",
            FILE_ROUTE,
            status,
            roles_hint(FILE_ROUTE),
        )

    def _attachments_of(self, conversation_id: str) -> dict[str, dict[str, Any]]:
        # Messages of one conversation are fetched side by side: the first to ask reads the
        # conversation while the others wait for it, so it costs one request, not several.
        with self._lock:
            reading = self._reading.setdefault(conversation_id, threading.Lock())
        with reading:
            with self._lock:
                cached = self._by_conversation.get(conversation_id)
                if cached is not None:
                    self._by_conversation.move_to_end(conversation_id)
                    return cached
            found = self._read_attachments(conversation_id)
            with self._lock:
                self._by_conversation[conversation_id] = found
                while len(self._by_conversation) > _CACHED_CONVERSATIONS:
                    self._by_conversation.popitem(last=False)
                self._reading.pop(conversation_id, None)
        return found

    def _read_attachments(self, conversation_id: str) -> dict[str, dict[str, Any]]:
        path = f"/v1/conversations/{conversation_id}/messages"
        params = {"page": 1, "pageSize": LIST_PAGE_SIZE, "include": "attachments"}
        found: dict[str, dict[str, Any]] = {}
        names_files = answers_include = False
        try:
            for page in self.client.iter_pages(path, params):
                answers_include = answers_include or "included" in page
                names_files = names_files or any(map(_file_ids, page.get("data") or []))
                found.update(
                    (item["id"], item)
                    for item in page.get("included") or []
                    if isinstance(item, dict) and item.get("type") == "attachment" and "id" in item
                )
        except NotFoundError:
            # Deleted between the search and this request: its files are read alone.
            self.logger.warning("Conversation %s: messages answered 404", conversation_id)
        if names_files and not answers_include and not self._include_ignored:
            # [?] An API that leaves out an empty ``included`` would look the same when
            # every named file is gone; the files are then read alone, which costs more
            # requests but loses nothing.
            self._include_ignored = True
            self.logger.info(
                "attachments: include=attachments is ignored; each file is read through GET %s",
                FILE_ROUTE,
            )
        return found


def _file_ids(message: dict[str, Any]) -> list[str]:
    """The ids of the files a message's ``attachments`` relationship names."""
    relationship = (message.get("relationships") or {}).get("attachments") or {}
    data = relationship.get("data") if isinstance(relationship, dict) else None
    return [item["id"] for item in data or [] if isinstance(item, dict) and "id" in item]
