"""Reading the warehouse: the rows of ``tickets`` and ``agent_states`` the report uses.

duckdb is imported only when a file is read (the ``report`` extra), so the rows and the window
are usable, and the figures testable, without it.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from duckdb import DuckDBPyConnection

TICKET_COLUMNS = ("id", "created_at", "updated_at", "channel", "first_response_duration")
AGENT_COLUMNS = ("user_id", "observed_at", "status_type", "status_name")
UTC = dt.timezone.utc
# For the warehouse's and the chart's missing-module errors. "tap-kustomer" on PyPI is
# singer-io's tap; this one is published as wfm-labs-tap-kustomer.
INSTALL_HINT = "pip install 'wfm-labs-tap-kustomer[report]'"


class ReportError(Exception):
    """The report cannot be made: the command says why in one line and exits 1."""


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
class TicketTable:
    """The whole ``tickets`` table, beyond the window: says why a window can be empty."""

    rows: int
    newest: dt.datetime | None


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
        msg = f"duckdb is not installed: {INSTALL_HINT}"
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
