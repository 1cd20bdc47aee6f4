"""Conversation plans: what each conversation will be (times, channel, shape, status) before
its objects are generated."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kustomer_api.seed.customers import planned_customers
from kustomer_api.seed.messages import PRIMARY_CHANNELS
from kustomer_api.seed.spec import HOUR_MS

if TYPE_CHECKING:
    from kustomer_api.seed.builder import Builder

# (direction, firstResponse scenario) pairs, so that every combination a tap must handle exists.
# "replied": a response-out message exists, "none": it does not; the part after ":" is the
# firstResponse shape. "out-only" conversations have outbound messages only (no firstMessageIn).
_SCENARIOS = (
    (("in", "full"), 53),
    (("out", "full"), 9),
    (("in", "replied:absent"), 3),
    (("in", "replied:null"), 3),
    (("in", "replied:{}"), 3),
    (("in", "replied:arrays"), 5),
    (("out", "replied:arrays"), 1),
    (("in", "none:absent"), 3),
    (("in", "none:null"), 3),
    (("in", "none:{}"), 3),
    (("in", "none:arrays"), 10),
    (("out", "none:arrays"), 2),
    (("out-only", "none:arrays"), 1),
    (("out-only", "none:absent"), 1),
)
_EMPTY_SHAPES = ("absent", "null", "{}", "arrays")
_STATUSES = (("open", 30), ("snoozed", 8), ("done", 56), (None, 3), ("pending", 3))


@dataclass
class Plan:
    """The choices made for one conversation before its objects are generated."""

    created: int
    bound: int  # nothing of this conversation happens after this instant
    customer: int
    tied: bool = False
    old: bool = False  # everything of it stays before the search horizon
    has_messages: bool = True
    channel: str = "email"
    direction: str = "in"
    first_response: str = "full"
    outbound_only: bool = False
    multi_channel: bool = False
    big_events: bool = False
    status: str | None = "open"
    recency: str = "normal"
    deleted: bool = False
    id: str = ""
    extra: dict = field(default_factory=dict)


def over_history(b: Builder) -> tuple[list[dict], list[Plan]]:
    """The org's conversations over its whole history, with their customers."""
    n = b.spec.conversations
    tied = set(b.rng.sample(range(n), min(b.spec.tie_size, n)))
    old = _old_conversations(b, n, tied)
    # Without old_fraction, conversations spread over the whole history as they always did.
    earliest = b.start_ms if b.spec.old_fraction is None else b.new_from_ms
    plans = []
    n_customers = max(1, n // 2)
    for i in range(n):
        if i in tied:
            created = b.between(earliest, b.conversation_tie_ms - HOUR_MS)
            plan = Plan(created, b.conversation_tie_ms, b.rng.randrange(n_customers))
            plan.tied = True
        elif i in old:
            created = b.between(b.start_ms, b.old_bound_ms - HOUR_MS)
            plan = Plan(created, b.old_bound_ms, b.rng.randrange(n_customers))
            plan.old = True
        else:
            created = b.between(earliest, b.latest_ms)
            plan = Plan(created, b.end_ms, b.rng.randrange(n_customers))
        plans.append(plan)
    return shaped(b, [plans], n_customers)


def _old_conversations(b: Builder, n: int, tied: set[int]) -> set[int]:
    """Indexes of the conversations kept before the horizon (none without old_fraction)."""
    if b.spec.old_fraction is None:
        return set()
    candidates = [i for i in range(n) if i not in tied]
    count = min(round(b.spec.old_fraction * n), len(candidates))
    return set(b.rng.sample(candidates, count))


def shaped(
    b: Builder,
    groups: list[list[Plan]],
    n_customers: int,
    channels: tuple[tuple[str, int], ...] = PRIMARY_CHANNELS,
) -> tuple[list[dict], list[Plan]]:
    """Every plan of ``groups`` given its shape, customer and id; every one of the weighted
    ``channels`` appears in each group. Returns the planned customers and the plans."""
    plans = [plan for group in groups for plan in group]
    n = len(plans)
    for plan, has in zip(plans, b.cover(n, ((True, 99), (False, 1))), strict=True):
        plan.has_messages = has
    with_messages = [p for p in plans if p.has_messages]
    m = len(with_messages)
    for group in groups:
        talking = [p for p in group if p.has_messages]
        for plan, channel in zip(talking, b.cover(len(talking), channels), strict=True):
            plan.channel = channel
    for plan, value in zip(with_messages, b.cover(m, ((False, 85), (True, 15))), strict=True):
        plan.multi_channel = value
    for plan, (direction, first_response) in zip(
        with_messages, b.cover(m, _SCENARIOS), strict=True
    ):
        plan.direction = "out" if direction.startswith("out") else "in"
        plan.outbound_only = direction == "out-only"
        plan.first_response = first_response
    for plan in plans:
        if not plan.has_messages:
            plan.channel = ""
            plan.first_response = "none:" + b.rng.choice(_EMPTY_SHAPES)
    big = b.cover(m, ((True, 1), (False, 99))) if m >= 20 else [False] * m
    for plan, value in zip(with_messages, big, strict=True):
        plan.big_events = value
    for plan, status in zip(plans, b.cover(n, _STATUSES), strict=True):
        plan.status = status
    free = [p for p in plans if not p.tied]
    # Old conversations keep "normal" recency: a recent update would cross the horizon.
    fresh = [p for p in free if not p.old]
    recency = (("normal", 88), ("reopened", 10), ("recent", 2))
    for plan, value in zip(fresh, b.cover(len(fresh), recency), strict=True):
        plan.recency = value
    for plan, value in zip(free, b.cover(len(free), ((False, 98), (True, 2))), strict=True):
        plan.deleted = value
    customers = planned_customers(b, plans, n_customers)
    for plan in plans:
        plan.id = b.oid(plan.created)
        if plan.old:
            b.old_ids.add(plan.id)
    return customers, plans
