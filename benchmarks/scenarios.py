"""What each scenario runs: which org, which taps with which streams and budgets, what it keeps."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .common import (
    BUDGET_STREAMS,
    CONVERSATION_CONTEXT,
    CPU_STREAMS,
    HISTORY_DAYS,
    LATENCY_MS,
    ONE_SCAN,
    ORG_RPM,
    OTHER_CONSUMER_RPM,
    SEARCH_RPM,
    SEARCH_STREAMS,
    SHARED_STREAMS,
    TAP_MAX_RPM,
    TAP_MAX_SEARCH_RPM,
    TAP_RPM,
    TAP_SEARCH_RPM,
    Mode,
    log,
    start_date,
)
from .measurement import RequestTimeline, lost_records
from .runner import LocalApi, OurTap, PeerTap, Run

if TYPE_CHECKING:
    from collections.abc import Callable

MAX_BUDGETS = {
    "max_requests_per_minute": TAP_MAX_RPM,
    "max_search_requests_per_minute": TAP_MAX_SEARCH_RPM,
}


def _server_figures(api: LocalApi) -> dict[str, Any]:
    """The server's counts since its last reset."""
    stats = api.stats()
    return {
        "server_requests": stats["requests"],
        "server_searches": stats["search_requests"],
        "server_by_route": stats["by_route"],
        "rate_limited": stats["rate_limited"],
    }


def _ours(  # noqa: PLR0913 - the options after * are keyword-only
    ours: OurTap,
    label: str,
    api: LocalApi,
    streams: tuple[str, ...],
    *,
    settings: dict[str, Any],
    timeout: float,
    on_poll: Callable[[], None] | None = None,
) -> tuple[Run, dict[str, Any]]:
    """One run of our tap from freshly reset counters: the run and its figures."""
    api.reset_stats()
    run = ours.run(label, api, streams, settings=settings, timeout=timeout, on_poll=on_poll)
    return run, {**run.summary(), **_server_figures(api), "settings": settings}


def budget_scenario(mode: Mode, ours: OurTap, *, shared: bool) -> dict[str, Any]:
    """Scenarios 1 and 2: the request rate reached, its fullest window, 429s, records lost."""
    name = "shared" if shared else "budget"
    conversations = mode.budget_conversations
    other = OTHER_CONSUMER_RPM if shared else 0
    log(
        f"scenario {name}: {conversations} conversations, {LATENCY_MS} ms latency, "
        f"org {ORG_RPM}/min, search {SEARCH_RPM}/min, another consumer {other}/min, "
        f"{', '.join(BUDGET_STREAMS)}"
    )
    server = LocalApi(
        name,
        conversations=conversations,
        limits=(ORG_RPM, SEARCH_RPM),
        latency_ms=LATENCY_MS,
        other_consumer_rpm=other,
    )
    settings = {
        "start_date": start_date(),
        "max_requests_per_minute": TAP_RPM,
        "max_search_requests_per_minute": TAP_SEARCH_RPM,
    }
    with server as api:
        api.reset_stats()
        timeline = RequestTimeline(api)
        run = ours.run(
            f"{name}-ours",
            api,
            BUDGET_STREAMS,
            settings=settings,
            timeout=mode.budget_timeout,
            on_poll=timeline.poll,
        )
        result = {
            "server": api.command,
            "conversations": conversations,
            "run": run.summary(),
            "timeline": timeline.busy(),
            # (seconds since the tap was spawned, requests, 429s, other consumer's, searches)
            "timeline_samples": timeline.relative(),
            **_server_figures(api),
            "lost": lost_records(api, run, BUDGET_STREAMS),
        }
    busy = result["timeline"]
    log(
        f"  {run.outcome()}: {result['server_requests']} requests, "
        f"{result['rate_limited']} x 429, {busy.get('busy_rpm', 0):.0f}/min over the busy part, "
        f"fullest 60 s window {busy.get('max_60s', 0)}"
    )
    return result


