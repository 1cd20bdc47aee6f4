"""The backfill plan: what a run of the tap costs, priced from a few counts (no I/O).

``estimate(counts, settings)`` prices three runs for the selected streams: the backfill
(``sync_mode: full`` from ``start_date``), the minute job's first run
(``sync_mode: incremental``, ``incremental_lookback_hours`` back) and one run of the
minute job at today's volume. ``plan_api.measure`` takes the counts from an org's
search totals; ``scripts/plan_table.py`` makes them up for the README's table.

How a run spends requests:

* A search context is scanned once per run, whichever of its streams are selected
  (``conversation`` feeds conversations, tickets and conversation_events; ``message``
  messages and attachments). A scan of n
  objects reads page 1 of keyset queries of ``page_size``: floor(n / page_size) + 1
  searches (ties add a few). In full mode a second scan, of the archive search, reads
  what was last updated before the two-year horizon; it spends the search budget too.
* conversation_events: one ``GET /v1/conversations/{id}/events`` (100 a page) per
  conversation updated since ``events_start_date``.
* tickets: one ``GET /v1/conversations/{id}/messages`` (100 a page) per conversation
  whose first-response rule needs its messages (``mapping.needs_messages``);
  attachments: the same with their files, once per conversation with a file.
* A list stream reads all its pages every run; agent_states three lists a snapshot.
* Wall time: max(requests / requests budget, searches / search budget) minutes; the
  pacer's workers keep requests in flight, so latency adds little while work remains.
  The requests budget is the one the tap keeps: ``max_requests_per_minute``, capped at
  ``org_budget_percent`` of the org's limit (``pacing.RequestBudget``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tap_kustomer.klass_directory import is_klass_stream_name

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from tap_kustomer.pacing import RequestBudget

# The search streams by their context, in the order the plan shows them: one scan of a
# context per run feeds all its selected streams.
CONTEXT_OF: dict[str, str] = {
    "conversations": "conversation",
    "tickets": "conversation",
    "conversation_events": "conversation",
    "messages": "message",
    "attachments": "message",
    "customers": "customer",
    "companies": "company",
    "notes": "note",
    "kobjects": "kobject",
}
AGENT_STATES_STREAM = "agent_states"
# Work sessions, routing statuses and queues: one page each per snapshot.
AGENT_STATES_REQUESTS = 3
SECONDS_PER_DAY = 86_400
MINUTES_PER_HOUR = 60
MINUTES_PER_DAY = 1_440
MINUTE_JOB_SECONDS = 60

BACKFILL = "backfill"
FIRST_RUN = "first_run"
MINUTE = "minute"


@dataclass(frozen=True)
class Volume:
    """Objects of one search context (or the events window) in each range a run reads.

    ``recent``: updated since max(start_date, horizon), what search serves; ``history``:
    updated before the horizon and since start_date, what the archive search serves
    (None: unknown, ``note`` says why); ``first_run``: updated in the minute job's first
    window; ``day``: updated in the last 24 hours.
    """

    recent: float
    history: float | None
    first_run: float
    day: float
    note: str = ""


@dataclass(frozen=True)
class Counts:
    """What the org holds, as far as the plan's prices depend on it."""

    # By search context: conversation, message, customer.
    volumes: Mapping[str, Volume]
    # Conversations updated since events_start_date; None: the conversation volume.
    events: Volume | None = None
    # Share of conversations whose ticket needs their messages (in a sample of
    # ``sample_size``), and pages (of 100) each.
    needs_messages_share: float = 0.0
    sample_size: int = 0
    message_pages: float = 1.0
    # Pages (of 100) of events per conversation.
    event_pages: float = 1.0
    # attachments: requests per message (one per conversation with a file, read once).
    attachment_requests: float = 0.0
    # Pages one run reads of each list stream, all passes together; None: unknown.
    list_pages: Mapping[str, float | None] = field(default_factory=dict)
    # A remark per stream (a refused endpoint, a guess).
    notes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PlanSettings:
    """The settings that change a run's cost."""

    streams: tuple[str, ...]
    requests_per_minute: int = 500
    searches_per_minute: int = 50
    page_size: int = 500
    search_lag_seconds: int = 60
    lookback_hours: int = 24
    # Whether start_date is before the search horizon: full runs then scan the archive.
    history: bool = True
    agent_states_snapshots: int = 1
    # Where requests_per_minute comes from: the org's limit and the tap's share of it.
    budget: RequestBudget | None = None
    # The search streams' contexts: CONTEXT_OF, and the per-Klass streams' (``kobject``
    # where the org accepts it, each Klass's own where it refuses it).
    contexts: Mapping[str, str] = field(default_factory=lambda: CONTEXT_OF)


@dataclass(frozen=True)
class StreamCost:
    """One stream's part of a run; None where it is unknown."""

    stream: str
    objects: float | None
    searches: float | None
    requests: float | None
    note: str = ""


