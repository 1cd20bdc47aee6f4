"""Bad input gets one clear line; the token never leaks; personal data is kept, hashed or dropped."""

from __future__ import annotations

import json

import pytest
from conftest import ALL_STREAMS, run_cli, run_tap, unlimited_api, write_json
from kustomer_api import OrgSpec

from tap_kustomer.pii import hashed

pytestmark = pytest.mark.slow

CANARY = "canary-9b1e7d2c5a"  # a token whose every appearance in output is a leak


@pytest.fixture(scope="module")
def api():
    with unlimited_api(OrgSpec(seed=41, conversations=80, history_days=300)) as server:
        yield server


def failure_lines(result) -> list[str]:
    return [
        line.split("| ", 3)[-1]
        for line in result.stderr.splitlines()
        if "tap-kustomer failed" in line
    ]


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({}, "invalid settings: 'api_token' is a required property"),
        ({"api_token": ""}, "invalid settings: '' should be non-empty"),
        ({"api_token": "   "}, "api_token is empty: set it to a Kustomer API key"),
        (
            {"api_token": "x", "start_date": "last tuesday"},
            "start_date 'last tuesday' is not an ISO 8601 date-time",
        ),
        (
            {"api_token": "x", "start_date": "2999-01-01T00:00:00Z"},
            "start_date 2999-01-01T00:00:00Z is in the future",
        ),
        ({"api_token": "x", "api_url": "kustomer"}, "api_url 'kustomer' is not a URL"),
        ({"api_token": "x", "api_url": "http://api.kustomerapp.com"}, "uses plain http; use https"),
        (
            {"api_token": "x", "api_url": "https://api.kustomerapp.com/v1"},
            "without a path such as /v1",
        ),
        (
            {"api_token": "x", "page_size": 501},
            "501 is greater than the maximum of 500 in config['page_size']",
        ),
        (
            {"api_token": "x", "page_size": 0},
            "0 is less than the minimum of 1 in config['page_size']",
        ),
        (
            {"api_token": "x", "max_requests_per_minute": 5000},
            "5000 is greater than the maximum of 2000",
        ),
        (
            {"api_token": "x", "max_search_requests_per_minute": 101},
            "101 is greater than the maximum of 100",
        ),
        (
            {"api_token": "x", "sync_mode": "sometimes"},
            "'sometimes' is not one of ['full', 'incremental']",
        ),
    ],
)
def test_bad_settings_get_one_line_and_exit_1(tmp_path, config, message):
    result = run_cli(["--config", str(write_json(tmp_path / "c.json", config))])
    assert result.returncode == 1
    (line,) = failure_lines(result)
    assert message in line
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_http_to_loopback_is_allowed(api, tmp_path):
    config = {"api_token": api.token, "api_url": api.base_url}
    result = run_cli(["--config", str(write_json(tmp_path / "c.json", config)), "--discover"])
    assert result.returncode == 0


@pytest.mark.parametrize(
    ("state", "message"),
    [
        ("not json", "--state {path} is not valid JSON"),
        ([1, 2], "--state {path} is not a JSON object"),
        (
            {"bookmarks": {"conversations": {"position": {"search": {"resume_from": "soon"}}}}},
            "STATE conversations.position.search.resume_from 'soon' is not a timestamp",
        ),
        ({"bookmarks": {"messages": "2024-01-01"}}, "STATE bookmark of messages is not an object"),
        (
            {"bookmarks": {"tickets": {"position": {"history": {"list_page": -3}}}}},
            "STATE tickets.position.history.list_page -3 is not a page number",
        ),
    ],
)
def test_an_invalid_state_file_gets_one_line(api, tmp_path, state, message):
    config = write_json(tmp_path / "c.json", {"api_token": api.token, "api_url": api.base_url})
    path = tmp_path / "state.json"
    path.write_text(state if isinstance(state, str) else json.dumps(state))
    result = run_cli(["--config", str(config), "--state", str(path)])
    assert result.returncode == 1
    (line,) = failure_lines(result)
    assert message.format(path=path) in line
    assert "RECORD" not in result.stdout


def test_an_unknown_stream_in_the_selection_gets_one_line(api, tmp_path):
    config = write_json(tmp_path / "c.json", {"api_token": api.token, "api_url": api.base_url})
    catalog = json.loads(run_cli(["--config", str(config), "--discover"]).stdout)
    catalog["streams"].append(
        {
            "tap_stream_id": "convesations",
            "stream": "convesations",
            "schema": {},
            "metadata": [{"breadcrumb": [], "metadata": {"selected": True}}],
        }
    )
    result = run_cli(
        ["--config", str(config), "--catalog", str(write_json(tmp_path / "cat.json", catalog))]
    )
    assert result.returncode == 1
    (line,) = failure_lines(result)
    assert "unknown stream convesations selected in the catalog" in line


def test_the_connection_test_names_each_streams_access(api, tmp_path):
    full = run_cli(
        [
            "--config",
            str(write_json(tmp_path / "a.json", {"api_token": api.token, "api_url": api.base_url})),
            "--test",
        ]
    )
    assert full.returncode == 0
    assert "All 26 streams are readable with this key" in full.stderr
    config = {"api_token": "local-no-routing-token", "api_url": api.base_url}
    partial = run_cli(["--config", str(write_json(tmp_path / "b.json", config)), "--test"])
    assert partial.returncode == 1
    assert "conversations               readable" in partial.stderr
    assert (
        "queues                      NOT readable: GET /v1/routing/queues: 403 Forbidden"
        in partial.stderr
    )
    (line,) = failure_lines(partial)
    assert (
        "4 of 26 streams are not readable with this key: agent_states, queues, routing_statuses, work_sessions"
        in line
    )


