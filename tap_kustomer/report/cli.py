"""``tap-kustomer-report``: read the warehouse, compute the figures, print and draw them."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from tap_kustomer.report.chart import render_png
from tap_kustomer.report.figures import build_report, reference_time
from tap_kustomer.report.text import render_text
from tap_kustomer.report.warehouse import UTC, ReportError, read_warehouse, window


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
