"""A busy recent past (the demo's): ``recent_per_day`` more conversations on each of the last
``recent_days`` days, evenly over Assembled's channels and every channel on every day, and every
agent signed in, in every routing status.

A late step of the build, after issue 15's objects (only the custom attributes come after): an
org with a busy recent past is the same org plus these objects, which no note, KObject,
attachment or company link names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kustomer_api.seed.conversations import generate
from kustomer_api.seed.plans import Plan, shaped
from kustomer_api.seed.routing import work_session
from kustomer_api.seed.spec import DAY_MS, HOUR_MS, MINUTE_MS

if TYPE_CHECKING:
    from kustomer_api.seed.builder import Builder

# A staffed day's conversations are handled within hours: no first response takes a day.
_HANDLED_WITHIN_MS = 12 * HOUR_MS
# Each of Assembled's channels (Email, Chat, SMS, Phone, Social) gets about a fifth of them.
_CHANNELS = (
    ("email", 10),
    ("chat", 10),
    ("sms", 10),
    ("voice", 10),
    ("facebook", 2),
    ("twitter-dm", 2),
    ("twitter-tweet", 2),
    ("instagram", 2),
    ("whatsapp", 2),
    ("form", 1),
    ("video", 1),
)
_SIGNED_IN_TYPES = ("available", "busy", "unavailable")


def busy_days(b: Builder) -> None:
    days, per_day = b.spec.recent_days, b.spec.recent_per_day
    if not days or not per_day:
        return
    n_customers = max(1, days * per_day // 2)
    groups = []
    for day in range(days):
        latest = b.latest_ms - day * DAY_MS
        group = []
        for _ in range(per_day):
            created = b.between(latest - DAY_MS, latest)
            bound = min(b.end_ms, created + _HANDLED_WITHIN_MS)
            group.append(Plan(created, bound, b.rng.randrange(n_customers)))
        groups.append(group)
    # One group per day: shaped() puts every channel in each.
    generate(b, *shaped(b, groups, n_customers, _CHANNELS))
    _sign_in_everyone(b)


def _sign_in_everyone(b: Builder) -> None:
    """Agents without an active work session sign in, spread over every routing status."""
    sessions = b.streams["work_sessions"]
    active = {
        s["relationships"]["user"]["data"]["id"] for s in sessions if s["attributes"]["active"]
    }
    idle = [uid for uid in b.humans if uid not in active]
    statuses = tuple(((kind, sid), 1) for kind in _SIGNED_IN_TYPES for sid in b.status_ids[kind])
    for uid, (kind, status_id) in zip(idle, b.cover(len(idle), statuses), strict=True):
        signed_in = b.end_ms - b.between(10 * MINUTE_MS, 8 * HOUR_MS)
        sessions.append(work_session(b, uid, signed_in, None, kind, status_id))
