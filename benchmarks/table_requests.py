"""The table's rows for figure 5: requests per 1,000 conversations, ours against the peer's."""

from __future__ import annotations

from typing import Any

from .common import REQUESTS_RATIO_TARGET, SHARED_STREAMS
from .table import EVENTS_ROUTE, MESSAGES_ROUTE, Rows, fmt, met, own_requests, ratio

VARIANTS = (
    ("ours", "same start_date 5 years back; ours in its default sync_mode full"),
    (
        "ours_in_horizon",
        (
            "ours from a start_date inside the 2-year search horizon, "
            "so without the list-endpoint history pass"
        ),
    ),
)


def requests_rows(results: dict[str, Any], rows: Rows, notes: list[str]) -> None:
    """Figure 5: totals for the streams both taps have, then a row per stream."""
    req = results["requests"]
    per_k = 1000 / req["conversations"]
    ours, in_horizon, peer = req["ours"], req["ours_in_horizon"], req.get("peer")
    peer_data = peer["data_requests"] if peer else {}
    finished = set(peer["finished"]) if peer else set(SHARED_STREAMS)
    compared = [s for s in SHARED_STREAMS if s in finished]
    # The peer checks its token before every request and once at start-up: each data
    # request costs two, both against the org's budget.
    peer_total = sum(peer_data.get(s, 0) for s in compared) * 2 + 1 if peer else None
    for key, label in VARIANTS:
        figures = req[key]
        if len(compared) == len(SHARED_STREAMS):
            total = figures["server_requests"]  # the run of all: exactly these streams
        else:
            total = sum(own_requests(figures, s) for s in compared)
        share = total / peer_total if peer_total else None
        off = (
            f"{share:.2f}, not ≤ {REQUESTS_RATIO_TARGET}"
            if share and share > REQUESTS_RATIO_TARGET
            else ""
        )
        peer_cell = (
            f"{peer_total * per_k:.1f} ({peer_total} requests, half of them token checks)"
            if peer_total
            else "not run"
        )
        rows.append(
            [
                (
                    f"5. Requests per 1,000 conversations, {' + '.join(compared)} "
                    f"({req['conversations']:,}-conversation org; {label})"
                ),
                f"{total * per_k:.1f} ({total} requests)",
                peer_cell,
                fmt(share, 2),
                "ours ≤ 1/2 the peer's",
                met(ok=bool(share and share <= REQUESTS_RATIO_TARGET), how=off),
            ]
        )
    for stream in SHARED_STREAMS:
        ours_n = own_requests(ours, stream)
        peer_n = peer_data.get(stream, 0) * 2 if peer else None
        if peer_n is None:
            peer_cell = "not run"
        elif stream in finished:
            peer_cell = f"{peer_n * per_k:.1f}"
        else:
            peer_cell = f"did not finish ({peer_n} requests)"
        rows.append(
            [
                (
                    f"5. · {stream} (records: ours {ours['records'].get(stream, 0):,}, "
                    f"peer {peer['records'].get(stream, 0) if peer else 0:,}; ours from the "
                    f"start_date inside the horizon: "
                    f"{own_requests(in_horizon, stream) * per_k:.1f})"
                ),
                f"{ours_n * per_k:.1f}",
                peer_cell,
                ratio(ours_n, peer_n) if stream in finished else "—",
                "—",
                "(breakdown)",
            ]
        )
    _ours_only_rows(results, rows)
    _requests_notes(req, notes)


def _ours_only_rows(results: dict[str, Any], rows: Rows) -> None:
    """conversation_events and tickets: their own requests in run 1 (the scan is shared)."""
    budget = results["budget"]
    conversations = budget["conversations"]
    for stream, route in (("conversation_events", EVENTS_ROUTE), ("tickets", MESSAGES_ROUTE)):
        count = budget["server_by_route"].get(route, 0)
        rows.append(
            [
                (
                    f"5. · {stream} (ours only; its `{route}` requests in run 1, "
                    f"{conversations:,} conversations; the conversation scan is shared)"
                ),
                f"{count * 1000 / conversations:.1f} ({count} requests)",
                "n/a (no such stream)",
                "—",
                "—",
                "(information)",
            ]
        )


def _requests_notes(req: dict[str, Any], notes: list[str]) -> None:
    ours, in_horizon, peer = req["ours"], req["ours_in_horizon"], req.get("peer")
    for key, figures in (("", ours), (" from inside the horizon", in_horizon)):
        summed = sum(own_requests(figures, s) for s in SHARED_STREAMS)
        if summed != figures["server_requests"]:
            notes.append(
                f"Requests{key}: the streams' own counts add up to {summed}, the run of all six "
                f"made {figures['server_requests']}."
            )
    if not peer:
        return
    data = sum(peer["data_requests"].values())
    adds_up = peer["server_requests"] == data + peer["token_checks"]
    adds_up = adds_up and peer["token_checks"] == data + 1
    notes.append(
        f"Requests: the peer's figure is its server-side total ({peer['server_requests']}: "
        f"{data} data requests + {peer['token_checks']} `GET /v1/users/current/` token "
        "checks, one before every request and one at start-up, as peers.md §3.3 says); per "
        "stream it is 2 x the data requests of its `http_request_duration` metrics"
        + ("" if adds_up else " (WARNING: these do not add up to the server's count)")
        + f". Ours: the server's count for the run of all six streams ({ours['server_requests']}"
        f"; with the start_date inside the horizon {in_horizon['server_requests']}); per stream, "
        "a run of the search stream alone (our search streams run side by side, so the tap's "
        "per-stream summary lines no longer split the requests), and the list route's count "
        "for users, teams and tags. The peer reads no deleted conversations, customers, users, "
        "teams or tags (no `includeDeleted`, no `deleted=true` pass) and emits a duplicate at "
        "every search page boundary; ours reads each directory list twice (as the API "
        f"defaults, and `deleted=true`). Against the peer's data requests alone ({data}), ours "
        f"are {ratio(ours['server_requests'], data)}x "
        f"({ratio(in_horizon['server_requests'], data)}x from inside the horizon)."
    )
