"""The report as one PNG: the three figures and the warnings, drawn with matplotlib.

matplotlib is imported only when a chart is drawn (the ``report`` extra).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tap_kustomer.report.figures import PERCENTILES, UNMAPPED, duration_text, when_text
from tap_kustomer.report.warehouse import INSTALL_HINT, ReportError

if TYPE_CHECKING:
    from pathlib import Path

    from matplotlib.axes import Axes

    from tap_kustomer.report.figures import Report

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
        msg = f"matplotlib is not installed: {INSTALL_HINT}"
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
        f"as of {when_text(report.reference)}",
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
                bars, [duration_text(v) for _, v in shown], fontsize=8, rotation=90, padding=2
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
        f"3. Agents by state at {when_text(snapshot.observed_at)}: {snapshot.agents} agents\n"
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
