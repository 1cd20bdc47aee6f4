"""The report as terminal text: the three figures as plain tables, then the warnings."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import TYPE_CHECKING

from tap_kustomer.report.figures import PERCENTILES, age_text, when_text

if TYPE_CHECKING:
    from collections.abc import Container, Iterable, Sequence

    from tap_kustomer.report.figures import Report, Snapshot


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
        f"  as of:     {when_text(report.reference)}",
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
    relation = f"{age_text(age)} before" if age >= dt.timedelta() else f"{age_text(-age)} after"
    lines = [
        (
            f"3. Agents by state at the last snapshot, {when_text(snapshot.observed_at)} "
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