@dataclass(frozen=True)
class RunCost:
    """One run of the selected streams, and how long the budget makes it take."""

    kind: str
    streams: tuple[StreamCost, ...]
    requests_per_minute: int
    searches_per_minute: int

    @property
    def searches(self) -> float:
        """Searches (standard and archive) of the parts that are known."""
        return sum(cost.searches or 0.0 for cost in self.streams)

    @property
    def other_requests(self) -> float:
        """Requests that are not searches, of the parts that are known."""
        return sum(cost.requests or 0.0 for cost in self.streams)

    @property
    def requests(self) -> float:
        """Every request, searches included: what the org budget counts."""
        return self.searches + self.other_requests

    @property
    def complete(self) -> bool:
        """Whether every part of the run is priced (otherwise the totals are a floor)."""
        return all(c.searches is not None and c.requests is not None for c in self.streams)

    @property
    def minutes(self) -> float:
        """Wall time in minutes: the budget that binds."""
        return max(
            self.requests / self.requests_per_minute, self.searches / self.searches_per_minute
        )

    @property
    def bound(self) -> str:
        """Which budget binds: ``requests`` or ``searches``."""
        by_requests = self.requests / self.requests_per_minute
        return "searches" if self.searches / self.searches_per_minute > by_requests else "requests"


@dataclass(frozen=True)
class Plan:
    """The three runs priced for one org and budget."""

    settings: PlanSettings
    backfill: RunCost
    first_run: RunCost
    minute: RunCost

    @property
    def runs(self) -> tuple[RunCost, RunCost, RunCost]:
        """The backfill, the minute job's first run, and a minute job run."""
        return self.backfill, self.first_run, self.minute


def scan_searches(objects: float, page_size: int) -> float:
    """Searches of one keyset scan of ``objects`` objects (ties aside)."""
    return float(math.floor(objects / page_size) + 1)


def estimate(counts: Counts, settings: PlanSettings) -> Plan:
    """The backfill, the first incremental run and a minute-job run of ``settings.streams``."""
    # A minute-job run reads the minute since the last run and, again, the search lag.
    per_run = (MINUTE_JOB_SECONDS + settings.search_lag_seconds) / SECONDS_PER_DAY
    return Plan(
        settings=settings,
        backfill=_Pricer(counts, settings, _backfill_scans(settings)).run(BACKFILL),
        first_run=_Pricer(counts, settings, lambda v: [v.first_run]).run(FIRST_RUN),
        minute=_Pricer(counts, settings, lambda v: [v.day * per_run]).run(MINUTE),
    )


def _backfill_scans(settings: PlanSettings) -> Callable[[Volume], list[float | None]]:
    def scans(volume: Volume) -> list[float | None]:
        return [volume.recent, volume.history] if settings.history else [volume.recent]

    return scans


@dataclass(frozen=True)
class _Pricer:
    """Prices one kind of run: ``scans_of`` says which ranges of a volume it scans."""

    counts: Counts
    settings: PlanSettings
    scans_of: Callable[[Volume], Sequence[float | None]]

    def run(self, kind: str) -> RunCost:
        settings = self.settings
        costs = tuple(self.stream(stream) for stream in settings.streams)
        return RunCost(kind, costs, settings.requests_per_minute, settings.searches_per_minute)

    def stream(self, stream: str) -> StreamCost:
        note = self.counts.notes.get(stream, "")
        if stream == AGENT_STATES_STREAM:
            requests = float(AGENT_STATES_REQUESTS * self.settings.agent_states_snapshots)
            return StreamCost(stream, None, 0.0, requests, note)
        context = self.settings.contexts.get(stream)
        if context is None:  # a list stream
            return StreamCost(stream, None, 0.0, self.counts.list_pages.get(stream), note)
        volume = self.events if stream == "conversation_events" else self.counts.volumes[context]
        objects, searches = self.scan(volume)
        note = note or (volume.note if volume else "")
        searches, note = self.shared_scan(stream, context, note)
        return StreamCost(stream, objects, searches, self.children(stream, objects), note)

    @property
    def events(self) -> Volume | None:
        return self.counts.events or self.counts.volumes.get("conversation")

    def scan(self, volume: Volume | None) -> tuple[float | None, float | None]:
        """Objects and searches of the scans of one volume."""
        if volume is None:
            return 0.0, 0.0
        parts = self.scans_of(volume)
        if any(part is None for part in parts):
            return None, None
        known = [part or 0.0 for part in parts]
        return sum(known), sum(scan_searches(part, self.settings.page_size) for part in known)

    def shared_scan(self, stream: str, context: str, note: str) -> tuple[float | None, str]:
        """The searches of the context's one scan, shown on its first selected stream."""
        selected = [
            name
            for name, of in self.settings.contexts.items()
            if of == context and name in self.settings.streams
        ]
        if stream != selected[0]:
            return 0.0, note
        widest: Volume | None = self.counts.volumes[context]
        if context == "conversation" and not {"conversations", "tickets"} & set(selected):
            widest = self.events  # events alone: the scan reaches back to events_start_date
        _, searches = self.scan(widest)
        if len(selected) > 1 and not note:
            note = f"one {context} scan for {', '.join(selected)}"
        return searches, note

    def children(self, stream: str, objects: float | None) -> float | None:
        """Requests per hit: events, or messages for a ticket or for a message's files."""
        counts = self.counts
        if objects is None:
            return None
        if stream == "conversation_events":
            return objects * counts.event_pages
        if stream == "tickets":
            return objects * counts.needs_messages_share * counts.message_pages
        if stream == "attachments":
            return objects * counts.attachment_requests
        if stream == "kobjects" or is_klass_stream_name(stream):
            return self.klass_list(stream, objects)
        return 0.0

    def klass_list(self, stream: str, objects: float) -> float:
        """The Klass list, one page a run, on the first stream that reads it.

        ``kobjects`` reads it for Klass names when it meets a KObject; the Klass streams
        read it for their Klasses, even when idle.
        """
        readers = [n for n in self.settings.streams if n == "kobjects" or is_klass_stream_name(n)]
        if stream != readers[0]:
            return 0.0
        return 1.0 if any(map(is_klass_stream_name, readers)) else min(objects, 1.0)


