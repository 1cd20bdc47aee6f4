"""The local Kustomer API over HTTP: ``LocalKustomer`` serves an org from a background thread."""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from kustomer_api.app import App
from kustomer_api.auth import ADMIN_TOKEN, ALL_ROLES, POD, Token
from kustomer_api.config import Config
from kustomer_api.handlers import audit_logs
from kustomer_api.protocol import dumps
from kustomer_api.seed import Org, OrgSpec

if TYPE_CHECKING:
    from kustomer_api.protocol import Reply


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

    def _send(self, reply: Reply) -> None:
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

    def __init__(self, address: tuple[str, int], app: App) -> None:
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
        self._app = App(self.org, Config())
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
        """Change any ``Config`` setting: latency_ms, faults, retry_after, org_rpm, search_rpm,
        other_consumer_rpm, slow_seconds, mutate_during_search, tie_order, edit_tied_records,
        archive_search, list_max_records, list_cap_mode, error_shape, accept_search_read_role,
        faults_seed, missing_routes, kobject_context, metadata_route, audit_logs_route,
        audit_order, audit_after, audit_retention_days, audit_kobject_type, audit_changes
        (``config.Config``)."""
        self._app.configure(changes)

    def stats(self) -> dict[str, Any]:
        return self._app.counters.snapshot()

    def request_times(self) -> dict[str, list[float]]:
        """Arrival times of every request and search since the last reset (monotonic s)."""
        return self._app.counters.times()

    def reset_stats(self) -> None:
        self._app.counters.reset()

    def mutate(self, stream: str, count: int = 10) -> list[str]:
        return self.org.mutate(stream, count)

    def delete(self, stream: str, count: int = 1, ids: list[str] | None = None) -> list[str]:
        """Delete ``ids`` (or ``count`` random objects) of ``stream`` for good (``Org.delete``)."""
        return self.org.delete(stream, count, ids)

    def change_status(self, count: int = 1) -> list[str]:
        return self.org.change_status(count)

    def audit_log(self) -> list[dict]:
        """The entries ``GET /v1/audit-logs`` serves under the current settings, oldest first."""
        return json.loads(dumps(audit_logs.served(self.org, self._app.config)))

    def add_token(self, token: str, roles: list[str] | None = None, pod: str = POD) -> None:
        """Register a token; ``roles=None`` grants every role."""
        self._app.tokens[token] = Token(frozenset(ALL_ROLES if roles is None else roles), pod)


__all__ = ["ADMIN_TOKEN", "ALL_ROLES", "LocalKustomer"]
