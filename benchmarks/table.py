"""The table's rows: each figure, ours against the peer, its target and whether it is met.

Each ``*_rows`` function adds its figure's rows and the notes printed under the table.
"""

from __future__ import annotations

import math
from typing import Any

from .common import (
    BUDGET_SHARE_TARGET,
    BUDGET_STREAMS,
    CPU_PEER_RATIO_TARGET,
    CPU_RECORDS_TARGET,
    FLAT_RATIO,
    HANDFUL_OF_429S,
    LATENCY_MS,
    LIST_ROUTE,
    ORG_RPM,
    OTHER_CONSUMER_RPM,
    RSS_TARGET_MB,
    TAP_MAX_SEARCH_RPM,
    TAP_RPM,
    TAP_SEARCH_RPM,
    WINDOW_SHARE_TARGET,
)

Rows = list[list[str]]
EVENTS_ROUTE = "GET /v1/conversations/{id}/events"
MESSAGES_ROUTE = "GET /v1/conversations/{id}/messages"


def fmt(value: float | None, digits: int = 0) -> str:
    """A number with thousands separators, or a dash."""
    if value is None or math.isnan(value):
        return "—"
    return f"{value:,.{digits}f}"


def ratio(ours: float | None, peer: float | None) -> str:
    """Ours over the peer's, or a dash."""
    if not ours or not peer:
        return "—"
    return f"{ours / peer:.2f}"


def met(*, ok: bool, how: str = "") -> str:
    """The verdict cell."""
    return ("**met**" if ok else "**missed**") + (f" ({how})" if how else "")


def budget_rows(results: dict[str, Any], rows: Rows, notes: list[str]) -> None:
    """Figure 1: budget use, the fullest window, 429s, and the conversation context's searches."""
    budget = results["budget"]
    busy = budget["timeline"]
    rpm = busy.get("busy_rpm")
    share = rpm / TAP_RPM * 100 if rpm else 0.0
    short = f"{BUDGET_SHARE_TARGET - share:.1f} points short" if share < BUDGET_SHARE_TARGET else ""
    setting = (
        f"{budget['conversations']:,} conversations; {', '.join(BUDGET_STREAMS)}; "
        f"{LATENCY_MS} ms latency; {TAP_RPM}/min and {TAP_SEARCH_RPM} searches/min"
    )
    n_a = "n/a: no per-conversation streams; its budget is a fixed 250/min limiter"
    rows.append(
        [
            f"1. Budget use: mean requests/min over the busy part ({setting})",
            f"{fmt(rpm)}/min = {share:.1f}% of {TAP_RPM}",
            n_a,
            "—",
            f"≥ {BUDGET_SHARE_TARGET:.0f}% of the budget",
            met(ok=share >= BUDGET_SHARE_TARGET, how=short),
        ]
    )
    org, search = busy.get("max_60s", 0), busy.get("max_60s_searches", 0)
    within = org <= TAP_RPM * WINDOW_SHARE_TARGET / 100
    within = within and search <= TAP_SEARCH_RPM * WINDOW_SHARE_TARGET / 100
    rows.append(
        [
            (
                "1. Budget use: the fullest sliding 60-second window (every request's arrival "
                "time in the local API's log)"
            ),
            (f"{org} of {TAP_RPM} = {org / TAP_RPM:.1%}; {search} of {TAP_SEARCH_RPM} searches"),
            "n/a",
            "—",
            f"≤ {WINDOW_SHARE_TARGET:.0f}% of either budget",
            met(ok=within),
        ]
    )
    rows.append(
        [
            "1. Budget use: 429s received",
            str(budget["rate_limited"]),
            "n/a",
            "—",
            "0",
            met(ok=budget["rate_limited"] == 0),
        ]
    )
    notes.append(
        f"Budget use: {busy.get('requests', 0):,} requests ({busy.get('searches', 0)} searches) "
        f"in a busy part of {fmt(busy.get('busy_seconds'))} s (first request "
        f"{fmt(busy.get('startup_seconds'), 1)} s after the tap started; tap wall time "
        f"{budget['run']['wall_seconds']:.0f} s; {TAP_RPM}/min itself needs "
        f"{busy.get('requests', 0) * 60 / TAP_RPM:.0f} s); slowest 60 s span "
        f"{fmt(busy.get('worst_60s_rpm'))}/min. Requests/min in 10-second bins: "
        + ", ".join(str(rate) for rate in busy.get("bins_10s_rpm", []))
        + ". By route: "
        + ", ".join(f"`{route}` {count}" for route, count in budget["server_by_route"].items())
        + ". Records: "
        + ", ".join(f"{s} {n:,}" for s, n in budget["run"]["records"].items())
        + "."
    )
    _scan_rows(results, rows, notes)


