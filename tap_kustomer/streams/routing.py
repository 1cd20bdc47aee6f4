"""Routing data: work sessions, routing statuses, queues, assistants and agent states."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from singer_sdk.singerlib.catalog import REPLICATION_INCREMENTAL

# The module, not its names: lists imports streams.history, and so this package.
from tap_kustomer import lists, schemas
from tap_kustomer.client import ListUnreachableError, NotFoundError, PermissionDeniedError
from tap_kustomer.mapping import agent_state
from tap_kustomer.records import format_timestamp, parse_timestamp
from tap_kustomer.streams.base import KustomerStream, ListStream
from tap_kustomer.streams.directory import UsersStream
from tap_kustomer.streams.history import created_at

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from singer_sdk.helpers.types import Context

    from tap_kustomer.progress import Progress


# Sessions created up to this long before the oldest one a run must read again are read
# again too: ids come from Kustomer's servers, whose clocks and inserts need not agree.
_OVERLAP = dt.timedelta(minutes=10)
_WINDOW_KEY = "window"
# The sessions of one user (developer.kustomer.com "Get work sessions by user ID").
_USER_PATH = "/v1/routing/users/{}/work-sessions"


@dataclass
class SessionsWindow:
    """Where the next run of work_sessions starts (STATE ``window``).

    ``since``: sessions created before it were signed out at the last run, so read-only
    (Kustomer's work-session reference) and not read again. ``by_user``: the list of all
    users' sessions was past its reach at ``since`` (oldest first), so each user's list is
    read. ``pages``: where ``since`` was in each list read oldest first ("" is the list of
    all users', else a user id), where past the first page.
    """

    since: dt.datetime
    by_user: bool = False
    pages: dict[str, int] = field(default_factory=dict)

    @classmethod
    def read(cls, state: dict[str, Any]) -> SessionsWindow | None:
        """The window in a stream's STATE; ValueError if it is not one."""
        stored = state.get(_WINDOW_KEY)
        if stored is None:
            return None
        pages = stored.get("pages") or {}
        if not all(isinstance(v, int) and v >= 1 for v in pages.values()):
            msg = f"{_WINDOW_KEY}.pages holds something else than page numbers"
            raise ValueError(msg)
        return cls(parse_timestamp(str(stored["since"])), bool(stored.get("by_user")), pages)

    def write(self, state: dict[str, Any]) -> None:
        """Put the window in a stream's STATE."""
        state[_WINDOW_KEY] = {
            "since": format_timestamp(self.since),
            "by_user": self.by_user,
            "pages": self.pages,
        }


class WorkSessionsStream(ListStream):
    """Every user's work sessions; a run after the first reads only what may have changed.

    A session is read-only once its agent signs out, so a run reads the sessions created
    since the oldest one still open at the previous run (``SessionsWindow``), newest
    first where the list allows (``lists.Recent``). ``user=false``: all users'. Past the
    list's reach (10,000 records, [?]) each user's own list is read instead. The first
    run, and every run in full-table mode, reads every session.
    """

    name = "work_sessions"
    path = "/v1/routing/work-sessions"
    record_schema = schemas.WORK_SESSIONS
    passes = ({"user": "false"},)
    replication_key: ClassVar[str] = "updated_at"
    is_sorted = False

    def records(
        self,
        context: Context | None,  # noqa: ARG002
        progress: Progress,  # noqa: ARG002
    ) -> Iterator[dict[str, Any]]:
        """The sessions the window holds, every one in the first run."""
        incremental = self.replication_method == REPLICATION_INCREMENTAL
        window = self._stored_window() if incremental else None
        reading = _SessionsRead(self, window)
        for session in reading.sessions():
            yield self.to_record(session)
        after = reading.next_window()
        # A window with a gap behind it would skip the gap at the next run: keep the old one.
        if incremental and after is not None and not self.run.unread_lists.get(self.name):
            after.write(self.stream_state)

    def _stored_window(self) -> SessionsWindow | None:
        try:
            return SessionsWindow.read(self.stream_state)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            self.logger.warning(
                "%s: STATE %s is not a window (%s); reading every session",
                self.name,
                _WINDOW_KEY,
                exc,
            )
            return None


class _SessionsRead:
    """One run's read of the work sessions: all users' list, or each user's past its reach."""

    def __init__(self, stream: WorkSessionsStream, window: SessionsWindow | None) -> None:
        self.stream = stream
        self.window = window
        self.since = window.since if window else None
        self.by_key: dict[str, lists.Recent] = {}
        self.by_user = False
        self.sort = True  # ask for newest first until an endpoint refuses it
        self.seen: set[str] = set()
        self.newest: dt.datetime | None = None
        self.oldest_open: dt.datetime | None = None

    def sessions(self) -> Iterator[dict[str, Any]]:
        """Every session the window holds, once."""
        everyone = self._list("", self.stream.path, {"user": "false"})
        try:
            yield from self._read(everyone)
        except ListUnreachableError as exc:
            yield from self._by_user(str(exc))
            return
        if everyone.out_of_reach:
            reason = f"GET {self.stream.path}?user=false reached no further than the last run"
            yield from self._by_user(reason)

    def next_window(self) -> SessionsWindow | None:
        """The window of the next run: from the oldest session still open, or the newest."""
        bounds = [t for t in (self.oldest_open, self.newest) if t is not None]
        if not bounds:
            return self.window
        since = min(bounds) - _OVERLAP
        hints = {key: recent.hint_for(since) for key, recent in self.by_key.items()}
        return SessionsWindow(
            since=since,
            by_user=self.by_user and hints.get("") is None,
            pages={key: hint for key, hint in hints.items() if hint and hint > 1},
        )

    def _by_user(self, reason: str) -> Iterator[dict[str, Any]]:
        """Each user's sessions: no agent comes near 10,000 of their own."""
        stream = self.stream
        stream.logger.info("%s: %s; reading each user's sessions instead", stream.name, reason)
        self.by_user = True
        self.by_key[""].out_of_reach = True  # oldest first, the next run goes user by user
        try:
            for user_id in self._users():
                recent = self._list(user_id, _USER_PATH.format(user_id), {})
                try:
                    yield from self._read(recent)
                except ListUnreachableError as exc:
                    stream.left_unread(str(exc))
        except (ListUnreachableError, PermissionDeniedError, NotFoundError) as exc:
            stream.left_unread(f"{reason}, and reading it user by user failed: {exc}")

    def _users(self) -> Iterator[str]:
        """Every user id, deactivated users' too, but those deactivated before ``since``."""
        seen: set[str] = set()
        for filters in UsersStream.passes:
            params = {"page": 1, "pageSize": UsersStream.page_size, **filters}
            for page in self.stream.client.iter_pages(UsersStream.path, params):
                for user in page.get("data") or []:
                    deleted_at = (user.get("attributes") or {}).get("deletedAt")
                    # [I] a deactivated user signs in no more: no session of theirs changes.
                    gone = deleted_at and self.since and parse_timestamp(deleted_at) < self.since
                    if user["id"] not in seen and not gone:
                        seen.add(user["id"])
                        yield user["id"]

    def _list(self, key: str, path: str, params: dict[str, str]) -> lists.Recent:
        window = self.window
        hint: int | None = 1
        if window is not None:
            hint = None if key == "" and window.by_user else window.pages.get(key, 1)
        recent = lists.Recent(self.stream.client, path, params, self.since, hint, sort=self.sort)
        self.by_key[key] = recent
        return recent

    def _read(self, recent: lists.Recent) -> Iterator[dict[str, Any]]:
        """The sessions of one list not read yet; notes the newest and the oldest open."""
        try:
            for session in recent.objects():
                if session["id"] in self.seen:
                    continue
                self.seen.add(session["id"])
                created = created_at(session["id"])
                self.newest = max(self.newest or created, created)
                attributes = session.get("attributes") or {}
                # `active` is documented, yet absent from a 2021 payload: not signed out, open.
                if attributes.get("active") is True or not attributes.get("signedOutAt"):
                    self.oldest_open = min(self.oldest_open or created, created)
                yield session
        finally:
            self.sort = recent.sort


class RoutingStatusesStream(ListStream):
    """The org's routing statuses (available, busy, unavailable, offline types)."""

    name = "routing_statuses"
    deleted_as = ("routing-status",)
    path = "/v1/routing/statuses"
    record_schema = schemas.ROUTING_STATUSES


class QueuesStream(ListStream):
    """Routing queues, the system ``DEFAULT_QUEUE`` included."""

    name = "queues"
    deleted_as = ("queue",)
    path = "/v1/routing/queues"
    record_schema = schemas.QUEUES


class AssistantsStream(ListStream):
    """Kustomer assistants (bots); the endpoint's shape is not documented publicly."""

    name = "assistants"
    deleted_as = ("assistant",)
    path = "/v1/assistants"
    record_schema = schemas.ASSISTANTS


class AgentStatesStream(KustomerStream):
    """Who is in which routing state: one record per agent with an active work session.

    One run takes ``agent_states_snapshots`` snapshots ``agent_states_interval_seconds``
    apart (cron fires at most once a minute; the 15-second cadence lives here).
    """

    name = "agent_states"
    primary_keys: ClassVar[tuple[str, ...]] = ("user_id", "observed_at")
    record_schema = schemas.AGENT_STATES
    monotonic: Callable[[], float] = staticmethod(time.monotonic)
    sleep: Callable[[float], None] = staticmethod(time.sleep)

    def records(
        self,
        context: Context | None,  # noqa: ARG002
        progress: Progress,
    ) -> Iterator[dict[str, Any]]:
        """Every snapshot's agent states."""
        interval = self.config["agent_states_interval_seconds"]
        first = self.monotonic()
        snapshots = self.config["agent_states_snapshots"]
        for index in range(snapshots):
            wait = first + index * interval - self.monotonic()
            if wait > 0:
                self.sleep(wait)
            observed_at = self.run.now()
            yield from self._snapshot(observed_at)
            progress.report("snapshot", observed_at, (index + 1) / snapshots, force=True)

    def probe(self) -> None:
        """Read one active work session."""
        params = {"page": 1, "pageSize": 1, "active": "true", "user": "false"}
        self.client.get(WorkSessionsStream.path, params)

    def _snapshot(self, observed_at: dt.datetime) -> Iterator[dict[str, Any]]:
        statuses = self._by_id(RoutingStatusesStream.path)
        queues = self._by_id(QueuesStream.path)
        stamp = format_timestamp(observed_at)
        params = {"page": 1, "pageSize": ListStream.page_size, "active": "true", "user": "false"}
        for page in self.client.iter_pages(WorkSessionsStream.path, params):
            for session in page.get("data") or []:
                state = agent_state(session, statuses, queues, stamp)
                if state is not None:
                    yield state

    def _by_id(self, path: str) -> dict[str, dict[str, Any]]:
        params = {"page": 1, "pageSize": ListStream.page_size}
        return {
            obj["id"]: obj
            for page in self.client.iter_pages(path, params)
            for obj in page.get("data") or []
        }
