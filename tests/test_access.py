"""Access end to end: a stream the key cannot read, Kustomer's error texts in both shapes, roles."""

from __future__ import annotations

import pytest
from conftest import cli_config, run_cli, selected_catalog, unlimited_api
from kustomer_api import OrgSpec
from kustomer_api.server import ALL_ROLES

from tap_kustomer.tap import TapKustomer

pytestmark = pytest.mark.slow

AGENT_STATES_JOB = ("assistants", "queues", "routing_statuses", "agent_states")
ASSISTANT_ROLES = {"org.permission.assistant.read", "org.user.apps.read"}
ERROR_SHAPES = ("jsonapi", "code_message")


@pytest.fixture(scope="module")
def api():
    with unlimited_api(OrgSpec(seed=3, conversations=60, history_days=300)) as server:
        server.add_token("no-assistants", roles=sorted(set(ALL_ROLES) - ASSISTANT_ROLES))
        server.add_token("eu-token", pod="prod2")
        yield server


@pytest.fixture(params=ERROR_SHAPES)
def shaped(api, request):
    api.configure(error_shape=request.param)
    yield api
    api.configure(error_shape="jsonapi", missing_routes=())


def run(api, tmp_path, streams, token=None, **settings):
    config = cli_config(api, tmp_path, start_date="2024-06-01T00:00:00Z", **settings)
    if token:
        config.write_text(config.read_text().replace(api.token, token))
    catalog = selected_catalog(tmp_path, config, streams)
    return run_cli(["--config", str(config), "--catalog", str(catalog)])


def records(stdout: str) -> dict[str, int]:
    import json

    counts: dict[str, int] = {}
    for line in stdout.splitlines():
        message = json.loads(line)
        if message["type"] == "RECORD":
            counts[message["stream"]] = counts.get(message["stream"], 0) + 1
    return counts


def failures(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "tap-kustomer failed" in line]


@pytest.mark.parametrize("refusal", ["404", "403"])
def test_an_unreachable_assistants_endpoint_never_stops_the_agent_states_job(
    shaped, tmp_path, refusal
):
    token = None
    if refusal == "404":
        shaped.configure(missing_routes=("GET /v1/assistants",))
    else:
        token = "no-assistants"
    result = run(shaped, tmp_path, AGENT_STATES_JOB, token=token)
    assert result.returncode == 0, result.stderr[-2000:]
    counts = records(result.stdout)
    assert "assistants" not in counts
    assert counts["queues"] == len(shaped.org.truth("queues"))
    assert counts["routing_statuses"] == len(shaped.org.truth("routing_statuses"))
    active = [s for s in shaped.org.truth("work_sessions") if s["attributes"]["active"]]
    assert counts["agent_states"] == len(active)
    warnings = [line for line in result.stderr.splitlines() if "Stream assistants skipped" in line]
    assert len(warnings) == 1, result.stderr[-3000:]
    (warning,) = warnings
    assert f"GET /v1/assistants: {refusal}" in warning
    assert "org.permission.assistant.read" in warning
    assert "Assembled's integration document names org.permission.read" in warning
    # Kustomer's own words, whichever body shape carried them.
    kustomer_text = "No route for GET /v1/assistants" if refusal == "404" else "missing required"
    assert kustomer_text in warning
    assert "Skipped 1 of 4 streams: assistants (GET /v1/assistants " in result.stderr
    assert '"type":"SCHEMA","stream":"assistants"' in result.stdout.replace(" ", "")


def test_on_unavailable_stream_fail_stops_the_run(api, tmp_path):
    api.configure(missing_routes=("GET /v1/assistants",))
    try:
        result = run(api, tmp_path, AGENT_STATES_JOB, on_unavailable_stream="fail")
    finally:
        api.configure(missing_routes=())
    assert result.returncode == 1
    (line,) = failures(result.stderr)
    assert "GET /v1/assistants: 404 Not Found" in line
    assert "Traceback" not in result.stderr


def test_a_run_whose_every_stream_is_refused_fails(api, tmp_path):
    api.configure(missing_routes=("GET /v1/assistants",))
    try:
        result = run(api, tmp_path, ("assistants",))
    finally:
        api.configure(missing_routes=())
    assert result.returncode == 1
    (line,) = failures(result.stderr)
    assert "every selected stream was refused: assistants (GET /v1/assistants 404)" in line


def test_routing_streams_without_the_routing_role_are_skipped_and_the_rest_arrive(api, tmp_path):
    streams = ("conversations", "users", "queues", "routing_statuses", "work_sessions")
    result = run(api, tmp_path, streams, token="local-no-routing-token")
    assert result.returncode == 0, result.stderr[-2000:]
    counts = records(result.stdout)
    assert counts["users"] == len(api.org.truth("users"))
    assert counts["conversations"] > 0
    for stream in ("queues", "routing_statuses", "work_sessions"):
        assert stream not in counts
        assert f"Stream {stream} skipped" in result.stderr
    assert "org.permission.routing.read" in result.stderr


@pytest.mark.usefixtures("shaped")
def test_a_token_from_another_region_carries_kustomers_text_in_either_shape(api, tmp_path):
    result = run(api, tmp_path, ("conversations", "users"), token="eu-token")
    assert result.returncode == 1
    (line,) = failures(result.stderr)
    assert "Auth token associated with pod prod2 but request is being handled by prod1" in line
    assert "another Kustomer region" in line
    assert "https://api.prod2.kustomerapp.com" in line


@pytest.mark.usefixtures("shaped")
def test_a_401_stays_fatal_with_kustomers_text(api, tmp_path):
    result = run(api, tmp_path, ("users",), token="not-a-real-token")
    assert result.returncode == 1
    (line,) = failures(result.stderr)
    assert "401 Unauthorized (Invalid token): check api_token" in line


def test_the_test_report_names_documented_roles_beside_the_integration_documents(api, caplog):
    config = {"api_token": "local-no-routing-token", "api_url": api.base_url}
    tap = TapKustomer(config=config)
    with pytest.raises(RuntimeError, match="not readable"):
        tap.check_access()
    report = caplog.text
    assert "queues" in report
    assert "NOT readable" in report
    assert "org.permission.queue.read or org.permission.routing.read or org.user.routing.read" in (
        report
    )
    assert "Assembled's integration document names org.permission.routing.read" not in report
    assert "roles cannot be added to an existing key" in report


def test_retried_errors_carry_kustomers_text_in_either_shape(shaped, caplog, monkeypatch):
    monkeypatch.setattr("time.sleep", lambda _s: None)
    shaped.configure(faults={"503": 0.5})
    try:
        config = {"api_token": shaped.token, "api_url": shaped.base_url, "max_retries": 16}
        tap = TapKustomer(config=config)
        for stream in ("users", "teams", "tags", "queues", "routing_statuses", "assistants"):
            assert list(tap.streams[stream].get_records(None)), stream
    finally:
        shaped.configure(faults={})
    assert "503 Service Unavailable (Injected fault)" in caplog.text
