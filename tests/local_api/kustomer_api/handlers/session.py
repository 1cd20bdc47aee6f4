"""``/v1/auth/tokens/current`` and ``/v1/users/current``: who the API key is."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from kustomer_api.paging import data
from kustomer_api.protocol import Reply, dumps, route

if TYPE_CHECKING:
    from kustomer_api.app import App
    from kustomer_api.protocol import Request


def token_current(app: App, request: Request) -> Reply:
    token = request.token
    token_id = next(k for k, v in app.tokens.items() if v is token)
    found = {
        "type": "token",
        "id": hashlib.sha256(token_id.encode()).hexdigest()[:24],
        "attributes": {"roles": sorted(token.roles), "pod": token.pod},
    }
    return Reply(200, dumps({"data": found}))


def user_current(app: App, _request: Request) -> Reply:
    return data(app.org, app.org.get(app.org.api_user_id))


ROUTES = (
    route("GET", "/v1/auth/tokens/current", None, token_current),
    route("GET", "/v1/users/current", None, user_current),
)