def scan_scenario(mode: Mode, ours: OurTap) -> dict[str, Any]:
    """The searches of the conversation context: its three streams against one scan alone.

    The local API counts searches, not their ``queryContext``, so the same org as scenario 1
    (no latency, limits 10^7) is synced with conversations alone (one scan), with the three
    streams of the conversation context, and with messages and customers alone; the last two
    take the other contexts' searches out of scenario 1's count.
    """
    conversations = mode.budget_conversations
    log(f"scenario scan: {conversations} conversations, no latency, server limits 10^7")
    runs = {
        "one_scan": ONE_SCAN,
        "context": CONVERSATION_CONTEXT,
        "messages": ("messages",),
        "customers": ("customers",),
    }
    result: dict[str, Any] = {"conversations": conversations}
    with LocalApi("scan", conversations=conversations) as api:
        result["server"] = api.command
        settings = {"start_date": start_date(), **MAX_BUDGETS}
        for key, streams in runs.items():
            run, figures = _ours(
                ours, f"scan-{key}", api, streams, settings=settings, timeout=mode.run_timeout
            )
            result[key] = {"streams": list(streams), **figures}
            log(f"  {key}: {run.outcome()}, {figures['server_searches']} searches")
    return result


def cpu_memory_scenario(
    mode: Mode, taps: tuple[OurTap, PeerTap], conversations: int, name: str
) -> dict[str, Any]:
    """Scenarios 3 and 4: CPU-seconds and peak RSS of both taps on one org."""
    ours, peer = taps
    log(
        f"scenario {name}: {conversations} conversations, no latency, server limits 10^7, "
        "conversations + messages"
    )
    result: dict[str, Any] = {"conversations": conversations}
    with LocalApi(name, conversations=conversations) as api:
        result["server"] = api.command
        api.reset_stats()
        settings = {"start_date": start_date(), **MAX_BUDGETS}
        runs = {
            "ours": ours.run(
                f"{name}-ours", api, CPU_STREAMS, settings=settings, timeout=mode.run_timeout
            )
        }
        result["ours"] = _cpu_memory_summary(api, runs["ours"])
        if peer.available():
            api.reset_stats()
            runs["peer"] = peer.run(f"{name}-peer", api, CPU_STREAMS, timeout=mode.run_timeout)
            result["peer"] = _cpu_memory_summary(api, runs["peer"])
    for key, run in runs.items():
        log(
            f"  {key}: {run.outcome()}, {run.total_records} records, "
            f"{run.cpu_seconds:.1f} CPU-s, {run.peak_rss_mb:.0f} MB peak"
        )
    return result


def _cpu_memory_summary(api: LocalApi, run: Run) -> dict[str, Any]:
    summary = run.summary()
    summary["server_requests"] = api.stats()["requests"]
    summary["lost"] = lost_records(api, run, CPU_STREAMS)
    return summary


def requests_scenario(mode: Mode, ours: OurTap, peer: PeerTap) -> dict[str, Any]:
    """Scenario 5: requests of each tap for the streams both have, on one org.

    Our search streams run side by side, so a stream's own requests are measured by a run
    of it alone; the directory streams' are their list route's count in the run of all.
    """
    conversations = mode.requests_conversations
    log(
        f"scenario requests: {conversations} conversations, no latency, server limits 10^7, "
        f"{', '.join(SHARED_STREAMS)}"
    )
    result: dict[str, Any] = {"conversations": conversations}
    variants = {
        # Both taps with the same start_date, 5 years back; ours in its default sync_mode
        # full, which probes the list endpoints for history older than search can see.
        "ours": {"start_date": start_date(), **MAX_BUDGETS},
        # The same org from a start_date inside the 2-year horizon: no history pass.
        "ours_in_horizon": {"start_date": start_date(HISTORY_DAYS + 20), **MAX_BUDGETS},
    }
    with LocalApi("requests", conversations=conversations) as api:
        result["server"] = api.command
        for key, settings in variants.items():
            run, figures = _ours(
                ours,
                f"requests-{key}",
                api,
                SHARED_STREAMS,
                settings=settings,
                timeout=mode.run_timeout,
            )
            alone = {}
            for stream in SEARCH_STREAMS:
                _, own = _ours(
                    ours,
                    f"requests-{key}-{stream}",
                    api,
                    (stream,),
                    settings=settings,
                    timeout=mode.run_timeout,
                )
                alone[stream] = own["server_requests"]
            result[key] = {**figures, "alone": alone}
            log(f"  {key}: {run.outcome()}, {figures['server_requests']} requests; alone {alone}")
        if peer.available():
            api.reset_stats()
            prun = peer.run("requests-peer", api, SHARED_STREAMS, timeout=mode.run_timeout)
            figures = _server_figures(api)
            result["peer"] = {
                **prun.summary(),
                **figures,
                "data_requests": PeerTap.stream_requests(prun),
                "token_checks": figures["server_by_route"].get("GET /v1/users/current", 0),
                "finished": PeerTap.finished_streams(prun),
            }
            log(f"  peer: {prun.outcome()}, {figures['server_requests']} requests")
    return result
