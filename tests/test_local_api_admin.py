"""The local API's admin endpoints, settings, mutations, connections and command line."""

from __future__ import annotations

import contextlib
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from kustomer_api import LocalKustomer, OrgSpec
from kustomer_api.process import start_subprocess, stop
from local_api_client import ARCHIVE, HORIZON_S, ISO, SEARCH, epoch, ids, session, walk

pytest_plugins = ("local_api_fixtures",)


def test_new_settings_are_validated(fresh):
    url = fresh.base_url + "/__admin/configure"
    for bad in (
        {"tie_order": "random"},
        {"edit_tied_records": -1},
        {"edit_tied_records": 1.5},
        {"archive_search": "off"},
        {"list_max_records": True},
        {"list_cap_mode": "truncate"},
        {"error_shape": "xml"},
        {"accept_search_read_role": "yes"},
        {"faults_seed": "seven"},
    ):
        assert requests.post(url, json=bad, timeout=10).status_code == 400, bad
    with pytest.raises(ValueError, match="tie_order"):
        LocalKustomer(OrgSpec(conversations=5), tie_order="sorted")
    defaults = requests.post(url, json={}, timeout=10).json()
    assert {
        k: defaults[k]
        for k in (
            "tie_order",
            "edit_tied_records",
            "archive_search",
            "list_max_records",
            "list_cap_mode",
            "error_shape",
            "accept_search_read_role",
            "faults_seed",
        )
    } == {
        "tie_order": "id",
        "edit_tied_records": 0,
        "archive_search": "on",
        "list_max_records": 0,
        "list_cap_mode": "error",
        "error_shape": "jsonapi",
        "accept_search_read_role": False,
        "faults_seed": None,
    }


def test_mutate_bumps_updated_at(fresh):
    before = {c["id"]: c["attributes"] for c in fresh.org.truth("conversations")}
    newest = max(a["updatedAt"] for a in before.values())
    changed = fresh.mutate("conversations", count=5)
    after = {c["id"]: c["attributes"] for c in fresh.org.truth("conversations")}
    stamps = [after[i]["updatedAt"] for i in changed]
    assert len(set(changed)) == 5
    assert stamps == sorted(set(stamps))
    assert stamps[0] > newest
    assert all(ISO.fullmatch(s) for s in stamps)
    assert all(after[i]["rev"] == before[i]["rev"] + 1 for i in changed)
    assert not any(before[i]["deleted"] for i in changed)
    body = {
        "queryContext": "conversation",
        "and": [{"conversation_updated_at": {"gt": newest}}],
        "sort": [{"conversation_updated_at": "asc"}],
    }
    with session(fresh.token) as client:
        assert ids(walk(fresh, client, SEARCH, body)) == changed
    assert len(fresh.mutate("messages", count=3)) == 3
    assert len(fresh.mutate("customers", count=3)) == 3
    with pytest.raises(ValueError, match="cannot mutate"):
        fresh.mutate("users", count=1)


def test_mutate_during_search(fresh):
    fresh.configure(mutate_during_search=2)
    start = max(c["attributes"]["updatedAt"] for c in fresh.org.truth("conversations"))
    body = {"queryContext": "conversation", "and": [{"conversation_priority": {"equals": 3}}]}
    with session(fresh.token) as client:
        for _ in range(4):
            assert client.post(fresh.base_url + SEARCH, json=body, timeout=10).status_code == 200
    assert fresh.stats()["search_mutations"] == 4
    bumped = [c for c in fresh.org.truth("conversations") if c["attributes"]["updatedAt"] > start]
    assert 2 <= len(bumped) <= 4
    assert {c["attributes"]["priority"] for c in bumped} == {3}  # visible to the query


def test_admin_endpoints(fresh):
    base = fresh.base_url + "/__admin"
    with session(fresh.token) as client:
        client.get(fresh.base_url + "/v1/tags", timeout=10)
    stats = requests.get(f"{base}/stats", timeout=10).json()
    assert stats["requests"] == 1
    assert stats["by_route"] == {"GET /v1/tags": 1}
    assert requests.post(f"{base}/reset-stats", timeout=10).status_code == 200
    assert fresh.stats()["requests"] == 0
    configured = requests.post(f"{base}/configure", json={"latency_ms": 150}, timeout=10)
    assert configured.json()["latency_ms"] == 150
    assert requests.post(f"{base}/configure", json={"colour": 1}, timeout=10).status_code == 400
    bad_fault = requests.post(f"{base}/configure", json={"faults": {"teapot": 1}}, timeout=10)
    assert bad_fault.status_code == 400
    with session(fresh.token) as client:
        started = time.monotonic()
        client.get(fresh.base_url + "/v1/tags", timeout=10)
        assert time.monotonic() - started >= 0.15
    truth = requests.get(f"{base}/truth", params={"stream": "users"}, timeout=10).json()
    assert truth == [
        {"id": u["id"], "updatedAt": u["attributes"]["updatedAt"]} for u in fresh.org.truth("users")
    ]
    assert requests.get(f"{base}/truth", params={"stream": "x"}, timeout=10).status_code == 400
    mutated = requests.post(f"{base}/mutate", json={"stream": "customers", "count": 2}, timeout=10)
    assert len(mutated.json()["ids"]) == 2
    assert fresh.stats()["by_route"] == {"GET /v1/tags": 1}  # admin calls are not counted


