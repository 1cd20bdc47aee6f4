"""What to generate (``OrgSpec``), the streams of an org, and the time units of the builders."""

from __future__ import annotations

from dataclasses import dataclass

SECOND_MS = 1_000
MINUTE_MS = 60 * SECOND_MS
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
# Search only sees objects updated within this window (reference §4.1 "Data horizon").
SEARCH_HORIZON_DAYS = 730

STREAMS = (
    "conversations",
    "messages",
    "conversation_events",
    "customers",
    "work_sessions",
    "routing_statuses",
    "queues",
    "assistants",
    "tags",
    "teams",
    "users",
)
MUTABLE_STREAMS = ("conversations", "messages", "customers")


@dataclass(frozen=True)
class OrgSpec:
    """What to generate. With ``now`` set, the same spec always gives the same org."""

    seed: int = 7
    conversations: int = 3000
    history_days: int = 540
    tie_size: int = 0
    now: float | None = None  # epoch seconds; None means time.time() at build
    # Share of conversations (seeded pick) created and last updated before the 2-year search
    # horizon, with their messages and events; the rest are created within it. Needs
    # history_days >= SEARCH_HORIZON_DAYS + 2. None keeps the plain spread over history_days.
    old_fraction: float | None = None
    # A busy recent past on top of the org (the demo's): recent_per_day more conversations on
    # each of the last recent_days days, every channel every day, and every agent signed in.
    recent_days: int = 0
    recent_per_day: int = 0


def check(spec: OrgSpec) -> None:
    """Raise if the spec cannot be built."""
    if spec.conversations < 1 or spec.history_days < 1 or spec.tie_size < 0:
        msg = "conversations and history_days must be >= 1 and tie_size >= 0"
        raise ValueError(msg)
    if spec.old_fraction is not None:
        fraction = spec.old_fraction
        if isinstance(fraction, bool) or not isinstance(fraction, (int, float)):
            msg = f"old_fraction must be a number or None, got {fraction!r}"
            raise TypeError(msg)
        if not 0 <= fraction <= 1:
            msg = f"old_fraction must be within [0, 1], got {fraction!r}"
            raise ValueError(msg)
        if spec.history_days < SEARCH_HORIZON_DAYS + 2:
            msg = f"old_fraction needs history_days >= {SEARCH_HORIZON_DAYS + 2}"
            raise ValueError(msg)
    if spec.recent_days < 0 or spec.recent_per_day < 0:
        msg = "recent_days and recent_per_day must be >= 0"
        raise ValueError(msg)
    if spec.recent_days > spec.history_days:
        msg = "recent_days must be at most history_days"
        raise ValueError(msg)
