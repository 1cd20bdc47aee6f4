"""``tap-kustomer-report``: the integration document's "verify the connection" check.

Assembled asks to check two views after connecting Kustomer (the realtime dashboard: agent
states and contacts; the staffing timeline: contacts) and to call support "if either of these
display zero or abnormal numbers". This command computes the same figures from what a Meltano
run loaded into DuckDB (``tickets`` and ``agent_states``), prints them, draws them as one PNG and
says in words which figures are zero or abnormal.

Data flows one way: ``warehouse`` reads the rows, ``figures`` computes the figures and warnings
from them, ``text`` and ``chart`` render a report, and ``cli`` wires them together. The figures
are pure functions of rows (``Ticket``, ``AgentState``), so they are tested without DuckDB;
duckdb and matplotlib are imported only where they are used (the ``report`` extra), so the tap
itself never needs them.
"""

from __future__ import annotations

from tap_kustomer.report.chart import render_png
from tap_kustomer.report.cli import main
from tap_kustomer.report.figures import (
    CHANNELS,
    PERCENTILES,
    Report,
    build_report,
    contacts_per_day,
    last_snapshot,
    percentile,
    reference_time,
    response_times,
)
from tap_kustomer.report.text import render_text
from tap_kustomer.report.warehouse import (
    AgentState,
    ReportError,
    Ticket,
    TicketTable,
    read_warehouse,
    to_utc,
    window,
)

__all__ = [
    "CHANNELS",
    "PERCENTILES",
    "AgentState",
    "Report",
    "ReportError",
    "Ticket",
    "TicketTable",
    "build_report",
    "contacts_per_day",
    "last_snapshot",
    "main",
    "percentile",
    "read_warehouse",
    "reference_time",
    "render_png",
    "render_text",
    "response_times",
    "to_utc",
    "window",
]
