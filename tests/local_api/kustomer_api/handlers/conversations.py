"""``/v1/conversations``: the list, one or several by id, and a conversation's events."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kustomer_api.paging import choice_param, data, list_page
from kustomer_api.protocol import HttpError, Reply, route

if TYPE_CHECKING:
    from kustomer_api.app import App
    from kustomer_api.protocol import Request
    from kustomer_api.seed import Org

CONVERSATION_ROLES = ("org.permission.conversation.read", "org.user.conversation.read")
_EVENT_ROLES = ("org.permission.event.read", "org.user.event.read")


def find(org: Org, conversation_id: str) -> dict:
    """A conversation by id, or a 404."""
    conversation = org.get(conversation_id)
    if conversation is None or conversation["type"] != "conversation":
        raise HttpError(404, f"Conversation {conversation_id} not found")
    return conversation


def conversations(app: App, request: Request) -> Reply:
    order = choice_param(request, "sort", ("asc", "desc"))
    # Whether this list hides soft-deleted conversations is [?]: hidden, as in search.
    live = [o for o in app.org.objects("conversations") if not o["attributes"].get("deleted")]
    return list_page(app.org, request, live[::-1] if order == "desc" else live, 100)


def conversation(app: App, request: Request) -> Reply:
    ids = request.match["ids"].split(",")
    if len(ids) == 1:
        return data(app.org, find(app.org, ids[0]))
    found = [app.org.get(i) for i in ids]
    items = [o for o in found if o is not None and o["type"] == "conversation"]
    if not items:
        raise HttpError(404, f"Conversations {request.match['ids']} not found")
    return Reply(200, b'{"data":[' + b",".join(map(app.org.encoded, items)) + b"]}")


def conversation_events(app: App, request: Request) -> Reply:
    conversation_id = find(app.org, request.match["id"])["id"]
    order = choice_param(request, "sort", ("asc", "desc"))
    events = app.org.events_by_conversation.get(conversation_id, [])
    # The `changed` filter's format is [?] and not implemented; `name` takes a comma list.
    names = request.params.get("name")
    if names:
        wanted = set(names.split(","))
        events = [e for e in events if e["attributes"]["name"] in wanted]
    return list_page(app.org, request, events[::-1] if order == "desc" else events, 100)


ROUTES = (
    route("GET", "/v1/conversations", CONVERSATION_ROLES, conversations),
    route("GET", "/v1/conversations/{ids}", CONVERSATION_ROLES, conversation),
    route("GET", "/v1/conversations/{id}/events", _EVENT_ROLES, conversation_events),
)
