"""The report's figures and their warnings, pure functions of the warehouse's rows.

The warnings are sentences, so the phrases they share with the text and the chart (an instant,
an age, a duration) are made here too.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tap_kustomer.report.warehouse import UTC

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from tap_kustomer.report.warehouse import AgentState, Ticket, TicketTable, Window

CHANNELS = ("Email", "Chat", "SMS", "Phone", "Social")
UNMAPPED = "unmapped"
PERCENTILES = (50, 90, 95)
QUIET_DAYS = 3
STALE_AFTER = dt.timedelta(minutes=10)
MAX_RESPONSE_SECONDS = 24 * 3600
AVAILABLE = "available"
UNKNOWN = "unknown"
_SECONDS_PER_MINUTE = 60
_MINUTES_PER_HOUR = 60
_HOURS_PER_DAY = 24


def reference_time(as_of: dt.date, now: dt.datetime) -> dt.datetime:
    """The instant snapshot freshness is judged from: now, or the end of a past ``as_of`` day."""
    end_of_day = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time(), tzinfo=UTC)
    return min(now, end_of_day)


def channel_label(channel: str | None) -> str:
    """A ticket's channel as the report names it: null is ``unmapped``."""
    return UNMAPPED if channel is None else channel


def channel_order(labels: Iterable[str]) -> list[str]:
    """Assembled's five channels, then any other (a ``channel_mapping`` value), then unmapped."""
    extra = sorted(set(labels) - {*CHANNELS, UNMAPPED})
    return [*CHANNELS, *extra, UNMAPPED]


