"""The README's table of backfill time by org size, priced by the tap's own plan.

``tap-kustomer --plan`` prices an org from its search totals; this script gives the same
``tap_kustomer.plan.estimate`` made-up orgs, so the table cannot drift from the command.
Usage:

    python scripts/plan_table.py            # rewrite the table in README.md
    python scripts/plan_table.py --check    # exit 1 if README.md's table is stale
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

from tap_kustomer.plan import MINUTES_PER_DAY, Counts, PlanSettings, Volume, duration, estimate

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
BEGIN = "<!-- plan-table: written by scripts/plan_table.py -->"
END = "<!-- /plan-table -->"

CONVERSATIONS_A_DAY = (500, 2_000, 5_000, 20_000)
YEARS = 5
DAYS = 365 * YEARS
SEARCH_DAYS = 730  # the search horizon; older objects come from the archive search
MESSAGES_PER_CONVERSATION = 5
CUSTOMERS_PER_CONVERSATION = 0.5
NEEDS_MESSAGES_SHARE = 0.2
EVENTS_DAYS = 365  # the events_start_date column
STREAMS = ("conversations", "tickets", "conversation_events", "messages", "customers")
BUDGETS = (500, 1_000)
SEARCH_BUDGET = 50


def volume(per_day: float, days: int = DAYS) -> Volume:
    """Objects updated evenly over ``days``: the last two years by search, the rest archived."""
    return Volume(
        recent=per_day * min(days, SEARCH_DAYS),
        history=per_day * max(0, days - SEARCH_DAYS),
        first_run=per_day,
        day=per_day,
    )


def counts(per_day: int, events_days: int = DAYS) -> Counts:
    """A made-up org of ``per_day`` conversations a day."""
    return Counts(
        volumes={
            "conversation": volume(per_day),
            "message": volume(per_day * MESSAGES_PER_CONVERSATION),
            "customer": volume(per_day * CUSTOMERS_PER_CONVERSATION),
        },
        events=volume(per_day, events_days),
        needs_messages_share=NEEDS_MESSAGES_SHARE,
    )


def millions(value: float) -> str:
    """A count as ``9.1 M`` or ``912,500``."""
    return f"{value / 1e6:.1f} M" if value >= 1e6 else f"{value:,.0f}"  # noqa: PLR2004


def table() -> str:
    """The README's text between the markers: the table and what it assumes."""
    head = (
        "| Conversations a day | In 5 years | Requests (of them searches) | "
        + " | ".join(f"Backfill at {b:,}/min" for b in BUDGETS)
        + f" | At {BUDGETS[0]}/min, events for 1 year"
        + f" | Minute job's share of {BUDGETS[0]}/min and {SEARCH_BUDGET} searches/min |"
    )
    rows = [head, "|" + "---|" * (head.count("|") - 1)]
    for per_day in CONVERSATIONS_A_DAY:
        plans = [
            estimate(counts(per_day), PlanSettings(STREAMS, budget, SEARCH_BUDGET))
            for budget in BUDGETS
        ]
        short = estimate(
            counts(per_day, EVENTS_DAYS), PlanSettings(STREAMS, BUDGETS[0], SEARCH_BUDGET)
        )
        backfill, minute = plans[0].backfill, plans[0].minute
        cells = [
            f"{per_day:,}",
            millions(per_day * DAYS),
            f"{millions(backfill.requests)} ({millions(backfill.searches)})",
            *(duration(plan.backfill.minutes) for plan in plans),
            duration(short.backfill.minutes),
            (
                f"{minute.requests / minute.requests_per_minute:.0%}, "
                f"{minute.searches / minute.searches_per_minute:.0%}"
            ),
        ]
        rows.append("| " + " | ".join(cells) + " |")
    days = 9_000_000 / BUDGETS[0] / MINUTES_PER_DAY
    assumptions = (
        f"Assumed: the five search streams ({', '.join(STREAMS)}); objects last updated "
        f"evenly over {YEARS} years ({SEARCH_DAYS} days of them by search, the rest by the "
        f"archive search); {MESSAGES_PER_CONVERSATION} messages and "
        f"{CUSTOMERS_PER_CONVERSATION} customers per conversation; at most 100 events per "
        f"conversation (one request each); {NEEDS_MESSAGES_SHARE:.0%} of tickets need their "
        f"messages (one page); searches of 500 at {SEARCH_BUDGET} a minute. Events are the "
        f"cost: one request per conversation, so 9 M conversations take {days:.1f} days of "
        f"events requests at {BUDGETS[0]}/min, and `events_start_date` one year back saves "
        f"{1 - EVENTS_DAYS / DAYS:.0%} of them."
    )
    return "\n".join([*rows, "", textwrap.fill(assumptions, width=100)])


def rewritten(text: str) -> str:
    """``text`` with the table between the markers replaced."""
    before, found, rest = text.partition(BEGIN)
    _, ended, after = rest.partition(END)
    if not (found and ended):
        msg = f"{README.name} has no {BEGIN} ... {END} markers"
        raise SystemExit(msg)
    return f"{before}{BEGIN}\n{table()}\n{END}{after}"


def main() -> None:
    """Rewrite the table, or with --check compare it."""
    text = README.read_text()
    new = rewritten(text)
    if "--check" in sys.argv[1:]:
        if new != text:
            sys.exit("README.md's plan table is stale: run python scripts/plan_table.py")
        return
    README.write_text(new)
    print("wrote the plan table in README.md")


if __name__ == "__main__":
    main()