def _scan_rows(results: dict[str, Any], rows: Rows, notes: list[str]) -> None:
    scan, budget = results["scan"], results["budget"]
    one, context = scan["one_scan"]["server_searches"], scan["context"]["server_searches"]
    others = scan["messages"]["server_searches"] + scan["customers"]["server_searches"]
    in_run = budget["server_searches"] - others
    rows.append(
        [
            (
                "1. Searches of the conversation context: conversations + tickets + "
                f"conversation_events against conversations alone ({scan['conversations']:,}"
                "-conversation org, no latency; the local API counts searches, not their context)"
            ),
            (
                f"{context} (conversations alone: {one}; in run 1, less messages' and "
                f"customers': {in_run})"
            ),
            "n/a: no tickets or conversation_events",
            "—",
            "one scan's",
            met(ok=context == one == in_run),
        ]
    )
    notes.append(
        f"Searches: run 1 made {budget['server_searches']} searches; alone on its org, "
        f"messages make {scan['messages']['server_searches']} and customers "
        f"{scan['customers']['server_searches']}, which leaves {in_run} for the conversation "
        f"context; conversations alone make {one}, the three streams of the context {context} "
        "(search and archive search)."
    )


def shared_rows(results: dict[str, Any], rows: Rows, notes: list[str]) -> None:
    """Figure 2: another consumer on the same org budget."""
    shared = results["shared"]
    lost = shared["lost"]
    missing = sum(v["missing"] for v in lost.values())
    unexpected = sum(v["unexpected"] for v in lost.values())
    per_stream = ", ".join(f"{s} {v['emitted']:,}/{v['truth']:,}" for s, v in lost.items())
    rows.append(
        [
            (
                f"2. Shared budget (another consumer {OTHER_CONSUMER_RPM}/min of the org's "
                f"{ORG_RPM}): run completes"
            ),
            shared["run"]["outcome"],
            "n/a",
            "—",
            "completes",
            met(ok=shared["run"]["ok"]),
        ]
    )
    rows.append(
        [
            f"2. Shared budget: ids emitted vs /__admin/truth ({per_stream})",
            f"{missing} missing, {unexpected} unexpected",
            "n/a",
            "—",
            "nothing lost",
            met(ok=missing == 0),
        ]
    )
    rows.append(
        [
            "2. Shared budget: 429s received",
            str(shared["rate_limited"]),
            "n/a",
            "—",
            f"a handful (≤ {HANDFUL_OF_429S})",
            met(ok=shared["rate_limited"] <= HANDFUL_OF_429S),
        ]
    )
    busy = shared["timeline"]
    notes.append(
        f"Shared budget: our tap averaged {fmt(busy.get('busy_rpm'))}/min over a busy part of "
        f"{fmt(busy.get('busy_seconds'))} s while the other consumer spent "
        f"{fmt(busy.get('other_rpm'))}/min."
    )