def contacts_per_day(tickets: Iterable[Ticket], span: Window) -> dict[str, list[int]]:
    """Tickets created each day of the window, by channel (every channel, zeros included)."""
    days = {day: index for index, day in enumerate(span.days)}
    counts: dict[str, list[int]] = defaultdict(lambda: [0] * len(days))
    for ticket in tickets:
        if ticket.created_at in span:
            day = ticket.created_at.astimezone(UTC).date()
            counts[channel_label(ticket.channel)][days[day]] += 1
    return {label: counts[label] for label in channel_order(counts)}


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile, interpolated linearly between ranks (numpy's default)."""
    if not values:
        msg = "no values"
        raise ValueError(msg)
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class ResponseTimes:
    """First-response time of one channel's tickets created in the window, in minutes."""

    channel: str
    responses: int
    percentiles: dict[int, float]  # empty when no ticket has a response
    negative: int
    over_a_day: int
    longest: float | None = None  # minutes


def response_times(tickets: Iterable[Ticket], span: Window) -> list[ResponseTimes]:
    """p50/p90/p95 of ``first_response_duration`` per channel, and its abnormal values.

    Every duration counts towards the percentiles, abnormal ones too: they are what Assembled
    receives, and the abnormal ones are counted separately.
    """
    durations: dict[str, list[float]] = defaultdict(list)
    for ticket in tickets:
        if ticket.created_at in span and ticket.first_response_duration is not None:
            durations[channel_label(ticket.channel)].append(ticket.first_response_duration)
    figures = []
    for label in channel_order(durations):
        seconds = durations[label]
        minutes = [value / _SECONDS_PER_MINUTE for value in seconds]
        figures.append(
            ResponseTimes(
                channel=label,
                responses=len(seconds),
                percentiles={q: percentile(minutes, q) for q in PERCENTILES} if minutes else {},
                negative=sum(value < 0 for value in seconds),
                over_a_day=sum(value > MAX_RESPONSE_SECONDS for value in seconds),
                longest=max(minutes, default=None),
            )
        )
    return figures


@dataclass(frozen=True)
class Snapshot:
    """Agents by state at the last agent-state snapshot."""

    observed_at: dt.datetime
    agents: int
    by_type: dict[str, int]
    by_name: dict[tuple[str, str], int]  # (status_type, status_name) -> agents

    @property
    def available(self) -> int:
        """Agents whose status type is ``available``."""
        return self.by_type.get(AVAILABLE, 0)


def last_snapshot(states: Iterable[AgentState]) -> Snapshot | None:
    """Agents by ``status_type`` and ``status_name`` at ``max(observed_at)``; None if no rows."""
    rows = list(states)
    if not rows:
        return None
    latest = max(row.observed_at for row in rows)
    # One state per agent: the table's key is (user_id, observed_at).
    agents = {row.user_id: row for row in rows if row.observed_at == latest}
    by_type = Counter(row.status_type or UNKNOWN for row in agents.values())
    by_name = Counter(
        (row.status_type or UNKNOWN, row.status_name or UNKNOWN) for row in agents.values()
    )
    return Snapshot(
        observed_at=latest,
        agents=len(agents),
        by_type=dict(sorted(by_type.items(), key=lambda item: (-item[1], item[0]))),
        by_name=dict(sorted(by_name.items(), key=lambda item: (item[0][0], -item[1], item[0][1]))),
    )


@dataclass(frozen=True)
class Report:
    """Every figure of the report, and its warnings."""

    source: str
    span: Window
    reference: dt.datetime
    contacts: dict[str, list[int]]
    response_times: list[ResponseTimes]
    snapshot: Snapshot | None
    table: TicketTable | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def total_contacts(self) -> int:
        """Tickets created in the window, every channel."""
        return sum(sum(days) for days in self.contacts.values())


def contact_warnings(
    contacts: dict[str, list[int]], span: Window, table: TicketTable | None = None
) -> list[str]:
    """No contacts at all, or a channel that went quiet in the last ``QUIET_DAYS`` days."""
    days = span.days
    if not any(any(counts) for counts in contacts.values()):
        if table is None:
            why = ""
        elif table.rows == 0:
            why = ": the tickets table is empty"
        elif table.newest is not None:
            newest = when_text(table.newest)
            why = f": the newest of the table's {table.rows} tickets was created {newest}"
        else:
            why = f" (the tickets table has {table.rows} rows)"
        return [f"No contacts at all from {days[0]} to {days[-1]}{why}."]
    if len(days) <= QUIET_DAYS:
        return []
    quiet_from = days[-QUIET_DAYS]
    warnings = []
    for label, counts in contacts.items():
        earlier, recent = counts[:-QUIET_DAYS], counts[-QUIET_DAYS:]
        if label != UNMAPPED and any(earlier) and not any(recent):
            last = max(day for day, count in zip(days, counts, strict=True) if count)
            warnings.append(
                f"{label}: {_plural(sum(earlier), 'contact')} in the window, the last on {last}; "
                f"none in the last {QUIET_DAYS} days ({quiet_from} to {days[-1]})."
            )
    return warnings


def duration_warnings(figures: Iterable[ResponseTimes]) -> list[str]:
    """First-response durations that are negative or longer than a day, counted per channel."""
    warnings = []
    for figure in figures:
        if figure.negative:
            warnings.append(
                f"{figure.channel}: {figure.negative} of {figure.responses} first-response "
                "durations are negative."
            )
        if figure.over_a_day:
            longest = f" (longest {duration_text(figure.longest)})" if figure.longest else ""
            warnings.append(
                f"{figure.channel}: {figure.over_a_day} of {figure.responses} first-response "
                f"durations are over a day{longest}."
            )
    return warnings


def agent_warnings(snapshot: Snapshot | None, reference: dt.datetime) -> list[str]:
    """No snapshot, a snapshot older than ``STALE_AFTER``, or nobody available."""
    if snapshot is None:
        return ["No agent-state snapshot: the agent_states table is empty."]
    warnings = []
    age = reference - snapshot.observed_at
    if age > STALE_AFTER:
        warnings.append(
            f"The last agent-state snapshot ({when_text(snapshot.observed_at)}) is {age_text(age)} "
            f"older than {when_text(reference)}: agent states have stopped arriving."
        )
    if snapshot.available == 0:
        warnings.append(
            f"No agent is available at the last snapshot ({snapshot.agents} agents signed in)."
        )
    return warnings


def build_report(  # noqa: PLR0913 - the report's inputs, each named at the call
    tickets: Iterable[Ticket],
    states: Iterable[AgentState],
    *,
    span: Window,
    reference: dt.datetime,
    source: str = "",
    table: TicketTable | None = None,
) -> Report:
    """Every figure of the report from rows, with its warnings."""
    rows = list(tickets)
    contacts = contacts_per_day(rows, span)
    times = response_times(rows, span)
    snapshot = last_snapshot(states)
    warnings = [
        *contact_warnings(contacts, span, table),
        *duration_warnings(times),
        *agent_warnings(snapshot, reference),
    ]
    return Report(source, span, reference, contacts, times, snapshot, table, warnings)


# ---- phrases the warnings share with the text and the chart --------------------------------


def when_text(instant: dt.datetime) -> str:
    """An instant as the report names it, in UTC to the second."""
    return instant.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def age_text(delta: dt.timedelta) -> str:
    """A time span as a person reads it (see ``duration_text``)."""
    minutes = delta.total_seconds() / _SECONDS_PER_MINUTE
    return duration_text(minutes)


def duration_text(minutes: float | None) -> str:
    """Minutes as a person reads them: ``42 s``, ``12.5 min``, ``3.2 h``, ``4.1 d``."""
    if minutes is None:
        return "-"
    magnitude = abs(minutes)
    if magnitude < 1:
        return f"{minutes * _SECONDS_PER_MINUTE:.0f} s"
    if magnitude < _MINUTES_PER_HOUR:
        return f"{minutes:.1f} min"
    hours = minutes / _MINUTES_PER_HOUR
    if abs(hours) < 2 * _HOURS_PER_DAY:
        return f"{hours:.1f} h"
    return f"{hours / _HOURS_PER_DAY:.1f} d"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