def test_the_connection_test_explains_a_wrong_region(api, tmp_path):
    api.add_token("eu-key", pod="prod2")
    result = run_cli(
        [
            "--config",
            str(write_json(tmp_path / "c.json", {"api_token": "eu-key", "api_url": api.base_url})),
            "--test",
        ]
    )
    assert result.returncode == 1
    (line,) = failure_lines(result)
    assert "token belongs to another Kustomer region" in line


def test_the_token_never_appears_in_any_output(api, tmp_path):
    """Every error path, at debug level, with a canary token."""
    env = {"LOGLEVEL": "DEBUG"}
    base = {
        "api_url": api.base_url,
        "max_requests_per_minute": 2000,
        "max_search_requests_per_minute": 100,
        "max_retries": 2,
    }
    outputs = []

    def run(config, *args):
        result = run_cli(["--config", str(write_json(tmp_path / "c.json", config)), *args], env=env)
        outputs.append(result.stdout + result.stderr)
        return result

    assert run({**base, "api_token": CANARY}).returncode == 1  # 401: unknown token
    api.add_token(CANARY, roles=["org.permission.search.read"])
    assert run({**base, "api_token": CANARY}).returncode == 1  # 403
    assert run({**base, "api_token": CANARY}, "--test").returncode == 1
    api.add_token(CANARY)  # every role
    catalog = json.loads(run({**base, "api_token": CANARY}, "--discover").stdout)
    for entry in catalog["streams"]:
        entry["metadata"][0]["metadata"]["selected"] = entry["tap_stream_id"] in {
            "conversations",
            "users",
        }
    catalog_path = str(write_json(tmp_path / "catalog.json", catalog))
    api.configure(faults={"500": 0.1, "503": 0.1, "reset": 0.1, "truncate": 0.1})
    try:
        run({**base, "api_token": CANARY}, "--catalog", catalog_path)
    finally:
        api.configure(faults={})
    assert sum(api.stats()["faults"].values()) > 0
    assert run({**base, "api_token": CANARY, "start_date": "bad"}).returncode == 1
    assert run({**base, "api_token": CANARY}, "--discover").returncode == 0
    assert run({**base, "api_token": CANARY, "api_url": "https://evil.example/v1"}).returncode == 1
    everything = "\n".join(outputs)
    assert "DEBUG" in everything
    assert CANARY not in everything


def test_tls_verification_is_always_on(api):
    from tap_kustomer.tap import TapKustomer

    tap = TapKustomer(config={"api_token": "x"})
    assert tap.run.client._session.verify is True


def personal_values(api) -> set[str]:
    """Strings from the seeded org that are personal data."""
    values = set()
    for customer in api.org.truth("customers"):
        a = customer["attributes"]
        values.update(v for v in (a.get("name"), a.get("displayName")) if v)
        values.update(e["email"] for e in a.get("emails") or [])
        values.update(p["phone"] for p in a.get("phones") or [])
    for message in api.org.truth("messages"):
        a = message["attributes"]
        values.update(v for v in (a.get("preview"), a.get("subject"), a.get("body")) if v)
        meta = a.get("meta") or {}
        values.update(v for k, v in meta.items() if k in {"from", "proxy"} and isinstance(v, str))
    # Agents (users) are the org's staff, kept so Assembled can match them; the seed's
    # name pool may give a customer an agent's name, which then is not a leak.
    staff = {
        u["attributes"].get(k)
        for u in api.org.truth("users")
        for k in ("name", "displayName", "email")
    }
    return {v for v in values if len(v) > 6} - staff


@pytest.mark.parametrize("mode", ["hash", "drop"])
def test_personal_data_is_hashed_or_dropped_in_every_stream(api, unpaced, mode):
    config = {
        "api_token": api.token,
        "api_url": api.base_url,
        "start_date": "2020-01-01T00:00:00Z",
        "pii_mode": mode,
    }
    result = run_tap(config)
    personal = personal_values(api)
    assert personal
    for stream in ALL_STREAMS:
        text = json.dumps(result.records.get(stream, []))
        leaked = [value for value in personal if value in text]
        assert not leaked, f"{stream} ({mode}): {leaked[:3]}"
    customer = result.records["customers"][0]
    if mode == "hash":
        truth = next(c for c in api.org.truth("customers") if c["id"] == customer["id"])
        assert customer["name"] == hashed(truth["attributes"]["name"])
        assert all(len(e["email"]) == 64 for e in customer["emails"] or []), "arrays keep shape"
    else:
        assert customer["name"] is None, "dropped: null, the key stays for maps and targets"
    voice = [
        m
        for m in result.records["messages"]
        if m["channel"] == "voice" and (m.get("meta") or {}).get("placedAt")
    ]
    assert voice, "call times stay, so Phone SLAs still work"


def test_personal_data_is_kept_by_default(api, unpaced):
    config = {"api_token": api.token, "api_url": api.base_url, "start_date": "2020-01-01T00:00:00Z"}
    result = run_tap(config, streams=("customers", "messages"))
    text = json.dumps(result.records)
    assert any(value in text for value in personal_values(api))