def test_stats_route_names(fresh):
    conversation = fresh.org.truth("conversations")[0]["id"]
    with session(fresh.token) as client:
        client.get(f"{fresh.base_url}/v1/conversations/{conversation}/events", timeout=10)
        client.get(f"{fresh.base_url}/v1/conversations/{conversation}/messages", timeout=10)
        client.post(fresh.base_url + SEARCH, json={"queryContext": "message"}, timeout=10)
    stats = fresh.stats()
    assert stats["by_route"] == {
        "GET /v1/conversations/{id}/events": 1,
        "GET /v1/conversations/{id}/messages": 1,
        "POST /v1/customers/search": 1,
    }
    assert stats["search_requests"] == 1
    assert stats["by_status"] == {"200": 3}


def test_keep_alive_over_one_socket(api):
    request = (
        f"GET /v1/routing/queues HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {api.token}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", int(api.base_url.rsplit(":", 1)[1]))) as sock:
        reader = sock.makefile("rb")
        for _ in range(3):
            sock.sendall(request)
            status = reader.readline()
            assert status.startswith(b"HTTP/1.1 200")
            headers = {}
            while (line := reader.readline()) != b"\r\n":
                name, _, value = line.decode().partition(":")
                headers[name.lower()] = value.strip()
            assert headers.get("connection", "keep-alive") != "close"
            body = reader.read(int(headers["content-length"]))
            assert body.endswith(b"]}")


@contextlib.contextmanager
def cli_server(*flags: str):
    """``python -m kustomer_api`` on a free port; yields the first line it prints."""
    command = [sys.executable, "-m", "kustomer_api", "--port", "0", "--conversations", "30"]
    with subprocess.Popen(
        [*command, *flags], stdout=subprocess.PIPE, text=True, env={"PATH": ""}
    ) as process:
        try:
            yield process.stdout.readline()
        finally:
            process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0


def test_cli_serves_until_sigterm():
    with cli_server() as line:
        match = re.fullmatch(
            r"Local Kustomer API on (http://127\.0\.0\.1:\d+) \(token: local-admin-token\)\n",
            line,
        )
        assert match, line
        with session("local-admin-token") as client:
            response = client.get(match.group(1) + "/v1/routing/statuses", timeout=10)
        assert response.status_code == 200


def test_cli_new_flags():
    flags = (
        *("--history-days", "800", "--old-fraction", "0.5", "--archive-search", "missing"),
        *("--error-shape", "code_message", "--tie-order", "shuffled", "--edit-tied-records", "1"),
        *("--list-max-records", "100", "--list-cap-mode", "empty", "--faults-seed", "4"),
        "--accept-search-read-role",
    )
    with cli_server(*flags) as line:
        base = line.split()[4]
        with session("local-admin-token") as client:
            missing = client.post(base + ARCHIVE, json={}, timeout=10)
            refused = client.get(base + "/v1/tags", params={"page": 2}, timeout=10)
        assert missing.status_code == 404
        assert set(missing.json()["errors"][0]) == {"code", "message", "meta"}
        assert refused.json()["data"] == []
        settings = requests.post(base + "/__admin/configure", json={}, timeout=10).json()
        assert settings["tie_order"] == "shuffled"
        assert settings["edit_tied_records"] == 1
        assert settings["faults_seed"] == 4
        assert settings["accept_search_read_role"] is True
        index = requests.get(
            base + "/__admin/truth", params={"stream": "conversations"}, timeout=10
        ).json()
        cutoff = time.time() - HORIZON_S
        assert sum(epoch(c["updatedAt"]) < cutoff for c in index) == 15  # --old-fraction


def test_start_subprocess_waits_until_it_serves():
    process, base = start_subprocess(["--port", "0", "--conversations", "30"], timeout=60)
    try:
        with session("local-admin-token") as client:
            assert client.get(base + "/v1/routing/statuses", timeout=10).status_code == 200
    finally:
        stop(process)
    assert process.returncode == 0
    with pytest.raises(RuntimeError, match="did not start"):
        start_subprocess(["--conversations", "0"], stderr=subprocess.DEVNULL, timeout=60)


def test_console_script():
    script = Path(sys.executable).with_name("kustomer-local-api")
    found = subprocess.run([script, "--help"], capture_output=True, text=True, check=False)
    assert found.returncode == 0
    assert found.stdout.startswith("usage: kustomer-local-api")
    assert "--recent-per-day" in found.stdout


def test_the_request_log_holds_each_request_and_search_arrival_until_reset(fresh):
    with session(fresh.token) as http:
        before = time.monotonic()
        http.get(fresh.base_url + "/v1/users", timeout=10)
        http.post(fresh.base_url + SEARCH, json={"queryContext": "conversation"}, timeout=10)
        http.post(fresh.base_url + ARCHIVE, json={"queryContext": "conversation"}, timeout=10)
        after = time.monotonic()
    over_http = requests.get(fresh.base_url + "/__admin/request-times", timeout=10).json()
    assert over_http == fresh.request_times()
    assert len(over_http["requests"]) == fresh.stats()["requests"] == 3
    assert len(over_http["searches"]) == fresh.stats()["search_requests"] == 2
    assert all(before <= t <= after for t in over_http["requests"])
    assert set(over_http["searches"]) <= set(over_http["requests"])
    fresh.reset_stats()
    assert fresh.request_times() == {"requests": [], "searches": []}
