"""tap-kustomer-report: the figures from hand-made rows, then end to end from the local API."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import duckdb
import numpy as np
import pytest
from conftest import run_tap, unlimited_api
from kustomer_api import OrgSpec
from test_tickets_and_agents import CHANNELS, by_hand, when

from tap_kustomer import report, schemas
from tap_kustomer.report import AgentState, Ticket

UTC = dt.timezone.utc
AS_OF = dt.date(2024, 3, 30)
SPAN = report.window(AS_OF, 30)  # 2024-03-01 .. 2024-03-30
NOW = dt.datetime(2024, 3, 30, 12, 0, tzinfo=UTC)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def at(day: int, hour: int = 12, minute: int = 0) -> dt.datetime:
    return dt.datetime(2024, 3, day, hour, minute, tzinfo=UTC)


def ticket(day: int, channel: str | None = "Email", duration: float | None = 60.0) -> Ticket:
    return Ticket(at(day), channel, duration)


def healthy_tickets() -> list[Ticket]:
    """Every Assembled channel, every day, sane response times."""
    return [
        ticket(day, channel, 30.0 * (n + 1))
        for day in range(1, 31)
        for n, channel in enumerate(report.CHANNELS)
    ]


def healthy_states(observed_at: dt.datetime = NOW - dt.timedelta(minutes=1)) -> list[AgentState]:
    return [
        AgentState(observed_at, "u1", "available", "Available"),
        AgentState(observed_at, "u2", "unavailable", "Lunch"),
        AgentState(observed_at, "u3", "unavailable", "Break"),
        AgentState(observed_at, "u4", "busy", "Busy"),
    ]


def build(tickets=None, states=None, **kwargs) -> report.Report:
    return report.build_report(
        healthy_tickets() if tickets is None else tickets,
        healthy_states() if states is None else states,
        span=SPAN,
        reference=kwargs.pop("reference", NOW),
        **kwargs,
    )


# ---- the figures -------------------------------------------------------------------------------


def test_window_is_the_last_days_up_to_as_of_inclusive():
    assert (SPAN.first_day, SPAN.last_day, len(SPAN.days)) == (dt.date(2024, 3, 1), AS_OF, 30)
    assert at(1, 0) in SPAN
    assert dt.datetime(2024, 3, 31, tzinfo=UTC) not in SPAN
    assert dt.datetime(2024, 2, 29, 23, 59, 59, tzinfo=UTC) not in SPAN
    assert report.window(AS_OF, 1).days == [AS_OF]
    with pytest.raises(ValueError, match="at least one day"):
        report.window(AS_OF, 0)


def test_reference_is_now_or_the_end_of_a_past_as_of_day():
    assert report.reference_time(AS_OF, NOW) == NOW
    assert report.reference_time(dt.date(2024, 3, 1), NOW) == dt.datetime(2024, 3, 2, tzinfo=UTC)


def test_contacts_per_day_by_channel_with_unmapped_and_other_channels():
    tickets = [
        ticket(1, "Email"),
        ticket(1, "Email"),
        ticket(30, "Chat"),
        ticket(15, None),
        ticket(15, "Video"),  # a channel_mapping value outside Assembled's five
        Ticket(dt.datetime(2024, 2, 29, 23, 59, tzinfo=UTC), "Email", 1.0),  # before the window
        Ticket(dt.datetime(2024, 3, 31, 0, 0, tzinfo=UTC), "Chat", 1.0),  # after it
    ]
    contacts = report.contacts_per_day(tickets, SPAN)
    assert list(contacts) == ["Email", "Chat", "SMS", "Phone", "Social", "Video", "unmapped"]
    assert contacts["Email"][0] == 2
    assert sum(contacts["Email"]) == 2
    assert contacts["Chat"][29] == 1
    assert sum(contacts["Chat"]) == 1
    assert contacts["unmapped"][14] == contacts["Video"][14] == 1
    assert contacts["SMS"] == [0] * 30


def test_percentile_matches_numpy_linear_interpolation():
    rng = np.random.default_rng(3)
    for size in (1, 2, 5, 101, 1000):
        values = list(rng.exponential(300, size))
        for q in (0, 50, 90, 95, 100):
            assert report.percentile(values, q) == pytest.approx(np.percentile(values, q))


def test_response_times_in_minutes_per_channel():
    tickets = [
        ticket(2, "Chat", 60),
        ticket(3, "Chat", 120),
        ticket(4, "Chat", 180),
        ticket(4, "Chat", None),  # no response: not counted
        ticket(5, "Phone", None),
        Ticket(dt.datetime(2024, 2, 1, tzinfo=UTC), "Chat", 99_999),  # outside the window
    ]
    figures = {f.channel: f for f in report.response_times(tickets, SPAN)}
    chat = figures["Chat"]
    assert chat.responses == 3
    assert chat.percentiles == {50: 2.0, 90: pytest.approx(2.8), 95: pytest.approx(2.9)}
    assert (chat.negative, chat.over_a_day, chat.longest) == (0, 0, 3.0)
    assert figures["Phone"].responses == 0
    assert figures["Phone"].percentiles == {}
    assert list(figures) == ["Email", "Chat", "SMS", "Phone", "Social", "unmapped"]


def test_last_snapshot_counts_agents_by_type_and_name_at_the_latest_observation():
    old = NOW - dt.timedelta(minutes=5)
    states = [
        *healthy_states(),
        AgentState(old, "u1", "offline", "Offline"),
        AgentState(old, "u9", "available", "Available"),
    ]
    snapshot = report.last_snapshot(states)
    assert snapshot is not None
    assert snapshot.observed_at == NOW - dt.timedelta(minutes=1)
    assert snapshot.agents == 4
    assert snapshot.by_type == {"unavailable": 2, "available": 1, "busy": 1}
    assert snapshot.by_name == {
        ("available", "Available"): 1,
        ("busy", "Busy"): 1,
        ("unavailable", "Break"): 1,
        ("unavailable", "Lunch"): 1,
    }
    assert snapshot.available == 1
    assert report.last_snapshot([]) is None


def test_healthy_data_has_no_warnings():
    built = build()
    assert built.warnings == []
    assert "No zero or abnormal figures." in report.render_text(built)


# One case per anomaly.


def test_a_channel_quiet_in_the_last_three_days_is_called_out():
    tickets = [t for t in healthy_tickets() if not (t.channel == "Chat" and t.created_at.day > 27)]
    tickets += [ticket(10, None)]  # unmapped contacts stopping is not a channel going quiet
    built = build(tickets)
    assert built.warnings == [
        (
            "Chat: 27 contacts in the window, the last on 2024-03-27; "
            "none in the last 3 days (2024-03-28 to 2024-03-30)."
        )
    ]


def test_a_channel_with_no_contacts_in_the_whole_window_is_not_a_quiet_channel():
    built = build([t for t in healthy_tickets() if t.channel != "Phone"])
    assert built.warnings == []


def test_no_contacts_at_all_is_called_out_with_what_the_table_holds():
    newest = dt.datetime(2023, 12, 24, 8, 0, tzinfo=UTC)
    built = build([], table=report.TicketTable(rows=120, newest=newest))
    assert built.warnings == [
        (
            "No contacts at all from 2024-03-01 to 2024-03-30: the newest of the table's 120 "
            "tickets was created 2023-12-24 08:00:00 UTC."
        )
    ]
    assert build([], table=report.TicketTable(0, None)).warnings == [
        "No contacts at all from 2024-03-01 to 2024-03-30: the tickets table is empty."
    ]


def test_negative_and_over_a_day_durations_are_counted():
    tickets = [
        *healthy_tickets(),
        ticket(5, "Email", -3.0),
        ticket(6, "Email", -0.001),
        ticket(7, "SMS", 86_400.0),  # exactly a day is not over a day
        ticket(8, "SMS", 86_400.5),
        ticket(9, "SMS", 200_000.0),
    ]
    built = build(tickets)
    figures = {f.channel: f for f in built.response_times}
    assert (figures["Email"].negative, figures["Email"].over_a_day) == (2, 0)
    assert (figures["SMS"].negative, figures["SMS"].over_a_day) == (0, 2)
    assert built.warnings == [
        "Email: 2 of 32 first-response durations are negative.",
        "SMS: 2 of 33 first-response durations are over a day (longest 2.3 d).",
    ]


def test_no_agent_state_snapshot_is_called_out():
    assert build(states=[]).warnings == [
        "No agent-state snapshot: the agent_states table is empty."
    ]


def test_a_snapshot_older_than_ten_minutes_is_called_out():
    fresh = build(states=healthy_states(NOW - dt.timedelta(minutes=9, seconds=59)))
    assert fresh.warnings == []
    stale = build(states=healthy_states(NOW - dt.timedelta(minutes=42)))
    assert stale.warnings == [
        (
            "The last agent-state snapshot (2024-03-30 11:18:00 UTC) is 42.0 min older than "
            "2024-03-30 12:00:00 UTC: agent states have stopped arriving."
        )
    ]


def test_zero_agents_available_is_called_out():
    states = [s for s in healthy_states() if s.status_type != "available"]
    assert build(states=states).warnings == [
        "No agent is available at the last snapshot (3 agents signed in)."
    ]


def test_timestamps_as_loaded_are_read_as_utc():
    expected = dt.datetime(2024, 3, 2, 14, 35, 34, 848000, tzinfo=UTC)
    for value in (
        "2024-03-02T14:35:34.848Z",
        "2024-03-02 14:35:34.848",
        "2024-03-02 14:35:34.848+00",
        "2024-03-02T16:35:34.848+02:00",
        "2024-03-02T14:35:34.848000123Z",
        dt.datetime(2024, 3, 2, 14, 35, 34, 848000),  # noqa: DTZ001 - naive, as TIMESTAMP reads
        expected.astimezone(dt.timezone(dt.timedelta(hours=-5))),
        int(expected.timestamp() * 1000),
    ):
        assert report.to_utc(value) == expected, value
    for value in (None, "", "soon", "2024-13-45T00:00:00Z", 1.5, True):
        assert report.to_utc(value) is None, value


@pytest.mark.slow
def test_every_anomaly_renders_as_text_and_png(tmp_path):
    tickets = [ticket(29, "Chat", -5.0), ticket(29, "Chat", 90_000.0)]
    built = build(tickets, states=[], table=report.TicketTable(2, at(29)))
    text = report.render_text(built)
    assert "Zero or abnormal figures (3):" in text
    for warning in built.warnings:
        assert f"WARNING {warning}" in text
    report.render_png(built, tmp_path / "anomalies.png")
    report.render_png(build([], states=[]), tmp_path / "empty.png")
    for name in ("anomalies.png", "empty.png"):
        assert (tmp_path / name).read_bytes().startswith(PNG_MAGIC)


# ---- the command on a DuckDB file ----------------------------------------------------------------


def column_type(schema: dict, timestamps: str) -> str:
    """A column type as target-duckdb chooses it, timestamps as asked."""
    types = schema["type"]
    if "array" in types or "object" in types:
        return "JSON"
    if schema.get("format") == "date-time":
        return timestamps
    if "number" in types or "integer" in types:
        return "DOUBLE"
    if "boolean" in types:
        return "BOOLEAN"
    return "VARCHAR"


def load(path: Path, records: dict[str, list[dict]], timestamps: str) -> None:
    """Write the synced records as target-duckdb would: schema kustomer, one table per stream.

    TIMESTAMP columns hold naive UTC like target-duckdb's; VARCHAR ones the tap's ISO text.
    """
    stream_schemas = {"tickets": schemas.TICKETS, "agent_states": schemas.AGENT_STATES}
    with duckdb.connect(str(path)) as db:
        db.execute("CREATE SCHEMA kustomer")
        for stream, rows in records.items():
            properties = stream_schemas[stream]["properties"]
            types = {name: column_type(p, timestamps) for name, p in properties.items()}
            columns = ", ".join(f'"{name}" {kind}' for name, kind in types.items())
            db.execute(f"CREATE TABLE kustomer.{stream} ({columns})")

            def value(name, raw, types=types):
                if raw is None:
                    return None
                if types[name] == "JSON":
                    return json.dumps(raw)
                if types[name] == "TIMESTAMP":
                    return when(raw).astimezone(UTC).replace(tzinfo=None)
                return raw

            marks = ", ".join("?" for _ in types)
            if rows:
                db.executemany(
                    f"INSERT INTO kustomer.{stream} VALUES ({marks})",  # noqa: S608
                    [[value(name, row.get(name)) for name in types] for row in rows],
                )


@pytest.fixture(scope="module")
def api():
    """A small org: 45 days of history, so most of it falls in the 30-day window."""
    with unlimited_api(OrgSpec(seed=29, conversations=500, history_days=45)) as server:
        yield server


def expected_figures(truth: dict, days: list[dt.date]):
    """Contacts per day, durations and agents by state, straight from the seeded org."""
    messages: dict[str, list[dict]] = {}
    for message in truth["messages"]:
        conversation_id = message["relationships"]["conversation"]["data"]["id"]
        messages.setdefault(conversation_id, []).append(message["attributes"])
    contacts: Counter = Counter()
    durations: dict[str, list[float]] = {}
    for conversation in truth["conversations"]:
        created = when(conversation["attributes"]["createdAt"])
        if created.date() not in days:
            continue
        expected = by_hand(conversation, messages.get(conversation["id"], []), False)
        channel = CHANNELS.get(expected["kustomer_channel"]) or "unmapped"
        contacts[channel, created.date()] += 1
        if expected["first_response_duration"] is not None:
            durations.setdefault(channel, []).append(expected["first_response_duration"])
    statuses = {s["id"]: s["attributes"] for s in truth["routing_statuses"]}
    agents = Counter(
        (
            statuses[s["relationships"]["status"]["data"]["id"]]["statusType"],
            statuses[s["relationships"]["status"]["data"]["id"]]["name"],
        )
        for s in truth["work_sessions"]
        if s["attributes"]["active"]
    )
    return contacts, durations, agents


@pytest.mark.slow
def test_report_of_a_synced_org_matches_the_seeded_org(api, unpaced, tmp_path):
    config = {
        "api_token": api.token,
        "api_url": api.base_url,
        "agent_states_snapshots": 2,
        "agent_states_interval_seconds": 1,
    }
    records = run_tap(config, streams=("tickets", "agent_states")).records
    truth = {
        stream: api.org.truth(stream)
        for stream in ("conversations", "messages", "work_sessions", "routing_statuses")
    }
    as_of = dt.datetime.fromtimestamp(api.org.now_ms / 1000, tz=UTC).date()
    for timestamps in ("TIMESTAMP", "VARCHAR"):
        path = tmp_path / f"warehouse-{timestamps.lower()}.duckdb"
        load(path, records, timestamps)
        total = check_figures(path, records, truth, as_of)

    # the console script, once, on the TIMESTAMP file
    png = tmp_path / "report.png"
    command = [
        str(Path(sys.executable).parent / "tap-kustomer-report"),
        *("--duckdb", str(tmp_path / "warehouse-timestamp.duckdb")),
        *("--png", str(png), "--as-of", str(as_of)),
    ]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert completed.returncode == 0, completed.stderr
    for heading in ("1. Contacts per day", "2. First-response time", "3. Agents by state"):
        assert heading in completed.stdout
    assert f"1. Contacts per day by Assembled channel ({total} in the window)" in completed.stdout
    assert png.read_bytes().startswith(PNG_MAGIC)


def check_figures(path: Path, records: dict, truth: dict, as_of: dt.date) -> int:
    """The report read from ``path`` against the figures computed from the seeded org."""
    days = [as_of - dt.timedelta(days=n) for n in range(29, -1, -1)]  # the last 30, as_of included
    span = report.window(as_of, 30)
    assert span.days == days
    tickets, table, states = report.read_warehouse(path, "kustomer", span)
    now = dt.datetime.now(UTC)
    built = report.build_report(
        tickets, states, span=span, reference=report.reference_time(as_of, now)
    )
    contacts, durations, agents = expected_figures(truth, days)

    # 1. contacts per day by channel, every day and channel of the window
    assert table.rows == len(truth["conversations"]), path
    got_contacts = {
        (channel, day): count
        for channel, counts in built.contacts.items()
        for day, count in zip(days, counts, strict=True)
        if count
    }
    assert got_contacts == dict(contacts), path
    assert set(built.contacts) == {*report.CHANNELS, "unmapped"}
    assert built.total_contacts > 250, "most of the org's 500 conversations are in the window"
    assert all(sum(built.contacts[c]) for c in report.CHANNELS), "every channel has contacts"

    # 2. first-response percentiles, responses, abnormal durations per channel
    for figure in built.response_times:
        seconds = durations.get(figure.channel, [])
        assert figure.responses == len(seconds), (path, figure.channel)
        for q in report.PERCENTILES:
            expected = np.percentile(seconds, q) / 60
            assert figure.percentiles[q] == pytest.approx(expected), (path, figure.channel, q)
        assert figure.negative == sum(s < 0 for s in seconds)
        assert figure.over_a_day == sum(s > 86_400 for s in seconds)

    # 3. agents by state at the last of the two snapshots
    observed = sorted({r["observed_at"] for r in records["agent_states"]})
    assert len(observed) == 2
    assert built.snapshot is not None
    assert built.snapshot.observed_at == when(observed[-1]), path
    assert built.snapshot.by_name == dict(agents), path
    assert built.snapshot.agents == sum(agents.values())
    available = sum(n for (kind, _), n in agents.items() if kind == "available")
    assert built.snapshot.available == available > 0

    # the warnings are exactly the anomalies of this data
    quiet = {
        channel
        for channel in report.CHANNELS
        if any(contacts[channel, day] for day in days[:-3])
        and not any(contacts[channel, day] for day in days[-3:])
    }
    assert {w.split(":")[0] for w in built.warnings if "none in the last 3 days" in w} == quiet
    long_ones = {c for c, s in durations.items() if any(v > 86_400 for v in s)}
    assert {w.split(":")[0] for w in built.warnings if "over a day" in w} == long_ones
    assert not [w for w in built.warnings if "snapshot" in w or "No contacts" in w]
    return built.total_contacts


def run_main(capsys, *args: str) -> tuple[int, str, str]:
    """``main`` in-process: its exit code (0 when it returns), stdout and stderr."""
    code = 0
    try:
        report.main(list(args))
    except SystemExit as exited:
        code = exited.code
    out, err = capsys.readouterr()
    return code, out, err


def test_a_missing_file_is_one_line_and_exit_code_one(tmp_path, capsys):
    code, out, err = run_main(capsys, "--duckdb", str(tmp_path / "nowhere.duckdb"))
    assert (code, out) == (1, "")
    assert err == f"tap-kustomer-report: {tmp_path / 'nowhere.duckdb'}: no such file\n"


def test_a_missing_table_is_one_line_and_exit_code_one(tmp_path, capsys):
    path = tmp_path / "partial.duckdb"
    with duckdb.connect(str(path)) as db:
        db.execute("CREATE SCHEMA kustomer")
        db.execute(
            "CREATE TABLE kustomer.tickets (id VARCHAR, created_at TIMESTAMP, "
            "updated_at TIMESTAMP, channel VARCHAR, first_response_duration DOUBLE)"
        )
    code, _, err = run_main(capsys, "--duckdb", str(path))
    assert code == 1
    assert err == (
        f"tap-kustomer-report: {path} has no table kustomer.agent_states "
        "(schema kustomer has: tickets)\n"
    )
    code, _, err = run_main(capsys, "--duckdb", str(path), "--schema", "analytics")
    assert (code, err.count("\n")) == (1, 1)
    assert "no table analytics.tickets (no tables in analytics)" in err


def test_empty_tables_run_and_warn(tmp_path, capsys):
    path = tmp_path / "empty.duckdb"
    load(path, {"tickets": [], "agent_states": []}, "TIMESTAMP")
    code, out, err = run_main(capsys, "--duckdb", str(path), "--png", str(tmp_path / "e.png"))
    assert code == 0
    assert err == ""
    assert "the tickets table is empty" in out
    assert "No agent-state snapshot" in out


def test_a_missing_extra_names_this_distribution(tmp_path, capsys, monkeypatch):
    """``tap-kustomer`` on PyPI is singer-io's tap: the hint names the one this repo publishes."""
    hint = "pip install 'wfm-labs-tap-kustomer[report]'"
    path = tmp_path / "empty.duckdb"
    load(path, {"tickets": [], "agent_states": []}, "TIMESTAMP")
    with monkeypatch.context() as hidden:
        hidden.setitem(sys.modules, "duckdb", None)  # None in sys.modules: import raises
        code, _, err = run_main(capsys, "--duckdb", str(path))
    assert (code, err) == (1, f"tap-kustomer-report: duckdb is not installed: {hint}\n")
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(report.ReportError, match=r"^matplotlib is not installed: ") as raised:
        report.render_png(build(), tmp_path / "never.png")
    assert str(raised.value).endswith(hint)
