"""``tap-kustomer-report``: the integration document's "verify the connection" check.

Assembled asks to check two views after connecting Kustomer (the realtime dashboard: agent
states and contacts; the staffing timeline: contacts) and to call support "if either of these
display zero or abnormal numbers". This command computes the same figures from what a Meltano
run loaded into DuckDB (``tickets`` and ``agent_states``), prints them, draws them as one PNG and
says in words which figures are zero or abnormal.

The figures are pure functions of rows (``Ticket``, ``AgentState``), so they are tested without
DuckDB; duckdb and matplotlib are imported only where they are used (the ``report`` extra), so
the tap itself never needs them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import re
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Container, Iterable, Sequence

    from duckdb import DuckDBPyConnection
    from matplotlib.axes import Axes

CHANNELS = ("Email", "Chat", "SMS", "Phone", "Social")
UNMAPPED = "unmapped"
PERCENTILES = (50, 90, 95)
QUIET_DAYS = 3
STALE_AFTER = dt.timedelta(minutes=10)
MAX_RESPONSE_SECONDS = 24 * 3600
AVAILABLE = "available"
UNKNOWN = "unknown"
TICKET_COLUMNS = ("id", "created_at", "updated_at", "channel", "first_response_duration")
AGENT_COLUMNS = ("user_id", "observed_at", "status_type", "status_name")
UTC = dt.timezone.utc
_SECONDS_PER_MINUTE = 60
_MINUTES_PER_HOUR = 60
_HOURS_PER_DAY = 24


class ReportError(Exception):
    """The warehouse cannot be read: the command says why in one line and exits 1."""


# ---- rows and figures ----------------------------------------------------------------------


@dataclass(frozen=True)
class Ticket:
    """The columns of one ``tickets`` row the report uses (``created_at`` in UTC)."""

    created_at: dt.datetime
    channel: str | None
    first_response_duration: float | None = None


@dataclass(frozen=True)
class AgentState:
    """The columns of one ``agent_states`` row the report uses (``observed_at`` in UTC)."""

    observed_at: dt.datetime
    user_id: str
    status_type: str | None
    status_name: str | None


@dataclass(frozen=True)
class Window:
    """Whole UTC days ``first_day`` .. ``last_day``, both included."""

    first_day: dt.date
    last_day: dt.date

    @property
    def days(self) -> list[dt.date]:
        """Every day of the window, oldest first."""
        count = (self.last_day - self.first_day).days + 1
        return [self.first_day + dt.timedelta(days=n) for n in range(count)]

    @property
    def start(self) -> dt.datetime:
        """The first instant of the window."""
        return dt.datetime.combine(self.first_day, dt.time(), tzinfo=UTC)

    @property
    def end(self) -> dt.datetime:
        """The first instant after the window."""
        return dt.datetime.combine(self.last_day + dt.timedelta(days=1), dt.time(), tzinfo=UTC)

    def __contains__(self, instant: object) -> bool:
        """Whether a datetime falls in the window."""
        return isinstance(instant, dt.datetime) and self.start <= instant < self.end


def window(as_of: dt.date, days: int) -> Window:
    """The last ``days`` days up to and including ``as_of``."""
    if days < 1:
        msg = f"the window needs at least one day, got {days}"
        raise ValueError(msg)
    return Window(as_of - dt.timedelta(days=days - 1), as_of)


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
class TicketTable:
    """The whole ``tickets`` table, beyond the window: says why a window can be empty."""

    rows: int
    newest: dt.datetime | None


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
            newest = _when(table.newest)
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
            longest = f" (longest {_duration(figure.longest)})" if figure.longest else ""
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
            f"The last agent-state snapshot ({_when(snapshot.observed_at)}) is {_age(age)} "
            f"older than {_when(reference)}: agent states have stopped arriving."
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


# ---- reading the warehouse -----------------------------------------------------------------

_ISO = re.compile(
    r"(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2})?)(?:\.(\d+))?\s*(Z|[+-]\d{2}(?::?\d{2})?)?"
)


def to_utc(value: object) -> dt.datetime | None:
    """A loaded timestamp as an aware UTC datetime; None when absent or unreadable.

    target-duckdb stores ``date-time`` as a naive TIMESTAMP in UTC (read as epoch
    milliseconds), other loaders keep the ISO-8601 text (``...Z``, ``+00``, ``+00:00``).
    """
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, int) and not isinstance(value, bool):
        return dt.datetime(1970, 1, 1, tzinfo=UTC) + dt.timedelta(milliseconds=value)
    if not isinstance(value, str):
        return None
    match = _ISO.fullmatch(value.strip())
    if match is None:
        return None
    day, clock, fraction, offset = match.groups()
    # Python 3.10's fromisoformat takes neither "Z" nor "+00" nor more than 6 fraction digits.
    micros = f".{(fraction or '')[:6]:0<6}"
    offset = "+00:00" if offset in {None, "Z"} else offset
    if len(offset) == len("+00"):
        offset += ":00"
    elif ":" not in offset:
        offset = f"{offset[:3]}:{offset[3:]}"
    if clock.count(":") == 1:
        clock += ":00"
    try:
        parsed = dt.datetime.fromisoformat(f"{day}T{clock}{micros}{offset}")
    except ValueError:
        return None
    return parsed.astimezone(UTC)


def _quote(name: str) -> str:
    """A DuckDB identifier, quoted."""
    return '"' + name.replace('"', '""') + '"'


def _instant_sql(column: str, data_type: str) -> str:
    """SQL giving a timestamp column as epoch milliseconds, or as text to parse in Python.

    Epoch milliseconds are UTC for TIMESTAMP and TIMESTAMPTZ alike, whatever the session's
    time zone, and need no pytz to reach Python.
    """
    if data_type.upper().startswith("TIMESTAMP"):
        return f"epoch_ms({_quote(column)})"
    return f"CAST({_quote(column)} AS VARCHAR)"


def _columns(
    connection: DuckDBPyConnection, path: str, schema: str, table: str, needed: Sequence[str]
) -> dict[str, str]:
    """The column types of a table, or ReportError naming what is missing."""
    found = dict(
        connection.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = ? AND table_name = ?",
            [schema, table],
        ).fetchall()
    )
    if not found:
        tables = sorted(
            row[0]
            for row in connection.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = ?",
                [schema],
            ).fetchall()
        )
        has = f"schema {schema} has: {', '.join(tables)}" if tables else f"no tables in {schema}"
        msg = f"{path} has no table {schema}.{table} ({has})"
        raise ReportError(msg)
    missing = [column for column in needed if column not in found]
    if missing:
        msg = f"{path}: table {schema}.{table} has no column {', '.join(missing)}"
        raise ReportError(msg)
    return found


def _varchar_bounds(span: Window) -> tuple[str, str]:
    """ISO text bounds a day wider than the window (text with an offset is filtered later)."""
    return str(span.first_day - dt.timedelta(days=1)), str(span.last_day + dt.timedelta(days=2))


def _read_tickets(
    connection: DuckDBPyConnection, path: str, schema: str, span: Window
) -> tuple[list[Ticket], TicketTable]:
    types = _columns(connection, path, schema, "tickets", TICKET_COLUMNS)
    table = f"{_quote(schema)}.{_quote('tickets')}"
    created = _instant_sql("created_at", types["created_at"])
    bounds: list[object]
    if types["created_at"].upper().startswith("TIMESTAMP"):
        bounds = [int(instant.timestamp() * 1000) for instant in (span.start, span.end)]
        where = f"{created} >= ? AND {created} < ?"
    else:
        bounds = list(_varchar_bounds(span))
        where = "created_at >= ? AND created_at < ?"
    # A loader that appends instead of merging on the key keeps every version of a ticket: the
    # report counts its latest (ISO text of one format sorts like the instants it names).
    # Identifiers are quoted and values bound, so the SQL built here is safe (S608).
    rows = connection.execute(
        f"SELECT {created}, channel, CAST(first_response_duration AS DOUBLE) FROM {table} "  # noqa: S608
        f"WHERE {where} "
        "QUALIFY row_number() OVER (PARTITION BY id ORDER BY updated_at DESC NULLS LAST) = 1",
        bounds,
    ).fetchall()
    summary = connection.execute(f"SELECT count(*), max({created}) FROM {table}").fetchone()  # noqa: S608
    count, newest = summary or (0, None)
    tickets = [
        Ticket(created_at, channel, duration)
        for created_at, channel, duration in ((to_utc(r[0]), r[1], r[2]) for r in rows)
        if created_at is not None
    ]
    return tickets, TicketTable(rows=int(count), newest=to_utc(newest))


def _read_agent_states(connection: DuckDBPyConnection, path: str, schema: str) -> list[AgentState]:
    types = _columns(connection, path, schema, "agent_states", AGENT_COLUMNS)
    table = f"{_quote(schema)}.{_quote('agent_states')}"
    observed = _instant_sql("observed_at", types["observed_at"])
    # Only the last snapshot is read: the table grows by every agent four times a minute.
    # (The tap writes observed_at as fixed-width ISO text, so a text max is the latest too.)
    rows = connection.execute(
        f"SELECT {observed}, user_id, status_type, status_name FROM {table} "  # noqa: S608
        f"WHERE observed_at = (SELECT max(observed_at) FROM {table})"
    ).fetchall()
    states = []
    for observed_at, user_id, status_type, status_name in rows:
        instant = to_utc(observed_at)
        if instant is not None and user_id is not None:
            states.append(AgentState(instant, str(user_id), status_type, status_name))
    return states


def read_warehouse(
    path: Path, schema: str, span: Window
) -> tuple[list[Ticket], TicketTable, list[AgentState]]:
    """The window's tickets, the tickets table's size, and the last agent-state snapshot."""
    if not path.is_file():
        msg = f"{path}: no such file" if not path.exists() else f"{path} is not a file"
        raise ReportError(msg)
    try:
        import duckdb  # noqa: PLC0415 - only the report needs duckdb (the "report" extra)
    except ImportError as exc:
        msg = "duckdb is not installed: pip install 'tap-kustomer[report]'"
        raise ReportError(msg) from exc
    try:
        with duckdb.connect(str(path), read_only=True) as connection:
            tickets, table = _read_tickets(connection, str(path), schema, span)
            states = _read_agent_states(connection, str(path), schema)
    except duckdb.Error as exc:
        msg = f"cannot read {path}: {_first_line(exc)}"
        raise ReportError(msg) from exc
    return tickets, table, states


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


# ---- text ------------------------------------------------------------------------------------


def _when(instant: dt.datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _age(delta: dt.timedelta) -> str:
    minutes = delta.total_seconds() / _SECONDS_PER_MINUTE
    return _duration(minutes)


def _duration(minutes: float | None) -> str:
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


def _table(
    header: Sequence[str], rows: Iterable[Sequence[object]], left: Container[int] = (0,)
) -> list[str]:
    """A plain-text table: the ``left`` columns (text) left-aligned, the others (numbers) right."""
    cells = [[str(cell) for cell in header], *([str(cell) for cell in row] for row in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    return [
        "  ".join(
            cell.ljust(widths[i]) if i in left else cell.rjust(widths[i])
            for i, cell in enumerate(row)
        ).rstrip()
        for row in cells
    ]


def _minutes(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def render_text(report: Report) -> str:
    """The report as terminal text: the three figures, then the warnings."""
    span, days = report.span, report.span.days
    lines = [
        "Kustomer connection report",
        f"  warehouse: {report.source}",
        f"  window:    {span.first_day} to {span.last_day} ({len(days)} days, UTC, by created_at)",
        f"  as of:     {_when(report.reference)}",
        "",
        f"1. Contacts per day by Assembled channel ({report.total_contacts} in the window)",
    ]
    labels = list(report.contacts)
    rows = [
        [
            str(day),
            *(report.contacts[label][i] for label in labels),
            sum(report.contacts[label][i] for label in labels),
        ]
        for i, day in enumerate(days)
    ]
    totals = [sum(report.contacts[label]) for label in labels]
    lines += _table(["date", *labels, "total"], [*rows, ["total", *totals, sum(totals)]])
    lines += ["", "2. First-response time in minutes, tickets created in the window"]
    lines += _table(
        ["channel", "responses", *(f"p{q}" for q in PERCENTILES), "negative", "over 1 day"],
        [
            [
                figure.channel,
                figure.responses,
                *(_minutes(figure.percentiles.get(q)) for q in PERCENTILES),
                figure.negative,
                figure.over_a_day,
            ]
            for figure in report.response_times
        ],
    )
    lines += ["", *_snapshot_text(report.snapshot, report.reference), ""]
    if report.warnings:
        lines.append(f"Zero or abnormal figures ({len(report.warnings)}):")
        lines += [f"  WARNING {text}" for text in report.warnings]
    else:
        lines.append("No zero or abnormal figures.")
    return "\n".join(lines) + "\n"


def _snapshot_text(snapshot: Snapshot | None, reference: dt.datetime) -> list[str]:
    if snapshot is None:
        return ["3. Agents by state: no agent-state snapshot"]
    age = reference - snapshot.observed_at
    relation = f"{_age(age)} before" if age >= dt.timedelta() else f"{_age(-age)} after"
    lines = [
        (
            f"3. Agents by state at the last snapshot, {_when(snapshot.observed_at)} "
            f"({relation} as-of): {snapshot.agents} agents"
        )
    ]
    names: dict[str, list[str]] = defaultdict(list)
    for (status_type, status_name), count in snapshot.by_name.items():
        names[status_type].append(f"{status_name} {count}")
    lines += _table(
        ["agents", "status_type", "status_name"],
        [[count, kind, ", ".join(names[kind])] for kind, count in snapshot.by_type.items()],
        left=(1, 2),
    )
    return lines


# ---- PNG -------------------------------------------------------------------------------------

_CHANNEL_COLOURS = {
    "Email": "#4C72B0",
    "Chat": "#55A868",
    "SMS": "#8172B2",
    "Phone": "#DD8452",
    "Social": "#DA8BC3",
    UNMAPPED: "#9A9A9A",
}
_STATE_COLOURS = {"available": "#55A868", "busy": "#DD8452", "unavailable": "#C44E52"}
_PERCENTILE_SHADES = {50: "#9ECAE1", 90: "#4292C6", 95: "#08519C"}


def render_png(report: Report, path: Path) -> None:
    """Draw the three figures and the warnings as one PNG (Agg: no display needed)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415
        from matplotlib.figure import Figure  # noqa: PLC0415 - only the report draws
    except ImportError as exc:
        msg = "matplotlib is not installed: pip install 'tap-kustomer[report]'"
        raise ReportError(msg) from exc
    notes = report.warnings or ["No zero or abnormal figures."]
    # A Figure on its own Agg canvas, not pyplot: no global backend state, no display.
    figure = Figure(figsize=(16, 11.5 + 0.28 * len(notes)), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    grid = figure.add_gridspec(3, 2, height_ratios=[4.2, 4.0, 0.6 + 0.28 * len(notes)])
    span = report.span
    figure.suptitle(
        f"Kustomer connection check: {report.source}\n"
        f"{span.first_day} to {span.last_day} ({len(span.days)} days, UTC), "
        f"as of {_when(report.reference)}",
        fontsize=15,
        fontweight="bold",
    )
    _draw_contacts(figure.add_subplot(grid[0, :]), report)
    _draw_response_times(figure.add_subplot(grid[1, 0]), report)
    _draw_agents(figure.add_subplot(grid[1, 1]), report)
    _draw_notes(figure.add_subplot(grid[2, :]), report.warnings, notes)
    try:
        figure.savefig(path, format="png")
    except OSError as exc:
        msg = f"cannot write {path}: {exc.strerror or exc}"
        raise ReportError(msg) from exc


def _colour(label: str, palette: dict[str, str], fallback: str = "#64B5CD") -> str:
    return palette.get(label, fallback)


def _draw_contacts(axes: Axes, report: Report) -> None:
    from matplotlib.ticker import MaxNLocator  # noqa: PLC0415 - only the report draws

    days = report.span.days
    positions = list(range(len(days)))
    bottom = [0] * len(days)
    # Every channel is drawn, so one with no contacts still shows in the legend as "(0)".
    for label, counts in report.contacts.items():
        axes.bar(
            positions,
            counts,
            bottom=bottom,
            label=f"{label} ({sum(counts)})",
            color=_colour(label, _CHANNEL_COLOURS),
            width=0.8,
        )
        bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
    step = max(1, len(days) // 15)
    axes.set_xticks(positions[::step], [day.strftime("%b %d") for day in days[::step]])
    axes.set_xlim(-0.6, len(days) - 0.4)
    axes.set_ylabel("contacts (tickets created)")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_title(
        f"1. Contacts per day by Assembled channel: {report.total_contacts} in the window",
        loc="left",
    )
    axes.grid(axis="y", alpha=0.3)
    axes.legend(title="channel (contacts)", loc="upper left", bbox_to_anchor=(1.005, 1.0))
    if not report.total_contacts:
        axes.set_ylim(0, 1)
        axes.text(
            0.5,
            0.5,
            "no contacts in the window",
            ha="center",
            va="center",
            transform=axes.transAxes,
            fontsize=14,
            color="#C44E52",
        )


def _draw_response_times(axes: Axes, report: Report) -> None:
    figures = report.response_times
    width = 0.8 / len(PERCENTILES)
    drawn = False
    for index, q in enumerate(PERCENTILES):
        xs = [n + (index - (len(PERCENTILES) - 1) / 2) * width for n in range(len(figures))]
        values = [figure.percentiles.get(q) for figure in figures]
        # A log axis shows chat seconds and email hours together; it cannot show zero or less.
        shown = [(x, v) for x, v in zip(xs, values, strict=True) if v is not None and v > 0]
        if shown:
            drawn = True
            bars = axes.bar(
                [x for x, _ in shown],
                [v for _, v in shown],
                width,
                label=f"p{q}",
                color=_PERCENTILE_SHADES[q],
            )
            axes.bar_label(
                bars, [_duration(v) for _, v in shown], fontsize=8, rotation=90, padding=2
            )
    for n, figure in enumerate(figures):
        lowest = min(figure.percentiles.values(), default=None)
        note = "no\nresponses" if lowest is None else "\u2264 0 min:\nnot drawn"
        if lowest is None or lowest <= 0:
            axes.text(
                n,
                0.04,
                note,
                ha="center",
                va="bottom",
                fontsize=8,
                color="#8B0000",
                transform=axes.get_xaxis_transform(),
            )
    axes.set_xticks(
        range(len(figures)),
        [f"{figure.channel}\nn={figure.responses}" for figure in figures],
    )
    axes.set_title("2. First-response time by channel (tickets created in the window)", loc="left")
    axes.set_ylabel("minutes (log scale)")
    if drawn:
        axes.set_yscale("log")
        low, high = axes.get_ylim()
        axes.set_ylim(low, high * 30)  # room for the value labels
        axes.legend(loc="upper left", ncols=3)
    else:
        axes.text(
            0.5,
            0.5,
            "no first responses in the window",
            ha="center",
            va="center",
            transform=axes.transAxes,
            fontsize=14,
            color="#C44E52",
        )
    axes.grid(axis="y", alpha=0.3)


def _draw_agents(axes: Axes, report: Report) -> None:
    from matplotlib.ticker import MaxNLocator  # noqa: PLC0415

    snapshot = report.snapshot
    if snapshot is None:
        axes.set_axis_off()
        axes.set_title("3. Agents by state", loc="left")
        axes.text(
            0.5,
            0.5,
            "no agent-state snapshot",
            ha="center",
            va="center",
            transform=axes.transAxes,
            fontsize=14,
            color="#C44E52",
        )
        return
    items = list(snapshot.by_name.items())
    labels = [f"{name}\n({kind})" for (kind, name), _ in items]
    counts = [count for _, count in items]
    colours = [_colour(kind, _STATE_COLOURS, "#9A9A9A") for (kind, _), _ in items]
    bars = axes.barh(range(len(items)), counts, color=colours)
    axes.bar_label(bars, [str(count) for count in counts], padding=3)
    axes.set_yticks(range(len(items)), labels)
    axes.invert_yaxis()
    axes.set_xlabel("agents")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlim(0, max(counts) * 1.15)
    by_type = ", ".join(f"{kind} {count}" for kind, count in snapshot.by_type.items())
    axes.set_title(
        f"3. Agents by state at {_when(snapshot.observed_at)}: {snapshot.agents} agents\n"
        f"({by_type})",
        loc="left",
    )
    axes.grid(axis="x", alpha=0.3)


def _draw_notes(axes: Axes, warnings: list[str], notes: list[str]) -> None:
    axes.set_axis_off()
    title = f"Zero or abnormal figures ({len(warnings)})" if warnings else "Checks"
    axes.set_title(title, loc="left", fontweight="bold", color="#C44E52" if warnings else "#2E7D32")
    text = "\n".join(f"\N{BULLET} {note}" for note in notes)
    axes.text(
        0.0,
        1.0,
        text,
        va="top",
        ha="left",
        transform=axes.transAxes,
        fontsize=11,
        color="#8B0000" if warnings else "#2E7D32",
        linespacing=1.5,
    )


# ---- command ---------------------------------------------------------------------------------


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        msg = f"expected YYYY-MM-DD, got {text!r}"
        raise argparse.ArgumentTypeError(msg) from exc


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        msg = f"expected a whole number of days, 1 or more, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tap-kustomer-report",
        description="Verify the Kustomer connection from what a Meltano run loaded into DuckDB: "
        "contacts per day by channel, first-response times, agents by state, and any zero or "
        "abnormal figures.",
    )
    parser.add_argument(
        "--duckdb",
        required=True,
        type=Path,
        metavar="PATH",
        help="the DuckDB file target-duckdb wrote",
    )
    parser.add_argument("--schema", default="kustomer", help="schema of the tables (kustomer)")
    parser.add_argument("--png", type=Path, metavar="PATH", help="also draw the report here")
    parser.add_argument("--days", type=_positive, default=30, help="days in the window (30)")
    parser.add_argument(
        "--as-of",
        type=_date,
        metavar="YYYY-MM-DD",
        help="last day of the window (default: today, UTC)",
    )
    return parser


def main(argv: list[str] | None = None) -> None:
    """Print the report (and draw it); exit 0 when it ran, 1 with one line when it could not."""
    args = _parser().parse_args(argv)
    now = dt.datetime.now(UTC)
    as_of = args.as_of or now.date()
    span = window(as_of, args.days)
    try:
        tickets, table, states = read_warehouse(args.duckdb, args.schema, span)
        report = build_report(
            tickets,
            states,
            span=span,
            reference=reference_time(as_of, now),
            source=f"{args.duckdb} (schema {args.schema})",
            table=table,
        )
        sys.stdout.write(render_text(report))
        if args.png:
            render_png(report, args.png)
            sys.stdout.write(f"\nChart: {args.png}\n")
    except ReportError as exc:
        sys.stderr.write(f"tap-kustomer-report: {exc}\n")
        sys.exit(1)