# ---- the text the command prints ----------------------------------------------------------

_TITLES = {
    BACKFILL: "Backfill (sync_mode full, from start_date)",
    FIRST_RUN: "Minute job, first run (sync_mode incremental, {lookback} h back)",
    MINUTE: (
        "Minute job, one run at today's volume (the last 24 h / 1440, "
        "+ {lag} s of search lag read again)"
    ),
}


def number(value: float | None) -> str:
    """A count for the table: ``?`` when unknown, one decimal below 10."""
    if value is None:
        return "?"
    if value < 10 and value != round(value):  # noqa: PLR2004 - below ten, a decimal helps
        return f"{value:.1g}" if value < 0.1 else f"{value:.1f}"  # noqa: PLR2004
    return f"{round(value):,}"


def percent(share: float) -> str:
    """A share of a budget; a small one is not rounded to nothing."""
    return "under 1%" if 0 < share < 0.01 else f"{share:.0%}"  # noqa: PLR2004


def duration(minutes: float) -> str:
    """A wall time in the unit that reads best."""
    if minutes < 1:
        return f"{minutes * 60:.0f} s"
    if minutes < MINUTES_PER_HOUR:
        return f"{minutes:.1f} min"
    if minutes < 2 * MINUTES_PER_DAY:
        return f"{minutes / MINUTES_PER_HOUR:.1f} h"
    return f"{minutes / MINUTES_PER_DAY:.1f} days"


def render(plan: Plan, preamble: Sequence[str] = ()) -> str:
    """The plan as the text ``tap-kustomer --plan`` prints."""
    settings = plan.settings
    lines = [
        *preamble,
        *([f"{settings.budget.describe()}."] if settings.budget else []),
        (
            f"Budget assumed: {settings.requests_per_minute:,} requests/min, of them at most "
            f"{settings.searches_per_minute:,} searches/min; searches of {settings.page_size} "
            "objects."
        ),
    ]
    for run in plan.runs:
        title = _TITLES[run.kind].format(
            lookback=settings.lookback_hours, lag=settings.search_lag_seconds
        )
        lines += ["", title, _row("stream", "objects", "searches", "other requests", "")]
        lines += [
            _row(c.stream, objects, number(c.searches), number(c.requests), c.note)
            for c in run.streams
            # Lists and snapshots are priced by their pages, not their objects.
            for objects in [number(c.objects) if c.stream in settings.contexts else "-"]
        ]
        floor = "" if run.complete else "at least "
        total = f"= {floor}{number(run.requests)} requests"
        lines.append(_row("total", "", number(run.searches), number(run.other_requests), total))
        lines.append(_verdict(run, floor))
    return "\n".join(lines) + "\n"


def _row(stream: str, objects: str, searches: str, requests: str, note: str) -> str:
    return f"  {stream:<27} {objects:>12} {searches:>10} {requests:>15}  {note}".rstrip()


def _verdict(run: RunCost, floor: str) -> str:
    if run.kind != MINUTE:
        return (
            f"  wall time: {floor}about {duration(run.minutes)} (bound by the {run.bound} budget)"
        )
    request_share = percent(run.requests / run.requests_per_minute)
    search_share = percent(run.searches / run.searches_per_minute)
    verdict = (
        "keeps up every minute"
        if run.minutes <= 1
        else f"cannot keep up: a run takes about {duration(run.minutes)}"
    )
    return (
        f"  uses {floor}{request_share} of the request budget and {search_share} of the "
        f"search budget each minute: {verdict}"
    )
