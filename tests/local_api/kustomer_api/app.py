"""The local Kustomer API without its sockets: a request in, a ``Reply`` out.

Behaviour follows ``shared/reference/kustomer-api.md``; where the reference marks something [?],
the choice made here is stated in a comment next to the code that implements it.
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from kustomer_api import admin, auth, faults
from kustomer_api.budgets import OtherConsumer, RateLimiter
from kustomer_api.config import Config, changed, validated
from kustomer_api.counters import Counters
from kustomer_api.handlers import ROUTES
from kustomer_api.handlers.searches import SearchState
from kustomer_api.protocol import ID_SEGMENT, HttpError, Reply, Request, Route, error

if TYPE_CHECKING:
    from kustomer_api.seed import Org


class App:
    """Dispatch of /v1 and /__admin requests, with the settings, tokens and counters."""

    def __init__(self, org: Org, config: Config) -> None:
        self.org = org
        self.config = validated(config)
        self.tokens = auth.default_tokens()
        self.counters = Counters()
        self.searches = SearchState(generation=org.generation)
        self._limiter = RateLimiter()
        self._dice = faults.FaultDice()
        self._config_lock = threading.Lock()
        self._other_consumer = OtherConsumer(
            self._limiter,
            rpm=lambda: self.config.other_consumer_rpm,
            spent=lambda: self.counters.add("other_consumer_requests"),
        )

    def configure(self, changes: dict[str, Any]) -> None:
        with self._config_lock:
            self.config = changed(self.config, changes)

    def count_down(self, setting: str) -> bool:
        """Take one from a countdown setting; False when it is already at 0."""
        with self._config_lock:
            left = getattr(self.config, setting)
            if left <= 0:
                return False
            self.config = replace(self.config, **{setting: left - 1})
            return True

    def error(self, status: int, detail: str, config: Config | None = None) -> Reply:
        """An error reply in the shape the settings (by default the current ones) ask for."""
        return error(status, detail, (config or self.config).error_shape)

    def start_background(self) -> None:
        self._other_consumer.start()

    def stop_background(self) -> None:
        self._other_consumer.stop()

    def handle(self, method: str, target: str, authorization: str | None, body: bytes) -> Reply:
        parts = urlsplit(target)
        path = parts.path.rstrip("/") or "/"
        query = parse_qsl(parts.query, keep_blank_values=True)
        if path.startswith("/__admin/"):
            return admin.handle(self, method, path, dict(query), body)
        if path != "/v1" and not path.startswith("/v1/"):
            return self.error(404, f"No route for {method} {path}")
        return self._v1(method, path, query, authorization, body)

    @staticmethod
    def _route(method: str, path: str, config: Config) -> tuple[Route | None, dict[str, str]]:
        """The route serving a request, and the ids its path names."""
        for candidate in ROUTES:
            match = candidate.pattern.fullmatch(path)
            if match and candidate.method == method:
                # An org or region without the endpoint; that it answers a plain 404 is [?].
                missing = candidate.archive and config.archive_search == "missing"
                if missing or candidate.name in config.missing_routes:
                    break
                return candidate, match.groupdict()
        return None, {}

    def _v1(
        self,
        method: str,
        path: str,
        query: list[tuple[str, str]],
        authorization: str | None,
        body: bytes,
    ) -> Reply:
        config = self.config
        if config.latency_ms:
            time.sleep(config.latency_ms / 1000)
        route, match = self._route(method, path, config)
        is_search = route is not None and route.search
        route_name = route.name if route else f"{method} {ID_SEGMENT.sub('{id}', path)}"
        self.counters.request(route_name, is_search=is_search)
        # Every /v1 request counts against the budget, whatever its outcome. Archive search
        # spends the search budget too; whether it has a budget of its own is [?].
        budget = self._limiter.spend(
            is_search=is_search, org_rpm=config.org_rpm, search_rpm=config.search_rpm
        )
        token = auth.authenticate(self.tokens, authorization)
        fault = None
        if isinstance(token, str):
            reply = self.error(401, token, config)
        elif budget.exceeded:
            reply = self.error(429, "Rate limit exceeded", config)
        elif route is None:
            reply = self.error(404, f"No route for {method} {path}", config)
        elif not auth.allowed(route, token, config):
            reply = self.error(403, "Forbidden: missing required role", config)
        else:
            fault, fault_key = self._dice.roll(
                config, self.org.spec.seed, is_search=is_search, request=(method, path, query, body)
            )
            request = Request(
                method, path, query, dict(query), body, match, token, config, fault, fault_key
            )
            reply = self._run(route, request)
        budget.stamp(reply, retry_after=config.retry_after)
        self.counters.reply(reply.status, fault)
        return reply

    def _run(self, route: Route, request: Request) -> Reply:
        reply = faults.instead(request.fault, request.config)
        if reply is not None:
            return reply
        with self.org.lock:
            try:
                reply = route.handler(self, request)
            except HttpError as exc:
                reply = self.error(exc.status, exc.detail, request.config)
        if request.fault in ("reset", "truncate"):
            reply.fault = request.fault
        return reply
