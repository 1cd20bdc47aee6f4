"""Crash safety: kill -9 in the middle of every stream and history pass, resumed each time.

Each kill must leave the killed stream's STATE with a position once it covers any of its
records, and the run that resumes from it must re-read no more than the overlap after that
position: with the position ignored (every run from start_date) nothing would be lost,
only read again.
"""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from conftest import (
    ALL_STREAMS,
    Attempt,
    Kill,
    cli_config,
    in_phase,
    run_each_kill,
    selected_catalog,
    unlimited_api,
)
from kustomer_api import OrgSpec
from test_faults import visible_truth

from tap_kustomer.position import POSITION_KEY
from tap_kustomer.records import parse_timestamp

pytestmark = pytest.mark.slow

# (stream, phase, record): every stream, the search and the archive pass of each search
# stream, in the order the tap syncs them (the catalog's). The SDK flushes output at each
# STATE, so a small stream's first record shows once it is done: its kill lands in the
# next stream of the same run.
PLAN = (
    ("agent_states", "any", 1),
    ("assistants", "any", 1),
    ("conversation_events", "search", 300),
    ("conversation_events", "history", 300),
    ("conversations", "search", 150),
    ("conversations", "history", 150),
    ("customers", "search", 105),
    ("customers", "history", 50),
    ("messages", "search", 300),
    ("messages", "history", 300),
    ("queues", "any", 1),
    ("routing_statuses", "any", 1),
    ("tags", "any", 1),
    ("teams", "any", 1),
    ("tickets", "search", 150),
    ("tickets", "history", 150),
    ("users", "any", 1),
    ("work_sessions", "any", 1),
)


# A full run reads what was updated from 760 to 700 days back both by search and by
# history (horizon_overlap_days 30 either side of 730): there a resumed run may read a
# record again whatever the position. A day wider for the minutes the runs take.
BAND_DAYS = (760 + 1, 700 - 1)


def test_kills_in_every_stream_and_history_pass_lose_no_record(tmp_path):
    # Half of 450 conversations (and their messages, customers) are older than the search
    # horizon, so every search stream has a history pass long enough to be killed in.
    # The org's limits out of reach: each run goes at the tap's own budget (cli_config's).
    spec = OrgSpec(seed=19, conversations=450, history_days=1500, old_fraction=0.5)
    with unlimited_api(spec) as api:
        config_path = cli_config(api, tmp_path, start_date="2020-01-01T00:00:00Z")
        catalog_path = selected_catalog(tmp_path, config_path, ALL_STREAMS)
        kills = [Kill(f"{s} {p} #{n}", in_phase(s, p, n)) for s, p, n in PLAN]
        attempts = run_each_kill(tmp_path, config_path, catalog_path, kills)
        landed = {kill.label: kill.records_seen for kill in kills}
        print(f"\ncrash suite: {len(kills)} kills in live runs, records seen at each: {landed}")
        records = {
            stream: {i for attempt in attempts for i in attempt.records(stream)}
            for stream in ALL_STREAMS
        }
        for stream in ALL_STREAMS:
            if stream == "agent_states":
                continue
            missing = set(visible_truth(api, stream)) - records.get(stream, set())
            assert not missing, f"{stream}: {len(missing)} missing after kills {landed}"
        assert records["agent_states"], "the final run's snapshot"
        now = dt.datetime.fromtimestamp(api.org.now_ms / 1000, tz=dt.timezone.utc)
    problems = []
    for (stream, phase, _), (killed, resumed) in zip(
        PLAN, itertools.pairwise(attempts), strict=False
    ):
        if phase != "any":
            covered = {}
            for earlier in attempts[: attempts.index(killed)]:
                covered |= earlier.records(stream)
            covered |= killed.records(stream, before_last_state=True)
            reread = {i: r for i, r in resumed.records(stream).items() if i in covered}
            problems += resumption_problems(killed, stream, phase, reread, now)
    assert not problems, "\n".join(problems)


def resumption_problems(
    killed: Attempt, stream: str, phase: str, reread: dict[str, dict], now: dt.datetime
) -> list[str]:
    """What is wrong with the position a kill left, and with what the next run read again.

    The killed stream's last STATE must hold a position once it covers any of the stream's
    records (in the history phase, the pass's own, unless the pass is done). The next run may read again only records at or after the
    position of their pass (search, or history before the band), or in the band both read.
    """
    label = killed.kill.label if killed.kill else "the last run"
    bookmarks = (killed.last_state() or {}).get("bookmarks", {})
    position = bookmarks.get(stream, {}).get(POSITION_KEY)
    if position is None:
        # Killed before the stream's first STATE: the next run starts it afresh, rightly.
        covered = len(killed.records(stream, before_last_state=True))
        if not covered:
            return []
        problem = (
            f"{label}: the last STATE holds no position for {stream} after {covered} of its "
            f"records were written before it (STATE bookmarks: {sorted(bookmarks)})"
        )
        return [problem]
    history = position["history"]
    # A pass of one page is done in the STATE that flushes its records, and the kill
    # lands after it: then the next run reads no history again.
    if phase == "history" and not history["done"] and history["source"] is None:
        return [f"{label}: {stream}'s STATE has no history position: {position}"]
    oldest, newest = (now - dt.timedelta(days=days) for days in BAND_DAYS)
    starts = {
        "search": position["search"]["resume_from"] if position["search"] else None,
        "history": (history["archive"] or {}).get("resume_from"),
    }
    before = []
    for record_id, record in reread.items():
        updated = parse_timestamp(record.get("conversation_updated_at") or record["updated_at"])
        if oldest <= updated <= newest:
            continue
        start = starts["search" if updated > newest else "history"]
        if start is None or updated < parse_timestamp(start):
            before.append(record_id)
    print(f"{label}: {len(reread)} records read again, {len(before)} before the position")
    if before:
        return [
            f"{label}: the next run read {len(before)} of {stream} again from before {position}"
        ]
    return []
