"""``/v1/messages``, a conversation's messages and one file of a message."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from kustomer_api.handlers.conversations import find
from kustomer_api.paging import choice_param, data, list_page
from kustomer_api.protocol import ID, HttpError, Route, route

if TYPE_CHECKING:
    from kustomer_api.app import App
    from kustomer_api.protocol import Reply, Request

_MESSAGE_ROLES = ("org.permission.message.read", "org.user.message.read")
# Kustomer's reference page for GET /v1/messages/{message_id}/attachments/{id}.
_ATTACHMENT_ROLES = ("org.permission.attachment.read", "org.user.attachment.read")


def messages(app: App, request: Request) -> Reply:
    order = choice_param(request, "sort", ("asc", "desc"))
    objects = app.org.objects("messages")
    return list_page(app.org, request, objects[::-1] if order == "desc" else objects, 100)


def conversation_messages(app: App, request: Request) -> Reply:
    conversation_id = find(app.org, request.match["id"])["id"]
    # Order is [?]: ascending createdAt.
    by_conversation = app.org.messages_by_conversation.get(conversation_id, [])
    # ``include=attachments``: the page's files in ``included`` (in Kustomer's OpenAPI; whether
    # every API honours it is [?], so ``attachments_include: ignored`` drops it).
    asked = request.params.get("include") == "attachments"
    if not asked or request.config.attachments_include == "ignored":
        return list_page(app.org, request, by_conversation, 100)
    files = app.org.attachments_by_message

    def attachments(page: list[dict]) -> list[dict]:
        return [a for m in page for a in files.get(m["id"], [])]

    return list_page(app.org, request, by_conversation, 100, included=attachments)


def message_attachment(app: App, request: Request) -> Reply:
    """One file of a message, as Kustomer documents it; a 404 for any other pair of ids."""
    message_id, attachment_id = request.match["message_id"], request.match["id"]
    for attachment in app.org.attachments_by_message.get(message_id, []):
        if attachment["id"] == attachment_id:
            return data(app.org, attachment)
    raise HttpError(404, f"Attachment {attachment_id} of message {message_id} not found")


ROUTES = (
    route("GET", "/v1/conversations/{id}/messages", _MESSAGE_ROLES, conversation_messages),
    route("GET", "/v1/messages", _MESSAGE_ROLES, messages),
    Route(
        "GET",
        re.compile(rf"/v1/messages/(?P<message_id>{ID})/attachments/(?P<id>{ID})"),
        "GET /v1/messages/{id}/attachments/{id}",
        _ATTACHMENT_ROLES,
        message_attachment,
    ),
)
