"""Routing data: work sessions, routing statuses, queues and assistants."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, ClassVar

from tap_kustomer import schemas
from tap_kustomer.mapping import agent_state
from tap_kustomer.records import format_timestamp
from tap_kustomer.streams.base import KustomerStream, ListStream

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Callable, Iterator

    from singer_sdk.helpers.types import Context

    from tap_kustomer.progress import Progress


class WorkSessionsStream(ListStream):
    """Every user's work sessions, past and active (``user=false``: all users)."""

    name = "work_sessions"
    path = "/v1/routing/work-sessions"
    record_schema = schemas.WORK_SESSIONS
    passes = ({"user": "false"},)


class RoutingStatusesStream(ListStream):
    """The org's routing statuses (available, busy, unavailable, offline types)."""

    name = "routing_statuses"
    path = "/v1/routing/statuses"
    record_schema = schemas.ROUTING_STATUSES


class QueuesStream(ListStream):
    """Routing queues, the system ``DEFAULT_QUEUE`` included."""

    name = "queues"
    path = "/v1/routing/queues"
    record_schema = schemas.QUEUES


class AssistantsStream(ListStream):
    """Kustomer assistants (bots); the endpoint's shape is not documented publicly."""

    name = "assistants"
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
