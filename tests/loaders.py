"""Real loaders for the tests: a throwaway PostgreSQL server, and targets fed Singer output."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LOADERS = ROOT / ".meltano" / "loaders"


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


@contextlib.contextmanager
def postgres_server() -> Iterator[int]:
    """A throwaway PostgreSQL server on loopback; yields its port, removes it after."""
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
    try:
        yield port
    finally:
        subprocess.run(
            [*prefix, pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"],
            check=False,
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


def psql(port: int, query: str) -> list[list[str]]:
    command = ["psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", "postgres"]
    out = subprocess.run(
        [*command, "-At", "-F", "\t", "-c", query],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [line.split("\t") for line in out.splitlines()]


def postgres_counts(port: int, schema: str) -> dict[str, int]:
    """Rows per table of ``schema``."""
    query = "select table_name from information_schema.tables where table_schema = '%s'"
    tables = psql(port, query % schema)
    return {
        table: int(psql(port, f'select count(*) from "{schema}"."{table}"')[0][0])  # noqa: S608
        for (table,) in tables
    }


def postgres_target(port: int, schema: str, **settings: object) -> dict:
    """target-postgres's config for the test server's ``schema``, with ``settings``."""
    return {
        "host": "127.0.0.1",
        "port": port,
        "user": "postgres",
        "password": "unused-with-trust-auth",
        "database": "postgres",
        "default_target_schema": schema,
        **settings,
    }


def load(loader: str, config: dict, singer_output: str, work: Path) -> None:
    """Feed Singer messages to a loader the project's ``meltano install`` put in place."""
    executable = LOADERS / loader / "venv" / "bin" / loader
    config_path = work / f"{loader}.json"
    config_path.write_text(json.dumps(config))
    done = subprocess.run(
        [str(executable), "--config", str(config_path)],
        input=singer_output,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]


def duckdb_query(path: Path, query: str) -> list[list]:
    """Rows of one query, read with the loader's own duckdb."""
    script = (
        "import duckdb, json, sys\n"
        "db = duckdb.connect(sys.argv[1], read_only=True)\n"
        "print(json.dumps(db.execute(sys.argv[2]).fetchall(), default=str))\n"
    )
    python = LOADERS / "target-duckdb" / "venv" / "bin" / "python"
    out = subprocess.run(
        [str(python), "-c", script, str(path), query], capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out)


def duckdb_counts(path: Path, schema: str) -> dict[str, int]:
    """Rows per table of ``schema``, read with the loader's own duckdb."""
    script = (
        "import duckdb, json, sys\n"
        "db = duckdb.connect(sys.argv[1], read_only=True)\n"
        'tables = [t for (t,) in db.execute("select table_name from information_schema.tables '
        'where table_schema = ?", [sys.argv[2]]).fetchall()]\n'
        'print(json.dumps({t: db.execute(f\'select count(*) from "{sys.argv[2]}"."{t}"\')'
        ".fetchone()[0] for t in tables}))\n"
    )
    python = LOADERS / "target-duckdb" / "venv" / "bin" / "python"
    out = subprocess.run(
        [str(python), "-c", script, str(path), schema], capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out)
