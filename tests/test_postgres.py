"""End to end into a real PostgreSQL server (meltanolabs-target-postgres), offline."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest
from conftest import ENDPOINT_STREAMS, meltano_env, run_meltano
from kustomer_api import LocalKustomer, OrgSpec

pytestmark = pytest.mark.slow


def postgres_bin(name: str) -> str:
    installed = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    found = shutil.which(name) or (str(installed[-1]) if installed else None)
    if found is None:
        pytest.fail(f"{name} not found: .ci/run installs PostgreSQL (apt-get install postgresql)")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def postgres():
    """A throwaway PostgreSQL server on loopback, stopped and removed after the module."""
    # Not under pytest's tmp_path: that is private to root, and the server runs as postgres.
    root = Path(tempfile.mkdtemp(prefix="tap-kustomer-pg-"))
    data, sockets = root / "data", root / "sockets"
    data.mkdir()
    sockets.mkdir()
    # PostgreSQL refuses to run as root: as root, run it as the postgres user.
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if prefix:
        for path in (root, data, sockets):
            shutil.chown(path, "postgres")
    port = free_port()
    subprocess.run(
        [*prefix, postgres_bin("initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"],
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1"
    pg_ctl = postgres_bin("pg_ctl")
    subprocess.run(
        [*prefix, pg_ctl, "-D", str(data), "-o", options, "-w", "-l", str(data / "log"), "start"],
        check=True,
        capture_output=True,
    )
    yield port
    subprocess.run(
        [*prefix, pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"],
        check=False,
        capture_output=True,
    )
    shutil.rmtree(root, ignore_errors=True)


def psql(port: int, query: str) -> list[list[str]]:
    out = subprocess.run(
        [
            "psql",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-At",
            "-F",
            "\t",
            "-c",
            query,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [line.split("\t") for line in out.splitlines()]


def test_meltano_run_into_postgres_loads_every_row_with_keys_and_types(postgres, tmp_path):
    with LocalKustomer(OrgSpec(seed=37, conversations=120, history_days=600)) as api:
        env = meltano_env(
            api,
            tmp_path,
            TARGET_POSTGRES_PORT=str(postgres),
            TARGET_POSTGRES_PASSWORD="unused-with-trust-auth",
        )

        installed = run_meltano(env, "install", "--plugin-type", "loader", "target-postgres")
        assert installed.returncode == 0, installed.stderr[-2000:]
        loaded = run_meltano(env, "run", "tap-kustomer", "target-postgres")
        assert loaded.returncode == 0, loaded.stderr[-3000:]
        counts = {
            table: int(count)
            for table, count in psql(
                postgres,
                "select relname, n_live_tup from pg_stat_user_tables where schemaname = 'kustomer'",
            )
        }
        exact = {
            table: int(psql(postgres, f'select count(*) from kustomer."{table}"')[0][0])  # noqa: S608
            for table in counts
        }
        for stream in ENDPOINT_STREAMS:
            assert exact[stream] == len(api.org.truth(stream)), stream
        assert exact["tickets"] == len(api.org.truth("conversations"))
        keys = dict(
            psql(
                postgres,
                "select tc.table_name, string_agg(kcu.column_name, ',' order by kcu.ordinal_position) "
                "from information_schema.table_constraints tc join information_schema.key_column_usage kcu "
                "using (constraint_schema, constraint_name) where tc.table_schema = 'kustomer' "
                "and tc.constraint_type = 'PRIMARY KEY' group by tc.table_name",
            )
        )
        assert keys["conversations"] == "id"
        assert keys["agent_states"] == "user_id,observed_at"
        types = {
            (table, column): kind
            for table, column, kind in psql(
                postgres,
                "select table_name, column_name, data_type from information_schema.columns where table_schema = 'kustomer'",
            )
        }
        assert types[("conversations", "created_at")].startswith("timestamp")
        assert types[("conversations", "tags")] in {"ARRAY", "jsonb", "json"}
        assert types[("tickets", "first_response_duration")] in {
            "numeric",
            "double precision",
            "decimal",
        }
        assert types[("conversations", "message_count")] in {"bigint", "integer"}
