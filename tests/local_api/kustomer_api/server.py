"""The local Kustomer HTTP API: routing, auth, rate limits, faults and admin endpoints.

Behaviour follows ``shared/reference/kustomer-api.md``; where the reference marks something [?],
the choice made here is stated in a comment next to the code that implements it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import random
import re
import socket
import struct
import threading
import time
from dataclasses import dataclass, field, fields, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from kustomer_api import search
from kustomer_api.seed import SEARCH_HORIZON_DAYS, Org, OrgSpec

ADMIN_TOKEN = "local-admin-token"
NO_ROUTING_TOKEN = "local-no-routing-token"
TICKETS_ONLY_TOKEN = "local-tickets-only-token"
EXPIRED_TOKEN = "local-expired-token"
POD = "prod1"
FAULT_KINDS = ("500", "502", "503", "reset", "truncate", "slow", "429", "timed_out")
SEARCH_MAX_PAGES = 100
SEARCH_MAX_RESULTS = 10_000
WINDOW_SECONDS = 60

# Accepted roles per endpoint (reference §1.3); any one of them is enough.
# Search and archive search document exactly these (OAS, developer.kustomer.com).
_SEARCH_ROLES = (
    "org.user.search.read",
    "org.admin.search.read",
    "org.permission.search.create",
    "org.permission.search.update",
    "org.permission.search_global.create",
    "org.permission.search_preview.create",
)
# Named by the Assembled integration document but not by the OAS: whether it works is [?].
# Accepted for (archive) search only with the ``accept_search_read_role`` setting.
SEARCH_READ_ROLE = "org.permission.search.read"
_SEARCH_HANDLERS = ("search", "archive_search")
_CONVERSATION_ROLES = ("org.permission.conversation.read", "org.user.conversation.read")
_MESSAGE_ROLES = ("org.permission.message.read", "org.user.message.read")
_EVENT_ROLES = ("org.permission.event.read", "org.user.event.read")
_QUEUE_ROLES = ("org.permission.queue.read", "org.permission.routing.read", "org.user.routing.read")
_STATUS_ROLES = (
    "org.permission.routing_status.read",
    "org.permission.routing.read",
    "org.user.routing.read",
)
_WORK_SESSION_ROLES = (
    "org.permission.work_session.read",
    "org.permission.routing.read",
    "org.user.routing.read",
)
_TEAM_ROLES = ("org.permission.team.read",)
_USER_ROLES = ("org.permission.user.read", "org.user.user.read")
_TAG_ROLES = ("org.permission.tag.read",)
_ASSISTANT_ROLES = ("org.permission.assistant.read", "org.user.apps.read")
_ROUTING_ROLES = frozenset(_QUEUE_ROLES + _STATUS_ROLES + _WORK_SESSION_ROLES)
ALL_ROLES = tuple(
    sorted(
        {
            *_SEARCH_ROLES,
            SEARCH_READ_ROLE,
            *_CONVERSATION_ROLES,
            *_MESSAGE_ROLES,
            *_EVENT_ROLES,
            *_ROUTING_ROLES,
            *_TEAM_ROLES,
            *_USER_ROLES,
            *_TAG_ROLES,
            *_ASSISTANT_ROLES,
            "org.permission.customer.read",
            "org.user.customer.read",
            "org.user.team.read",
            "org.user.tag.read",
        }
    )
)
_TICKET_ROLES = (
    "org.permission.search.create",
    "org.permission.conversation.read",
    "org.permission.message.read",
    "org.permission.event.read",
)

_ID = "[0-9a-f]{24}"
_ID_SEGMENT = re.compile(_ID)
_TIMESTAMP = re.compile(rb"\d{4}-\d{2}-\d{2}(?:T[0-9:.]+(?:Z|[+-]\d{2}:?\d{2})?)?")


@dataclass(frozen=True)
class _Route:
    method: str
    pattern: re.Pattern
    name: str  # stats key, ids shown as {id}
    roles: tuple[str, ...] | None  # None: any valid token
    handler: str


def _route(method: str, path: str, roles: tuple[str, ...] | None, handler: str) -> _Route:
    regex = path.replace("{ids}", f"(?P<ids>{_ID}(?:,{_ID})*)").replace("{id}", f"(?P<id>{_ID})")
    return _Route(
        method, re.compile(regex), f"{method} {path.replace('{ids}', '{id}')}", roles, handler
    )


_ROUTES = (
    _route("GET", "/v1/auth/tokens/current", None, "token_current"),
    _route("GET", "/v1/users/current", None, "user_current"),
    _route("POST", "/v1/customers/search", _SEARCH_ROLES, "search"),
    _route("POST", "/v1/customers/archive/search", _SEARCH_ROLES, "archive_search"),
    _route("GET", "/v1/conversations", _CONVERSATION_ROLES, "conversations"),
    _route("GET", "/v1/conversations/{ids}", _CONVERSATION_ROLES, "conversation"),
    _route("GET", "/v1/conversations/{id}/events", _EVENT_ROLES, "conversation_events"),
    _route("GET", "/v1/conversations/{id}/messages", _MESSAGE_ROLES, "conversation_messages"),
    _route("GET", "/v1/messages", _MESSAGE_ROLES, "messages"),
    _route("GET", "/v1/routing/work-sessions", _WORK_SESSION_ROLES, "work_sessions"),
    _route("GET", "/v1/routing/statuses", _STATUS_ROLES, "statuses"),
    _route("GET", "/v1/routing/queues", _QUEUE_ROLES, "queues"),
    _route("GET", "/v1/assistants", _ASSISTANT_ROLES, "assistants"),
    _route("GET", "/v1/tags", _TAG_ROLES, "tags"),
    _route("GET", "/v1/teams", _TEAM_ROLES, "teams"),
    _route("GET", "/v1/users", _USER_ROLES, "users"),
)


@dataclass(frozen=True)
class _Token:
    roles: frozenset[str]
    pod: str = POD
    expired: bool = False


@dataclass(frozen=True)
class _Config:
    latency_ms: float = 0
    faults: dict[str, float] = field(default_factory=dict)
    retry_after: bool = False
    org_rpm: int = 1000
    search_rpm: int = 100
    other_consumer_rpm: float = 0
    slow_seconds: float = 5.0
    mutate_during_search: int = 0
    # "id": equal sort keys come back in id order; "shuffled": in a new order on every request.
    tie_order: str = "id"
    # How many more already-served tied records to edit, one per search response serving them.
    edit_tied_records: int = 0
    # "on", "forbidden" (403 as without the role) or "missing" (404 as without the endpoint).
    archive_search: str = "on"
    # > 0: paged GET lists refuse pages starting at or past this many records.
    list_max_records: int = 0
    # What a refused list page answers: "error" (400) or "empty" (200 with no data).
    list_cap_mode: str = "error"
    # "jsonapi": {status, code, title, detail} entries; "code_message": {code, message, meta}.
    error_shape: str = "jsonapi"
    # Whether org.permission.search.read grants (archive) search.
    accept_search_read_role: bool = False
    # Seed of the fault decisions; None: the org's seed.
    faults_seed: int | None = None
    # Route names ("GET /v1/assistants") this org or region lacks: they answer 404.
    missing_routes: tuple[str, ...] = ()


_CHOICES = {
    "tie_order": ("id", "shuffled"),
    "archive_search": ("on", "forbidden", "missing"),
    "list_cap_mode": ("error", "empty"),
    "error_shape": ("jsonapi", "code_message"),
}


def _validated(config: _Config) -> _Config:
    numbers = ("latency_ms", "org_rpm", "search_rpm", "other_consumer_rpm", "slow_seconds")
    integers = ("mutate_during_search", "edit_tied_records", "list_max_records")
    for name in (*numbers, *integers):
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            msg = f"{name} must be a number, got {value!r}"
            raise TypeError(msg)
        if value < 0:
            msg = f"{name} must not be negative, got {value!r}"
            raise ValueError(msg)
    for name in integers:
        if not isinstance(getattr(config, name), int):
            msg = f"{name} must be an integer"
            raise TypeError(msg)
    for name, allowed in _CHOICES.items():
        value = getattr(config, name)
        if value not in allowed:
            msg = f"{name} must be one of {', '.join(allowed)}, got {value!r}"
            raise ValueError(msg)
    for name in ("retry_after", "accept_search_read_role"):
        if not isinstance(getattr(config, name), bool):
            msg = f"{name} must be a boolean"
            raise TypeError(msg)
    known_routes = {route.name for route in _ROUTES}
    unknown_routes = set(config.missing_routes) - known_routes
    if unknown_routes:
        msg = f"missing_routes names unknown routes {sorted(unknown_routes)}"
        raise ValueError(msg)
    seed = config.faults_seed
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        msg = f"faults_seed must be an integer or null, got {seed!r}"
        raise TypeError(msg)
    if not isinstance(config.faults, dict):
        msg = "faults must be a mapping of kind to probability"
        raise TypeError(msg)
    faults = {str(kind): rate for kind, rate in config.faults.items()}
    for kind, rate in faults.items():
        if kind not in FAULT_KINDS:
            msg = f"unknown fault {kind!r}; expected one of {', '.join(FAULT_KINDS)}"
            raise ValueError(msg)
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
            msg = f"fault probability for {kind!r} must be within [0, 1], got {rate!r}"
            raise ValueError(msg)
    if sum(faults.values()) > 1:
        msg = "fault probabilities must add up to at most 1"
        raise ValueError(msg)
    return replace(config, faults=faults)


@dataclass
class _Request:
    method: str
    path: str
    query: list[tuple[str, str]]
    params: dict[str, str]
    body: bytes
    match: dict[str, str]
    fault: str | None = None
    config: _Config = field(default_factory=_Config)  # the settings this request runs under
    fault_key: bytes = b""  # hash that decided the fault; also decides timed_out's drops


@dataclass
class _Reply:
    status: int
    body: bytes
    headers: list[tuple[str, str]] = field(default_factory=list)
    fault: str | None = None  # "reset" or "truncate": how the handler must mangle the bytes


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


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _error(status: int, detail: str, shape: str = "jsonapi") -> _Reply:
    """An error reply; ``_App.error`` picks ``shape`` from the current settings."""
    code, title = _TITLES[status]
    if shape == "code_message":
        # Kustomer's errors page: "Most errors return an errors array. Each entry has a
        # machine-readable code, a human-readable message, and optional meta". Which endpoints
        # and statuses use it rather than the JSON:API object is [?]: here, every one.
        error: dict[str, Any] = {"code": code, "message": detail, "meta": {}}
    else:
        error = {"status": str(status), "code": code, "title": title, "detail": detail}
    return _Reply(status, _dumps({"errors": [error]}))


class _HttpError(Exception):
    """Raised by handlers; the app turns it into an error reply in the configured shape."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def _unit(key: bytes, salt: bytes = b"") -> float:
    """A number in [0, 1) that depends only on ``key`` and ``salt``."""
    digest = hashlib.blake2b(key + b"|" + salt, digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _identity(method: str, path: str, query: list[tuple[str, str]], body: bytes) -> bytes:
    """What makes two requests the same one: method, path, sorted query, and the body with
    its timestamps left out.

    A tap's search bodies carry times taken from its clock (the search horizon, the
    indexing-lag floor, keyset anchors), which differ from run to run; searches that
    differ only by them are told apart by how many times their identity was seen, and
    a tap sends those one after another, so the n-th meets the same fate in every run.
    """
    digest = hashlib.blake2b(digest_size=16)
    for part in (method, path, urlencode(sorted(query))):
        digest.update(part.encode())
        digest.update(b"\0")
    digest.update(_TIMESTAMP.sub(b"T", body))
    return digest.digest()


@dataclass
class _Found:
    """A cached search result (before the horizon), and its runs of equal sort keys."""

    objects: list[dict]
    runs: list[tuple[int, int]] | None = None  # computed on first use


@dataclass
class _Budget:
    limit: int
    remaining: int
    reset: int
    exceeded: bool


class _RateLimiter:
    """Fixed 60 s windows aligned to the wall clock: one org budget and one search budget."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._window = 0
        self._org = 0
        self._search = 0

    def _roll(self) -> None:
        window = int(time.time() // WINDOW_SECONDS) * WINDOW_SECONDS
        if window != self._window:
            self._window, self._org, self._search = window, 0, 0

    def spend(self, *, is_search: bool, org_rpm: int, search_rpm: int) -> _Budget:
        with self._lock:
            self._roll()
            self._org += 1
            limit, left = org_rpm, org_rpm - self._org
            exceeded = left < 0
            if is_search:
                self._search += 1
                search_left = search_rpm - self._search
                exceeded = exceeded or search_left < 0
                # Whether searches get their own x-ratelimit-* values is [?]: report the tighter.
                if search_left < left:
                    limit, left = search_rpm, search_left
            # x-ratelimit-reset units are [?]: integer epoch seconds of the window end.
            return _Budget(limit, max(0, left), self._window + WINDOW_SECONDS, exceeded)

    def spend_background(self) -> None:
        with self._lock:
            self._roll()
            self._org += 1


def _new_stats() -> dict[str, Any]:
    return {
        "requests": 0,
        "by_route": {},
        "by_status": {},
        "rate_limited": 0,
        "faults": {},
        "search_requests": 0,
        "search_mutations": 0,
        "tie_edits": 0,
        "tie_edited_ids": [],
        "other_consumer_requests": 0,
    }


def _bump(counter: dict[str, int], key: str) -> None:
    counter[key] = counter.get(key, 0) + 1


class _App:
    """Everything except socket I/O: the handler turns a request into a ``_Reply``."""

    def __init__(self, org: Org, config: _Config) -> None:
        self.org = org
        self.config = _validated(config)
        self.tokens = {
            ADMIN_TOKEN: _Token(frozenset(ALL_ROLES)),
            NO_ROUTING_TOKEN: _Token(frozenset(ALL_ROLES) - _ROUTING_ROLES),
            TICKETS_ONLY_TOKEN: _Token(frozenset(_TICKET_ROLES)),
            EXPIRED_TOKEN: _Token(frozenset(ALL_ROLES), expired=True),
        }
        self.limiter = _RateLimiter()
        self._config_lock = threading.Lock()
        self._stats_lock = threading.Lock()
        self._stats = _new_stats()
        self._fault_lock = threading.Lock()
        # How many times each request identity met the fault dice (faults configured only).
        self._fault_seen: dict[bytes, int] = {}
        self._search_cache: dict[tuple, _Found] = {}
        self._cache_generation = org.generation
        self._search_ticks = 0
        self._tie_requests = 0
        self._stop = threading.Event()
        self._consumer: threading.Thread | None = None

    # ---- control -------------------------------------------------------------------------

    def configure(self, changes: dict[str, Any]) -> None:
        known = {f.name for f in fields(_Config)}
        unknown = sorted(set(changes) - known)
        if unknown:
            msg = f"unknown setting(s) {', '.join(unknown)}; expected {', '.join(sorted(known))}"
            raise TypeError(msg)
        with self._config_lock:
            self.config = _validated(replace(self.config, **changes))

    def error(self, status: int, detail: str, config: _Config | None = None) -> _Reply:
        """An error reply in the shape the settings (by default the current ones) ask for."""
        return _error(status, detail, (config or self.config).error_shape)

    def stats(self) -> dict[str, Any]:
        with self._stats_lock:
            return json.loads(json.dumps(self._stats))

    def reset_stats(self) -> None:
        with self._stats_lock:
            self._stats = _new_stats()

    def start_background(self) -> None:
        self._stop.clear()
        self._consumer = threading.Thread(target=self._other_consumer, daemon=True)
        self._consumer.start()

    def stop_background(self) -> None:
        self._stop.set()
        if self._consumer is not None:
            self._consumer.join()
            self._consumer = None

    def _other_consumer(self) -> None:
        """Another integration sharing the org budget, spending its requests evenly."""
        due = time.monotonic()
        while not self._stop.is_set():
            rpm = self.config.other_consumer_rpm
            now = time.monotonic()
            if rpm <= 0:
                due = now
                self._stop.wait(0.2)
                continue
            if now >= due:
                self.limiter.spend_background()
                with self._stats_lock:
                    self._stats["other_consumer_requests"] += 1
                due = max(due + 60 / rpm, now - 1)
            self._stop.wait(min(0.2, max(0.0, due - time.monotonic())))

    # ---- dispatch ------------------------------------------------------------------------

    def handle(self, method: str, target: str, authorization: str | None, body: bytes) -> _Reply:
        parts = urlsplit(target)
        path = parts.path.rstrip("/") or "/"
        query = parse_qsl(parts.query, keep_blank_values=True)
        if path.startswith("/__admin/"):
            return self._admin(method, path, dict(query), body)
        if path != "/v1" and not path.startswith("/v1/"):
            return self.error(404, f"No route for {method} {path}")
        return self._v1(method, path, query, authorization, body)

    def _v1(
        self,
        method: str,
        path: str,
        query: list[tuple[str, str]],
        authorization: str | None,
        body: bytes,
    ) -> _Reply:
        config = self.config
        if config.latency_ms:
            time.sleep(config.latency_ms / 1000)
        route, match = None, None
        for candidate in _ROUTES:
            match = candidate.pattern.fullmatch(path)
            if match and candidate.method == method:
                route = candidate
                break
        missing = config.archive_search == "missing"
        if route is not None and (
            (route.handler == "archive_search" and missing) or route.name in config.missing_routes
        ):
            # An org or region without the endpoint; that it answers a plain 404 is [?].
            route = None
        is_search = route is not None and route.handler in _SEARCH_HANDLERS
        route_name = route.name if route else f"{method} {_ID_SEGMENT.sub('{id}', path)}"
        with self._stats_lock:
            self._stats["requests"] += 1
            _bump(self._stats["by_route"], route_name)
            if is_search:
                self._stats["search_requests"] += 1
        # Every /v1 request counts against the budget, whatever its outcome. Archive search
        # spends the search budget too; whether it has a budget of its own is [?].
        budget = self.limiter.spend(
            is_search=is_search, org_rpm=config.org_rpm, search_rpm=config.search_rpm
        )
        token = self._token(authorization, config)
        fault = None
        if isinstance(token, _Reply):
            reply = token
        elif budget.exceeded:
            reply = self.error(429, "Rate limit exceeded", config)
        elif route is None:
            reply = self.error(404, f"No route for {method} {path}", config)
        elif not self._allowed(route, token, config):
            reply = self.error(403, "Forbidden: missing required role", config)
        else:
            fault, fault_key = self._roll_fault(is_search, config, (method, path, query, body))
            request = _Request(
                method,
                path,
                query,
                dict(query),
                body,
                match.groupdict(),
                fault=fault,
                config=config,
                fault_key=fault_key,
            )
            reply = self._faulted_or_run(route, request, token, config)
        if reply.status == 429:
            budget.remaining = 0
        reply.headers += [
            ("x-ratelimit-limit", str(budget.limit)),
            ("x-ratelimit-remaining", str(budget.remaining)),
            ("x-ratelimit-reset", str(budget.reset)),
        ]
        if reply.status == 429 and config.retry_after:
            reply.headers.append(
                ("Retry-After", str(max(1, math.ceil(budget.reset - time.time()))))
            )
        with self._stats_lock:
            _bump(self._stats["by_status"], str(reply.status))
            if reply.status == 429:
                self._stats["rate_limited"] += 1
            if fault is not None:
                _bump(self._stats["faults"], fault)
        return reply

    def _token(self, authorization: str | None, config: _Config) -> _Token | _Reply:
        scheme, _, value = (authorization or "").strip().partition(" ")
        token = self.tokens.get(value.strip()) if scheme.lower() == "bearer" else None
        if token is None:
            return self.error(401, "Invalid token", config)
        if token.expired:
            return self.error(401, "Expired token", config)
        if token.pod != POD:
            detail = (
                f"Auth token associated with pod {token.pod} but request is being handled by {POD}"
            )
            return self.error(401, detail, config)
        return token

    @staticmethod
    def _allowed(route: _Route, token: _Token, config: _Config) -> bool:
        roles = route.roles
        if roles is None:
            return True
        if route.handler == "archive_search" and config.archive_search == "forbidden":
            return False  # as for a key without the role
        if route.handler in _SEARCH_HANDLERS and config.accept_search_read_role:
            roles = (*roles, SEARCH_READ_ROLE)
        return not token.roles.isdisjoint(roles)

    def _roll_fault(
        self,
        is_search: bool,
        config: _Config,
        request: tuple[str, str, list[tuple[str, str]], bytes],
    ) -> tuple[str | None, bytes]:
        """The fault of one request and the key that decided it.

        The decision hashes (seed, request identity, n), n being how many times that identity
        was seen before: the same requests fail in every run whatever the thread timing, and a
        retry (n + 1) gets a fresh decision. Requests are counted only while faults are on.
        """
        faults = config.faults
        if not faults:
            return None, b""
        identity = _identity(*request)
        with self._fault_lock:
            seen = self._fault_seen.get(identity, 0)
            self._fault_seen[identity] = seen + 1
        seed = self.org.spec.seed if config.faults_seed is None else config.faults_seed
        key = hashlib.blake2b(f"{seed}:{seen}:".encode() + identity, digest_size=16).digest()
        roll = _unit(key)
        threshold = 0.0
        for kind in FAULT_KINDS:
            if kind == "timed_out" and not is_search:
                continue
            threshold += faults.get(kind, 0)
            if roll < threshold:
                return kind, key
        return None, key

    def _faulted_or_run(
        self, route: _Route, request: _Request, token: _Token, config: _Config
    ) -> _Reply:
        fault = request.fault
        if fault in ("500", "502", "503"):
            return self.error(int(fault), "Injected fault", config)
        if fault == "429":
            return self.error(429, "Rate limit exceeded", config)
        if fault == "slow":
            time.sleep(config.slow_seconds)
        with self.org.lock:
            try:
                reply = getattr(self, route.handler)(request, token)
            except _HttpError as exc:
                reply = self.error(exc.status, exc.detail, config)
        if fault in ("reset", "truncate"):
            reply.fault = fault
        return reply

    # ---- admin ---------------------------------------------------------------------------

    def _admin(self, method: str, path: str, params: dict[str, str], body: bytes) -> _Reply:
        action = {
            ("GET", "/__admin/stats"): lambda _payload: self.stats(),
            ("POST", "/__admin/reset-stats"): lambda _payload: self.reset_stats() or {"ok": True},
            ("POST", "/__admin/configure"): self._admin_configure,
            ("POST", "/__admin/mutate"): lambda payload: {
                "ids": self.org.mutate(payload.get("stream", ""), int(payload.get("count", 1)))
            },
            ("GET", "/__admin/truth"): lambda _payload: self.org.truth_index(
                params.get("stream", "")
            ),
        }.get((method, path))
        # Admin routes are not Kustomer's: their errors keep one shape whatever error_shape says.
        if action is None:
            return _error(404, f"No admin route for {method} {path}")
        try:
            payload = json.loads(body) if body else {}
            return _Reply(200, _dumps(action(payload)))
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            return _error(400, str(exc))

    def _admin_configure(self, payload: dict[str, Any]) -> dict[str, Any]:
        self.configure(payload)
        return {f.name: getattr(self.config, f.name) for f in fields(_Config)}

    # ---- helpers for /v1 handlers --------------------------------------------------------

    @staticmethod
    def _int(request: _Request, name: str, default: int) -> int:
        raw = request.params.get(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            value = 0
        if value < 1:
            raise _HttpError(400, f"{name} must be a positive integer, got {raw!r}")
        return value

    @staticmethod
    def _bool(request: _Request, name: str) -> bool | None:
        raw = request.params.get(name)
        if raw is None:
            return None
        if raw.lower() not in ("true", "false"):
            raise _HttpError(400, f"{name} must be true or false, got {raw!r}")
        return raw.lower() == "true"

    @staticmethod
    def _choice(request: _Request, name: str, allowed: tuple[str, ...]) -> str | None:
        raw = request.params.get(name)
        if raw is not None and raw not in allowed:
            raise _HttpError(400, f"{name} must be one of {', '.join(allowed)}, got {raw!r}")
        return raw

    def _paging(self, request: _Request, max_size: int) -> tuple[int, int]:
        page = self._int(request, "page", 1)
        size = self._int(request, "pageSize", 100)
        # Over-max pageSize is clamped rather than rejected: real behaviour is [?].
        return page, min(size, max_size)

    @staticmethod
    def _links(
        request: _Request, page: int, size: int, *, has_next: bool, last: int | None = None
    ) -> dict[str, str | None]:
        others = [(k, v) for k, v in request.query if k not in ("page", "pageSize")]

        def link(number: int) -> str:
            return f"{request.path}?{urlencode([('page', number), ('pageSize', size), *others])}"

        links = {
            "self": link(page),
            "first": link(1),
            "prev": link(page - 1) if page > 1 else None,
            "next": link(page + 1) if has_next else None,
        }
        if last is not None:
            links["last"] = link(last)
        return links

    def _body(self, meta: dict, links: dict, items: list[dict]) -> bytes:
        encoded = self.org.encoded
        return b"".join(
            (
                b'{"meta":',
                _dumps(meta),
                b',"links":',
                _dumps(links),
                b',"data":[',
                b",".join(encoded(o) for o in items),
                b"]}",
            )
        )

    def _list(self, request: _Request, objects: list[dict], max_size: int) -> _Reply:
        page, size = self._paging(request, max_size)
        start = (page - 1) * size
        cap = request.config.list_max_records
        if cap and start >= cap:
            # AWS Glue's connector docs report a 10,000-record limit; how the real list endpoints
            # refuse past it (400, empty page, or not at all) is [?]: both are offered.
            if request.config.list_cap_mode == "error":
                detail = (
                    f"Page limit exceeded: page {page} with pageSize {size} is beyond {cap} records"
                )
                raise _HttpError(400, detail)
            links = self._links(request, page, size, has_next=False)
            return _Reply(200, self._body({"pageSize": size, "page": page}, links, []))
        # The last page under the cap still advertises `next` beyond it, as search does.
        items = objects[start : start + size]
        links = self._links(request, page, size, has_next=start + size < len(objects))
        return _Reply(200, self._body({"pageSize": size, "page": page}, links, items))

    def _conversation(self, conversation_id: str) -> dict:
        conversation = self.org.get(conversation_id)
        if conversation is None or conversation["type"] != "conversation":
            raise _HttpError(404, f"Conversation {conversation_id} not found")
        return conversation

    # ---- /v1 handlers (called with org.lock held) ----------------------------------------

    def token_current(self, _request: _Request, token: _Token) -> _Reply:
        token_id = next(k for k, v in self.tokens.items() if v is token)
        data = {
            "type": "token",
            "id": hashlib.sha256(token_id.encode()).hexdigest()[:24],
            "attributes": {"roles": sorted(token.roles), "pod": token.pod},
        }
        return _Reply(200, _dumps({"data": data}))

    def user_current(self, _request: _Request, _token: _Token) -> _Reply:
        user = self.org.get(self.org.api_user_id)
        return _Reply(200, b'{"data":' + self.org.encoded(user) + b"}")

    def conversations(self, request: _Request, _token: _Token) -> _Reply:
        order = self._choice(request, "sort", ("asc", "desc"))
        # Whether this list hides soft-deleted conversations is [?]: hidden, as in search.
        live = [o for o in self.org.objects("conversations") if not o["attributes"].get("deleted")]
        return self._list(request, live[::-1] if order == "desc" else live, 100)

    def conversation(self, request: _Request, _token: _Token) -> _Reply:
        ids = request.match["ids"].split(",")
        if len(ids) == 1:
            return _Reply(200, b'{"data":' + self.org.encoded(self._conversation(ids[0])) + b"}")
        found = [self.org.get(i) for i in ids]
        items = [o for o in found if o is not None and o["type"] == "conversation"]
        if not items:
            raise _HttpError(404, f"Conversations {request.match['ids']} not found")
        return _Reply(200, b'{"data":[' + b",".join(map(self.org.encoded, items)) + b"]}")

    def messages(self, request: _Request, _token: _Token) -> _Reply:
        order = self._choice(request, "sort", ("asc", "desc"))
        objects = self.org.objects("messages")
        return self._list(request, objects[::-1] if order == "desc" else objects, 100)

    def conversation_events(self, request: _Request, _token: _Token) -> _Reply:
        conversation_id = self._conversation(request.match["id"])["id"]
        order = self._choice(request, "sort", ("asc", "desc"))
        events = self.org.events_by_conversation.get(conversation_id, [])
        # The `changed` filter's format is [?] and not implemented; `name` takes a comma list.
        names = request.params.get("name")
        if names:
            wanted = set(names.split(","))
            events = [e for e in events if e["attributes"]["name"] in wanted]
        return self._list(request, events[::-1] if order == "desc" else events, 100)

    def conversation_messages(self, request: _Request, _token: _Token) -> _Reply:
        conversation_id = self._conversation(request.match["id"])["id"]
        # Order is [?]: ascending createdAt.
        return self._list(request, self.org.messages_by_conversation.get(conversation_id, []), 100)

    def work_sessions(self, request: _Request, _token: _Token) -> _Reply:
        mine = self._bool(request, "user")
        active = self._bool(request, "active")
        status_type = self._choice(
            request, "statusType", ("available", "busy", "unavailable", "offline")
        )
        sessions = self.org.objects("work_sessions")
        if mine:
            # Every token belongs to the API machine user, and it never routes work.
            sessions = [
                s
                for s in sessions
                if s["relationships"]["user"]["data"]["id"] == self.org.api_user_id
            ]
        if active:
            sessions = [s for s in sessions if s["attributes"]["active"]]
        if status_type:
            sessions = [s for s in sessions if s["attributes"]["statusType"] == status_type]
        # Default order is [?]: ascending id (= signedInAt).
        return self._list(request, sessions, 100)

    def statuses(self, request: _Request, _token: _Token) -> _Reply:
        return self._list(request, self.org.objects("routing_statuses"), 100)

    def queues(self, request: _Request, _token: _Token) -> _Reply:
        return self._list(request, self.org.objects("queues"), 100)

    def assistants(self, request: _Request, _token: _Token) -> _Reply:
        # The endpoint itself is [?]; objects follow GET /v1/ai/automations' documented fields.
        return self._list(request, self.org.objects("assistants"), 100)

    def _not_deleted_filter(self, request: _Request, objects: list[dict]) -> list[dict]:
        # With no `deleted` filter only live objects come back; the real default is [?].
        want_deleted = self._bool(request, "deleted") is True
        return [o for o in objects if bool(o["attributes"].get("deleted")) == want_deleted]

    def tags(self, request: _Request, _token: _Token) -> _Reply:
        return self._list(request, self._not_deleted_filter(request, self.org.objects("tags")), 100)

    def teams(self, request: _Request, _token: _Token) -> _Reply:
        teams = self._not_deleted_filter(request, self.org.objects("teams"))
        return self._list(request, teams, 500)

    def users(self, request: _Request, _token: _Token) -> _Reply:
        users = self._not_deleted_filter(request, self.org.objects("users"))
        user_type = self._choice(request, "userType", ("user", "machine", "limited", "hourly"))
        pending = self._bool(request, "pending")
        email = request.params.get("email")
        # The real API says these filters cannot be combined (what it does then is [?]);
        # here they simply all apply.
        if user_type:
            users = [u for u in users if u["attributes"]["userType"] == user_type]
        if pending is not None:
            users = [u for u in users if _is_pending(u) == pending]
        if email:
            users = [u for u in users if u["attributes"]["email"].lower() == email.lower()]
        return self._list(request, users, 500)

    def search(self, request: _Request, _token: _Token) -> _Reply:
        return self._search(request, archive=False)

    def archive_search(self, request: _Request, _token: _Token) -> _Reply:
        # Documented with the same body and paging as search, serving only what is older than
        # the 2-year horizon. Its "limited number of attributes" is not modelled (every search
        # attribute works), and that it shares search's cap, meta and timeouts is [?].
        return self._search(request, archive=True)

    def _search(self, request: _Request, *, archive: bool) -> _Reply:
        page, size = self._paging(request, 500)
        if page > SEARCH_MAX_PAGES or page * size > SEARCH_MAX_RESULTS:
            detail = (
                f"Search page limit exceeded: page {page} with pageSize {size} is beyond "
                f"{SEARCH_MAX_PAGES} pages or {SEARCH_MAX_RESULTS} results"
            )
            raise _HttpError(400, detail)
        try:
            body = json.loads(request.body) if request.body.strip() else {}
        except ValueError as exc:
            raise _HttpError(400, "Body is not valid JSON") from exc
        if not isinstance(body, dict):
            raise _HttpError(400, "Body must be a JSON object")
        # A missing queryContext means customers (reference §4.1 [I]).
        context = body.get("queryContext", "customer")
        try:
            found = self._matching(body, context)
        except search.SearchError as exc:
            raise _HttpError(400, str(exc)) from exc
        matches = found.objects
        if request.config.tie_order == "shuffled":
            matches = self._shuffled_ties(found, body, context)
        cutoff_us = int((time.time() - SEARCH_HORIZON_DAYS * 86_400) * 1_000_000)
        horizon = search.beyond_horizon if archive else search.within_horizon
        visible = horizon(matches, cutoff_us)
        total_pages = math.ceil(len(visible) / size)
        start = (page - 1) * size
        items = visible[start : start + size]
        timed_out = request.fault == "timed_out"
        if timed_out:
            # Which items a timed-out search drops is decided by the request's fault hash.
            key = request.fault_key
            items = [o for n, o in enumerate(items, start) if _unit(key, b"%d" % n) < 0.5]
        meta = {
            "pageSize": size,
            "page": page,
            "total": len(visible),
            "totalPages": total_pages,
            "aggregations": {},
            "timed_out": timed_out,
        }
        # `next` is advertised even when it points past the page cap, like the real API.
        links = self._links(
            request, page, size, has_next=page < total_pages, last=max(1, total_pages)
        )
        reply = _Reply(200, self._body(meta, links, items))
        if request.fault is None:
            self._after_search(visible)
            self._edit_tied(context, items)
        return reply

    def _matching(self, body: dict, context: str) -> _Found:
        if self._cache_generation != self.org.generation:
            self._search_cache.clear()
            self._cache_generation = self.org.generation
        key = (context, json.dumps(body, sort_keys=True, default=str))
        found = self._search_cache.get(key)
        if found is None:
            stream = search.CONTEXTS.get(context) if isinstance(context, str) else None
            objects = self.org.objects(stream) if stream else []
            found = _Found(search.matching(objects, body, context))
            if len(self._search_cache) >= 64:
                self._search_cache.clear()
            self._search_cache[key] = found
        return found

    def _shuffled_ties(self, found: _Found, body: dict, context: str) -> list[dict]:
        """``tie_order="shuffled"``: a new order among equal sort keys on every request.

        Elasticsearch promises no tiebreak, so pages of one tie may overlap or skip records.
        The permutation comes from the org seed and a per-request counter (reproducible).
        """
        if found.runs is None:
            found.runs = search.tie_runs(found.objects, body, context)
        self._tie_requests += 1
        rng = random.Random(f"{self.org.spec.seed}:ties:{self._tie_requests}")
        ordered = list(found.objects)
        for start, end in found.runs:
            run = ordered[start:end]
            rng.shuffle(run)
            ordered[start:end] = run
        return ordered

    def _after_search(self, visible: list[dict]) -> None:
        """``mutate_during_search``: every K-th search bumps 2 records the query can see."""
        every = self.config.mutate_during_search
        if every <= 0:
            return
        self._search_ticks += 1
        if self._search_ticks % every == 0 and visible:
            bumped = self.org.bump(self.org.sample(visible, 2))
            with self._stats_lock:
                self._stats["search_mutations"] += len(bumped)

    def _edit_tied(self, context: str, served: list[dict]) -> None:
        """``edit_tied_records``: edit one tied record this response served, while others
        still sit at the tie (an already-served record edited before the tie's next page)."""
        if self.config.edit_tied_records <= 0:
            return
        stream = search.CONTEXTS.get(context)
        tie = self.org.tie_at.get(stream) if stream else None
        if stream is None or tie is None:
            return
        tied = [o for o in served if o["attributes"].get("updatedAt") == tie]
        if not tied:
            return
        still = sum(1 for o in self.org.objects(stream) if o["attributes"].get("updatedAt") == tie)
        if still < 2:
            return
        with self._config_lock:
            left = self.config.edit_tied_records
            if left <= 0:
                return
            self.config = replace(self.config, edit_tied_records=left - 1)
        edited = self.org.bump(self.org.sample(tied, 1))
        with self._stats_lock:
            self._stats["tie_edits"] += len(edited)
            self._stats["tie_edited_ids"] += edited


def _is_pending(user: dict) -> bool:
    attrs = user["attributes"]
    return attrs["userType"] != "machine" and attrs.get("firstLoginAt") is None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "LocalKustomer/1.0"
    # Idle keep-alive connections are dropped after this many seconds.
    timeout = 120
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without this Nagle adds ~40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.untrack(self.connection)

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Silence per-request logging."""

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            self._send(self.server.app.error(400, "Invalid Content-Length"))
            return
        body = self.rfile.read(length) if length else b""
        reply = self.server.app.handle(method, self.path, self.headers.get("Authorization"), body)
        self._send(reply)

    def _send(self, reply: _Reply) -> None:
        body = reply.body
        if reply.fault == "truncate":
            body = body[: len(body) // 2]
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for name, value in reply.headers:
            self.send_header(name, value)
        self.end_headers()
        if reply.fault == "reset":
            self.wfile.write(body[: len(body) // 2])
            # Linger 0 makes the close send RST, and the server skips its graceful FIN.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.server.abort(self.connection)
            self.close_connection = True
            return
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog of 5 drops connects from a burst of clients (they retry
    # after 1 s); the real API accepts many at once.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: _App) -> None:
        self.app = app
        self._connections_lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._aborted: set[socket.socket] = set()
        super().__init__(address, _Handler)

    def track(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._open.add(connection)

    def untrack(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._open.discard(connection)

    def abort(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._aborted.add(connection)

    def shutdown_request(self, request: socket.socket) -> None:  # type: ignore[override]
        with self._connections_lock:
            aborted = request in self._aborted
            self._aborted.discard(request)
        if aborted:
            self.close_request(request)
        else:
            super().shutdown_request(request)

    def close_connections(self) -> None:
        """Wake handler threads blocked on idle keep-alive connections."""
        with self._connections_lock:
            connections = list(self._open)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class LocalKustomer:
    """The local Kustomer API on 127.0.0.1, served from a background thread.

    Use as a context manager, or call ``start()`` / ``stop()``.
    """

    def __init__(self, spec: OrgSpec | None = None, *, port: int = 0, **settings: Any) -> None:
        """An org built from ``spec``; ``settings`` are any of ``configure``'s."""
        self.org = Org.build(spec or OrgSpec())
        self._app = _App(self.org, _Config())
        self._app.configure(settings)
        self._port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    token = ADMIN_TOKEN

    @property
    def port(self) -> int:
        if self._server is None:
            msg = "the server is not running; call start() first"
            raise RuntimeError(msg)
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LocalKustomer:
        if self._server is not None:
            return self
        self._server = _Server(("127.0.0.1", self._port), self._app)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        self._thread.start()
        self._app.start_background()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._app.stop_background()
        self._server.shutdown()
        self._server.close_connections()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server, self._thread = None, None

    def __enter__(self) -> LocalKustomer:  # noqa: PYI034 (typing.Self needs Python 3.11)
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def configure(self, **changes: Any) -> None:
        """Change any ``_Config`` setting: latency_ms, faults, retry_after, org_rpm, search_rpm,
        other_consumer_rpm, slow_seconds, mutate_during_search, tie_order, edit_tied_records,
        archive_search, list_max_records, list_cap_mode, error_shape, accept_search_read_role,
        faults_seed, missing_routes."""
        self._app.configure(changes)

    def stats(self) -> dict[str, Any]:
        return self._app.stats()

    def reset_stats(self) -> None:
        self._app.reset_stats()

    def mutate(self, stream: str, count: int = 10) -> list[str]:
        return self.org.mutate(stream, count)

    def add_token(self, token: str, roles: list[str] | None = None, pod: str = POD) -> None:
        """Register a token; ``roles=None`` grants every role."""
        self._app.tokens[token] = _Token(frozenset(ALL_ROLES if roles is None else roles), pod)


__all__ = ["ADMIN_TOKEN", "ALL_ROLES", "FAULT_KINDS", "SEARCH_READ_ROLE", "LocalKustomer"]
