"""What the /v1 handlers take and give: routes, requests, replies and error bodies."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from kustomer_api.app import App
    from kustomer_api.auth import Token
    from kustomer_api.config import Config

ID = "[0-9a-f]{24}"
ID_SEGMENT = re.compile(ID)

_TITLES = {
    400: ("bad_request", "Bad Request"),
    401: ("unauthorized", "Unauthorized"),
    403: ("forbidden", "Forbidden"),
    404: ("not_found", "Not Found"),
    429: ("too_many_requests", "Too Many Requests"),
    500: ("internal_server_error", "Internal Server Error"),
    502: ("bad_gateway", "Bad Gateway"),
    503: ("service_unavailable", "Service Unavailable"),
}


@dataclass
class Request:
    method: str
    path: str
    query: list[tuple[str, str]]
    params: dict[str, str]
    body: bytes
    match: dict[str, str]
    token: Token
    config: Config  # the settings this request runs under
    fault: str | None = None
    fault_key: bytes = b""  # hash that decided the fault; also decides timed_out's drops


@dataclass
class Reply:
    status: int
    body: bytes
    headers: list[tuple[str, str]] = field(default_factory=list)
    fault: str | None = None  # "reset" or "truncate": how the handler must mangle the bytes


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern
    name: str  # stats key, ids shown as {id}
    roles: tuple[str, ...] | None  # None: any valid token
    handler: Callable[[App, Request], Reply]  # called with org.lock held
    search: bool = False  # spends the search budget too
    archive: bool = False  # archive search: the archive_search setting can hide it


def route(
    method: str,
    path: str,
    roles: tuple[str, ...] | None,
    handler: Callable[[App, Request], Reply],
    *,
    search: bool = False,
    archive: bool = False,
) -> Route:
    regex = path.replace("{ids}", f"(?P<ids>{ID}(?:,{ID})*)").replace("{id}", f"(?P<id>{ID})")
    name = f"{method} {path.replace('{ids}', '{id}')}"
    return Route(method, re.compile(regex), name, roles, handler, search, archive)


class HttpError(Exception):
    """Raised by handlers; the app turns it into an error reply in the configured shape."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def error(status: int, detail: str, shape: str = "jsonapi") -> Reply:
    """An error reply; ``App.error`` picks ``shape`` from the current settings."""
    code, title = _TITLES[status]
    if shape == "code_message":
        # Kustomer's errors page: "Most errors return an errors array. Each entry has a
        # machine-readable code, a human-readable message, and optional meta". Which endpoints
        # and statuses use it rather than the JSON:API object is [?]: here, every one.
        entry: dict[str, Any] = {"code": code, "message": detail, "meta": {}}
    else:
        entry = {"status": str(status), "code": code, "title": title, "detail": detail}
    return Reply(status, dumps({"errors": [entry]}))
