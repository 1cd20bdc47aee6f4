"""``/v1/messages`` and a conversation's messages."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kustomer_api.handlers.conversations import find
from kustomer_api.paging import choice_param, list_page
from kustomer_api.protocol import route

if TYPE_CHECKING:
    from kustomer_api.app import App
    from kustomer_api.protocol import Reply, Request

_MESSAGE_ROLES = ("org.permission.message.read", "org.user.message.read")


def messages(app: App, request: Request) -> Reply:
    order = choice_param(request, "sort", ("asc", "desc"))
    objects = app.org.objects("messages")
    return list_page(app.org, request, objects[::-1] if order == "desc" else objects, 100)


def conversation_messages(app: App, request: Request) -> Reply:
    conversation_id = find(app.org, request.match["id"])["id"]
    # Order is [?]: ascending createdAt.
    by_conversation = app.org.messages_by_conversation.get(conversation_id, [])
    # ``include=attachments`` (documented): the page's files in ``included``.
    if request.params.get("include") != "attachments":
        return list_page(app.org, request, by_conversation, 100)
    files = app.org.attachments_by_message

    def attachments(page: list[dict]) -> list[dict]:
        return [a for m in page for a in files.get(m["id"], [])]

    return list_page(app.org, request, by_conversation, 100, included=attachments)


ROUTES = (
    route("GET", "/v1/conversations/{id}/messages", _MESSAGE_ROLES, conversation_messages),
    route("GET", "/v1/messages", _MESSAGE_ROLES, messages),
)
