"""The backfill plan: its estimate against the requests a run really makes, and its command."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import pytest
from conftest import (
    ROOT,
    catalog_for,
    cli_config,
    run_cli,
    run_tap,
    select_streams,
    unlimited_api,
    write_json,
)
from kustomer_api import OrgSpec

from tap_kustomer.plan import (
    Counts,
    PlanSettings,
    Volume,
    duration,
    estimate,
    number,
    percent,
    render,
    scan_searches,
)
from tap_kustomer.plan_api import _last_page, measure, select
from tap_kustomer.tap import TapKustomer

# Every search stream: the backfill and minute jobs' streams.
SEARCH_STREAMS = (
    "conversations",
    "tickets",
    "conversation_events",
    "messages",
    "attachments",
    "customers",
    "companies",
    "notes",
    "kobjects",
)
# Changed in the last 24 hours: the minute job's volume.
CHANGED_TODAY = {
    "conversations": 200,
    "messages": 400,
    "customers": 100,
    "companies": 20,
    "notes": 50,
    "kobjects": 30,
}


@pytest.fixture(scope="module")
def api():
    # Half of 1,000 conversations (their messages, events and customers) last updated more
    # than two years ago: the backfill reads both search and the archive search. Some
    # messages carry files.
    spec = OrgSpec(
        seed=23, conversations=1000, history_days=1500, old_fraction=0.5, object_links=True
    )
    with unlimited_api(spec) as server:
        for stream, count in CHANGED_TODAY.items():
            server.mutate(stream, count)
        yield server


@pytest.fixture(scope="module")
def config(api):
    start = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1502)
    return {
        "api_token": api.token,
        "api_url": api.base_url,
        "start_date": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def plan_of(config, streams):
    tap = TapKustomer(config=config, catalog=catalog_for(config, streams))
    return estimate(*measure(tap))


def measured_run(api, config, streams):
    api.reset_stats()
    run_tap(config, streams=streams)
    return api.stats()


@pytest.mark.slow
def test_the_backfill_estimate_is_within_10_percent_of_the_run(api, config, unpaced):
    plan = plan_of(config, SEARCH_STREAMS)
    stats = measured_run(api, config, SEARCH_STREAMS)
    estimated, actual = plan.backfill.requests, stats["requests"]
    summary = f"estimated {estimated:.0f}, made {actual}: {stats['by_route']}"
    print(f"backfill: {summary}")
    assert plan.backfill.complete
    assert abs(estimated - actual) <= 0.1 * actual, summary
    # It is the history that the archive search serves that makes this org's backfill.
    assert stats["by_route"]["POST /v1/customers/archive/search"] > 3


def test_the_minute_job_estimate_is_within_10_percent_of_its_run(api, config, unpaced):
    incremental = {**config, "sync_mode": "incremental"}
    plan = plan_of(incremental, SEARCH_STREAMS)
    stats = measured_run(api, incremental, SEARCH_STREAMS)
    # The minute job's first run reads incremental_lookback_hours (24) back: today's volume.
    estimated, actual = plan.first_run.requests, stats["requests"]
    summary = f"estimated {estimated:.0f}, made {actual}: {stats['by_route']}"
    print(f"minute job: {summary}")
    assert abs(estimated - actual) <= 0.1 * actual, summary
    today = {c.stream: c.objects for c in plan.first_run.streams}
    for stream, changed in CHANGED_TODAY.items():
        assert today[stream] >= changed, stream


def test_a_refused_archive_search_makes_the_history_cost_unknown(api, config, unpaced):
    api.configure(archive_search="forbidden")
    try:
        plan = plan_of(config, ("conversations", "users"))
    finally:
        api.configure(archive_search="on")
    assert not plan.backfill.complete
    conversations = plan.backfill.streams[0]
    assert conversations.objects is None
    assert "history cost unknown: the archive search answered 403" in conversations.note
    assert "at least" in render(plan)
    assert plan.first_run.complete


def test_a_refused_undocumented_pass_costs_its_one_request_and_is_named(api, config, unpaced):
    api.configure(undocumented_params="rejected")
    try:
        plan = plan_of(config, ("tags", "users"))
    finally:
        api.configure(undocumented_params="accepted")
    by_stream = {cost.stream: cost for cost in plan.backfill.streams}
    assert "GET /v1/tags refused deleted: that pass is dropped" in by_stream["tags"].note
    assert by_stream["users"].note == ""  # deleted=true is documented on users
    assert plan.backfill.complete


def test_the_command_prints_the_plan_and_exits_0(api, tmp_path):
    config = cli_config(api, tmp_path, start_date="2022-01-01T00:00:00Z")
    discovered = TapKustomer(config=json.loads(config.read_text())).catalog_dict
    catalog = write_json(
        tmp_path / "catalog.json", select_streams(discovered, ["tickets", "users"])
    )
    api.reset_stats()
    result = run_cli(["--config", str(config), "--catalog", str(catalog), "--plan"])
    assert result.returncode == 0, result.stderr
    print(result.stdout)
    out = result.stdout
    assert "Backfill (sync_mode full, from start_date)" in out
    assert "Minute job, first run" in out
    assert "Budget assumed: 2,000 requests/min, of them at most 100 searches/min" in out
    rows = {line.split()[0] for line in out.splitlines() if line.startswith("  ")}
    assert {"tickets", "users", "total"} <= rows
    assert "conversations" not in rows
    assert '"type"' not in out, "no Singer message"
    assert api.stats()["requests"] <= 10


def test_meltano_invoke_plans_the_streams_its_select_rules_pick(api, tmp_path):
    # `meltano invoke <extractor> --plan` passes no catalog, only the rules in the environment.
    config = cli_config(api, tmp_path, start_date="2022-01-01T00:00:00Z")
    rules = '["customers.*", "tag*.*", "!tags.*", "teams.name"]'
    result = run_cli(["--config", str(config), "--plan"], env={"MELTANO_EXTRACT__SELECT": rules})
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0] for line in result.stdout.splitlines() if line.startswith("  ")}
    assert rows == {"stream", "customers", "teams", "total", "wall", "uses"}


@pytest.mark.parametrize(
    ("rules", "chosen"),
    [
        (["*.*"], {"conversations", "users", "tags"}),
        (["conv*.*", "users.id"], {"conversations", "users"}),
        (["*.*", "!users.*", "!tags.id"], {"conversations", "tags"}),
        ([], set()),
    ],
)
def test_meltano_select_rules(rules, chosen):
    catalog = {
        "streams": [
            {"tap_stream_id": name, "metadata": [{"breadcrumb": [], "metadata": {}}]}
            for name in ("conversations", "users", "tags")
        ]
    }
    selected = select(catalog, rules)
    assert {
        entry["tap_stream_id"]
        for entry in selected["streams"]
        if entry["metadata"][0]["metadata"]["selected"]
    } == chosen


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"api_url": "http://127.0.0.1:9"}, "api_token"),
        ({"api_token": "t", "start_date": "yesterday"}, "start_date 'yesterday'"),
    ],
)
def test_bad_settings_stop_the_plan_in_one_line(tmp_path, config, message):
    result = run_cli(["--config", str(write_json(tmp_path / "c.json", config)), "--plan"])
    assert result.returncode == 1
    failures = [line for line in result.stderr.splitlines() if "tap-kustomer failed" in line]
    assert len(failures) == 1
    assert message in failures[0]
    assert not result.stdout


def test_the_readme_table_is_generated_by_the_plan():
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "plan_table.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


# ---- the pure estimate -----------------------------------------------------------------


def volume(recent, history=0, first_run=0, day=0, note=""):
    return Volume(recent, history, first_run, day, note)


def cost(run, stream):
    return next(c for c in run.streams if c.stream == stream)


def test_a_scan_costs_one_search_per_page_and_one_more():
    assert [scan_searches(n, 500) for n in (0, 499, 500, 1000, 1001)] == [1, 1, 2, 3, 3]


def test_one_conversation_scan_feeds_the_three_conversation_streams():
    counts = Counts(
        volumes={"conversation": volume(1000, 2000)},
        needs_messages_share=0.25,
        message_pages=2,
        event_pages=1.5,
    )
    streams = ("conversations", "tickets", "conversation_events")
    run = estimate(counts, PlanSettings(streams=streams)).backfill
    assert run.searches == scan_searches(1000, 500) + scan_searches(2000, 500) == 8
    assert cost(run, "conversations").searches == 8
    assert cost(run, "tickets").searches == cost(run, "conversation_events").searches == 0
    assert cost(run, "tickets").requests == 3000 * 0.25 * 2
    assert cost(run, "conversation_events").requests == 3000 * 1.5
    alone = estimate(counts, PlanSettings(streams=("conversation_events",))).backfill
    assert alone.searches == 8


def test_one_message_scan_feeds_messages_and_attachments():
    counts = Counts(volumes={"message": volume(5000, 0)}, attachment_requests=0.04)
    run = estimate(counts, PlanSettings(streams=("messages", "attachments"))).backfill
    assert cost(run, "messages").searches == scan_searches(5000, 500) + 1
    assert cost(run, "attachments").searches == 0
    assert cost(run, "attachments").requests == 5000 * 0.04


def test_events_start_date_shortens_the_events_and_their_scan_alone():
    five_years = 9_000_000
    counts = Counts(
        volumes={"conversation": volume(five_years * 2 / 5, five_years * 3 / 5)},
        events=volume(five_years / 5, 0),
    )
    settings = PlanSettings(streams=("conversation_events",))
    events_alone = estimate(counts, settings).backfill
    every_year = estimate(Counts(volumes=counts.volumes), settings).backfill
    # 9 M conversations: 12.5 days of events at 500/min; one year of events saves 80%.
    assert every_year.other_requests == five_years
    assert every_year.minutes / 1440 == pytest.approx(12.5, rel=0.01)
    assert events_alone.other_requests == five_years / 5
    # Its own scan reads one year; the archive pass finds nothing, in one search.
    assert events_alone.searches == scan_searches(five_years / 5, 500) + 1
    # With conversations selected the one scan still reads every year.
    both = estimate(counts, PlanSettings(streams=("conversations", "conversation_events")))
    assert both.backfill.searches == every_year.searches


def test_the_minute_job_reads_a_minute_and_the_search_lag_again():
    counts = Counts(
        volumes={"message": volume(10**6, 10**6, first_run=14_400, day=14_400)},
        list_pages={"users": 4},
    )
    settings = PlanSettings(streams=("messages", "users", "agent_states"), search_lag_seconds=60)
    plan = estimate(counts, settings)
    assert cost(plan.minute, "messages").objects == pytest.approx(14_400 / 1440 * 2)
    assert plan.minute.searches == 1
    assert plan.minute.other_requests == 4 + 3
    assert plan.first_run.searches == scan_searches(14_400, 500)
    assert "keeps up every minute" in render(plan)
    # Without history (start_date inside the horizon) a backfill has no archive scan.
    recent_only = estimate(counts, PlanSettings(streams=("messages",), history=False))
    assert recent_only.backfill.searches == scan_searches(10**6, 500)


def test_the_binding_budget_sets_the_wall_time():
    counts = Counts(volumes={"message": volume(5_000_000, 0)})
    run = estimate(counts, PlanSettings(streams=("messages",))).backfill
    assert run.bound == "searches"
    assert run.minutes == run.searches / 50
    heavy = Counts(volumes={"message": volume(10, 0), "conversation": volume(10**6, 0)})
    run = estimate(heavy, PlanSettings(streams=("messages", "conversation_events"))).backfill
    assert run.bound == "requests"
    assert run.minutes == pytest.approx(run.requests / 500)


def test_unknown_list_pages_make_a_floor():
    counts = Counts(volumes={}, list_pages={"users": None})
    plan = estimate(counts, PlanSettings(streams=("users",)))
    assert not plan.backfill.complete
    assert "= at least 0 requests" in render(plan)


def test_numbers_and_durations_read_well():
    numbers = [number(v) for v in (None, 0.0017, 0.02, 2.5, 3.0, 12_345.4)]
    assert numbers == ["?", "0.002", "0.02", "2.5", "3", "12,345"]
    assert [percent(v) for v in (0, 0.004, 0.06)] == ["0%", "under 1%", "6%"]
    durations = [duration(m) for m in (0.5, 30, 600, 18_000)]
    assert durations == ["30 s", "30.0 min", "10.0 h", "12.5 days"]


def test_a_list_without_a_total_is_measured_by_doubling_then_bisection():
    asked = []

    def has_data(page):
        asked.append(page)
        return page <= 37

    assert _last_page(has_data) == 37
    assert len(asked) <= 2 * 6
