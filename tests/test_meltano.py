"""Meltano end to end, offline: every job into target-jsonl, the main run into DuckDB."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from conftest import ENDPOINT_STREAMS, ROOT, meltano_env, run_meltano
from kustomer_api import LocalKustomer, OrgSpec
from kustomer_api.seed import OBJECT_STREAMS

# Runs Meltano in this project: one such module at a time (conftest.meltano_lock).
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("meltano_lock")]


@pytest.fixture(scope="module")
def api():
    # object_links: files on some messages, so the backfill has attachments.
    spec = OrgSpec(seed=31, conversations=150, history_days=600, object_links=True)
    with LocalKustomer(spec) as server:
        yield server


@pytest.fixture(scope="module")
def meltano(api, tmp_path_factory):
    work = tmp_path_factory.mktemp("meltano")
    env = meltano_env(
        api,
        work,
        TAP_KUSTOMER__AGENT_STATES_AGENT_STATES_INTERVAL_SECONDS="1",
        TARGET_JSONL_DESTINATION_PATH=str(work / "jsonl"),
        TARGET_DUCKDB_FILEPATH=str(work / "warehouse.duckdb"),
    )
    (work / "jsonl").mkdir()

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return run_meltano(env, *args)

    installed = run("install")
    assert installed.returncode == 0, installed.stderr[-2000:]
    run.work = work  # type: ignore[attr-defined]
    return run


# meltano.yml selects kobject_*.*: one stream per Klass of the local org.
KLASS_STREAMS = ("kobject_ecomm_order", "kobject_return_request", "kobject_subscription")


def jsonl_counts(folder: Path) -> dict[str, int]:
    return {path.stem: sum(1 for _ in path.open()) for path in folder.glob("*.jsonl")}


@pytest.mark.parametrize(
    ("job", "streams"),
    [
        (
            "kustomer-directory",
            {
                "users",
                "teams",
                "tags",
                "klasses",
                "shortcuts",
                "slas",
                "sla_versions",
                "brands",
                "business_schedules",
                "custom_attributes",
            },
        ),
        ("kustomer-agent-states", {"agent_states", "routing_statuses", "queues", "assistants"}),
        (
            "kustomer-backfill",
            {
                "conversations",
                "messages",
                "conversation_events",
                "customers",
                "tickets",
                "work_sessions",
                "companies",
                "notes",
                "kobjects",
                "attachments",
                *KLASS_STREAMS,
            },
        ),
        (
            "kustomer-default",
            {
                "audit_logs",
                "conversation_status_changes",
                "conversations",
                "messages",
                "conversation_events",
                "customers",
                "tickets",
                "companies",
                "notes",
                "kobjects",
                "attachments",
                *KLASS_STREAMS,
            },
        ),
    ],
)
def test_each_job_runs_offline(meltano, job, streams):
    folder = meltano.work / "jsonl"
    for path in folder.glob("*.jsonl"):
        path.unlink()
    result = meltano("run", job)
    assert result.returncode == 0, result.stderr[-3000:]
    counts = jsonl_counts(folder)
    if job == "kustomer-default":
        # Incremental from 24 hours back: only the streams with recent changes have rows.
        assert set(counts) <= streams
        assert counts.get("conversations", 0) > 0
    else:
        assert set(counts) == streams
        assert all(counts[s] > 0 for s in streams - {"conversation_events"})


def test_agent_states_job_takes_four_snapshots(meltano):
    folder = meltano.work / "jsonl"
    for path in folder.glob("*.jsonl"):
        path.unlink()
    assert meltano("run", "kustomer-agent-states").returncode == 0
    snapshots = {json.loads(line)["observed_at"] for line in (folder / "agent_states.jsonl").open()}
    assert len(snapshots) == 4


def test_the_backfill_and_the_minute_job_keep_separate_state(meltano):
    listed = meltano("state", "list")
    assert listed.returncode == 0, listed.stderr[-2000:]
    ids = listed.stdout.split()
    assert any("tap-kustomer--backfill" in i for i in ids)
    assert any("tap-kustomer--default" in i for i in ids)


def test_duckdb_loads_every_row(meltano, api):
    result = meltano("run", "tap-kustomer", "target-duckdb")
    assert result.returncode == 0, result.stderr[-3000:]
    duckdb_python = ROOT / ".meltano/loaders/target-duckdb/venv/bin/python"
    query = (
        "import duckdb, json, sys\n"
        "db = duckdb.connect(sys.argv[1], read_only=True)\n"
        "tables = [t for (t,) in db.execute(\"select table_name from information_schema.tables where table_schema = 'kustomer'\").fetchall()]\n"
        "print(json.dumps({t: db.execute(f'select count(*) from kustomer.\"{t}\"').fetchone()[0] for t in tables}))\n"
    )
    counts = json.loads(
        subprocess.run(
            [str(duckdb_python), "-c", query, str(meltano.work / "warehouse.duckdb")],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    for stream in (*ENDPOINT_STREAMS, *OBJECT_STREAMS):
        assert counts[stream] == len(api.org.truth(stream)), stream
    assert counts["tickets"] == len(api.org.truth("conversations"))