def cpu_rows(results: dict[str, Any], rows: Rows, notes: list[str]) -> None:
    """Figure 3: records per CPU-second."""
    large = results["large"]
    ours, peer = large["ours"], large.get("peer")
    ours_rate = ours["total_records"] / ours["cpu_seconds"] if ours["cpu_seconds"] else None
    peer_ok = bool(peer and peer["ok"] and peer["cpu_seconds"])
    peer_rate = peer["total_records"] / peer["cpu_seconds"] if peer and peer_ok else None
    times = ours_rate / peer_rate if ours_rate and peer_rate else None
    how = []
    if ours_rate and ours_rate < CPU_RECORDS_TARGET:
        how.append(f"{ours_rate / CPU_RECORDS_TARGET:.0%} of {CPU_RECORDS_TARGET:,}")
    if times and times < CPU_PEER_RATIO_TARGET:
        how.append(f"{times:.2f}x the peer, not {CPU_PEER_RATIO_TARGET:.0f}x")
    ok = bool(ours_rate and ours_rate >= CPU_RECORDS_TARGET)
    ok = ok and bool(times and times >= CPU_PEER_RATIO_TARGET)
    if peer and peer_ok:
        peer_cell = (
            f"{fmt(peer_rate)} ({peer['total_records']:,} rec / {peer['cpu_seconds']:.1f} CPU-s)"
        )
    else:
        peer_cell = peer["outcome"] if peer else "not run"
    rows.append(
        [
            (
                f"3. CPU: records per CPU-second ({large['conversations']:,} conversations, "
                "conversations + messages; CPU of the whole tap process, start-up included)"
            ),
            f"{fmt(ours_rate)} ({ours['total_records']:,} rec / {ours['cpu_seconds']:.1f} CPU-s)",
            peer_cell,
            fmt(times, 2),
            f"≥ {CPU_RECORDS_TARGET:,} and ≥ {CPU_PEER_RATIO_TARGET:.0f}x the peer",
            met(ok=ok, how="; ".join(how)),
        ]
    )
    start = results["startup"]
    net = ours["cpu_seconds"] - start["cpu_seconds"]
    note = (
        f"CPU: our tap's start-up alone (`--about`) costs {start['cpu_seconds']:.2f} CPU-s; "
        f"without it {fmt(ours['total_records'] / net if net > 0 else None)} records per "
        f"CPU-second. Wall time: ours {ours['wall_seconds']:.0f} s (paced at "
        f"{TAP_MAX_SEARCH_RPM} searches/min)"
    )
    if peer:
        note += (
            f", the peer {peer['wall_seconds']:.0f} s (its own limiter). Records: ours "
            f"{ours['total_records']:,}, the peer {peer['total_records']:,} ("
            + ", ".join(
                f"{s}: {v['missing']:,} missing, {v['duplicates']:,} duplicates"
                for s, v in peer["lost"].items()
            )
            + "; it does not ask search for deleted objects)"
        )
    notes.append(note + ".")


def memory_rows(results: dict[str, Any], rows: Rows, _notes: list[str]) -> None:
    """Figure 4: peak RSS on a small and a large org."""
    small, large = results["small"], results["large"]
    so, sp = small["ours"], small.get("peer")
    lo, lp = large["ours"], large.get("peer")
    growth = lo["peak_rss_mb"] / so["peak_rss_mb"]
    label = "4. Memory: peak RSS, {:,} conversations (conversations + messages)"
    rows.append(
        [
            label.format(small["conversations"]),
            f"{so['peak_rss_mb']:.0f} MB",
            f"{sp['peak_rss_mb']:.0f} MB" if sp else "not run",
            ratio(so["peak_rss_mb"], sp["peak_rss_mb"] if sp else None),
            f"< {RSS_TARGET_MB} MB",
            met(ok=so["peak_rss_mb"] < RSS_TARGET_MB),
        ]
    )
    peer_cell = "not run"
    if lp and sp:
        peer_cell = (
            f"{lp['peak_rss_mb']:.0f} MB ({lp['peak_rss_mb'] / sp['peak_rss_mb']:.2f}x the small)"
        )
    rows.append(
        [
            label.format(large["conversations"]),
            f"{lo['peak_rss_mb']:.0f} MB ({growth:.2f}x the small org)",
            peer_cell,
            ratio(lo["peak_rss_mb"], lp["peak_rss_mb"] if lp else None),
            f"< {RSS_TARGET_MB} MB and flat (≤ {FLAT_RATIO}x the small org)",
            met(ok=lo["peak_rss_mb"] < RSS_TARGET_MB and growth <= FLAT_RATIO),
        ]
    )


def own_requests(figures: dict[str, Any], stream: str) -> int:
    """Our requests for one stream: its run alone (search), or its list route's count."""
    if stream in figures["alone"]:
        return int(figures["alone"][stream])
    return int(figures["server_by_route"].get(LIST_ROUTE[stream], 0))
