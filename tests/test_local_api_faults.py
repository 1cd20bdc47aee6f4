"""The local API's injected faults: what each does, and that they are decided deterministically."""

from __future__ import annotations

import random
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from kustomer_api import LocalKustomer, OrgSpec
from kustomer_api.faults import FAULT_KINDS
from local_api_client import SEARCH, ids, session

pytest_plugins = ("local_api_fixtures",)


@pytest.mark.parametrize("kind", FAULT_KINDS)
def test_fault_injected_counted_and_harmless(fresh, kind):
    fresh.configure(faults={kind: 1.0}, slow_seconds=0.2, mutate_during_search=1)
    before = fresh.org.truth_index("messages")
    body = {"queryContext": "message"}
    with session(fresh.token) as client:
        if kind == "timed_out":
            # Only searches can time out.
            assert client.get(fresh.base_url + "/v1/tags", timeout=10).status_code == 200
        started = time.monotonic()
        call = lambda: client.post(  # noqa: E731
            fresh.base_url + SEARCH, params={"pageSize": 100}, json=body, timeout=10
        )
        if kind == "reset":
            with pytest.raises(requests.exceptions.RequestException):
                call()
        else:
            response = call()
            check_fault_response(kind, response, time.monotonic() - started)
    stats = fresh.stats()
    assert stats["faults"] == {kind: 1}
    # A faulted request changes nothing, even with mutate_during_search on.
    assert stats["search_mutations"] == 0
    assert fresh.org.truth_index("messages") == before
    fresh.configure(faults={})
    with session(fresh.token) as client:
        assert client.post(fresh.base_url + SEARCH, json=body, timeout=10).status_code == 200
    assert fresh.stats()["search_mutations"] == 2


def check_fault_response(kind: str, response: requests.Response, elapsed: float) -> None:
    if kind in ("500", "502", "503"):
        assert response.status_code == int(kind)
        assert response.json()["errors"][0]["status"] == kind
    elif kind == "429":
        assert response.status_code == 429
        assert response.headers["x-ratelimit-remaining"] == "0"
        assert response.json()["errors"][0]["code"] == "too_many_requests"
    elif kind == "truncate":
        assert response.status_code == 200
        assert int(response.headers["Content-Length"]) == len(response.content)
        with pytest.raises(ValueError, match=r".+"):
            response.json()
    elif kind == "slow":
        assert response.status_code == 200
        assert elapsed >= 0.2
    else:
        page = response.json()
        assert page["meta"]["timed_out"] is True
        assert page["meta"]["total"] > 100
        assert len(page["data"]) < 100


def test_reset_fault_closes_only_that_connection(fresh):
    fresh.configure(faults={"reset": 0.5})
    with session(fresh.token) as client:

        def outcome() -> int | str:
            try:
                return client.get(fresh.base_url + "/v1/tags", timeout=10).status_code
            except requests.exceptions.RequestException:
                return "reset"

        outcomes = [outcome() for _ in range(20)]
    assert outcomes.count("reset") == fresh.stats()["faults"]["reset"]
    assert 200 in outcomes


def run_requests(server, calls: list[tuple], order: list[int]) -> dict[tuple, list]:
    """Issue ``calls`` in ``order`` from 8 threads; the outcomes of each distinct call."""

    def one(index: int) -> tuple[tuple, tuple]:
        method, path, params, body = calls[index]
        with session(server.token) as client:
            response = client.request(
                method,
                server.base_url + path,
                params=params,
                json=dict(body) if body else None,
                timeout=10,
            )
        data = response.json() if response.status_code == 200 else None
        page = (ids(data["data"]), data["meta"].get("timed_out")) if data else None
        return calls[index], (response.status_code, page)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(one, order))
    grouped: dict[tuple, list] = {}
    for call, outcome in results:
        grouped.setdefault(call, []).append(outcome)
    return {call: sorted(found, key=repr) for call, found in grouped.items()}


def test_fault_decisions_do_not_depend_on_thread_timing():
    spec = OrgSpec(seed=3, conversations=60, now=time.time())
    faults = {"500": 0.15, "503": 0.1, "429": 0.1, "timed_out": 0.3}
    distinct = [
        ("GET", "/v1/conversations", (("page", n), ("pageSize", 5)), None) for n in range(1, 13)
    ]
    distinct += [("GET", "/v1/tags", (("page", n), ("pageSize", 3)), None) for n in range(1, 9)]
    distinct += [
        ("POST", SEARCH, (("pageSize", size),), (("queryContext", context),))
        for size in (10, 20, 30, 40)
        for context in ("conversation", "message")
    ]
    # Every call twice: the second is a retry and gets a decision of its own.
    calls = distinct * 2
    shuffled = list(range(len(calls)))
    random.Random(5).shuffle(shuffled)
    outcomes, stats = [], []
    for seed, order in ((None, range(len(calls))), (None, shuffled), (99, range(len(calls)))):
        with LocalKustomer(
            spec, org_rpm=100_000, search_rpm=100_000, faults=faults, faults_seed=seed
        ) as server:
            outcomes.append(run_requests(server, calls, list(order)))
            stats.append(server.stats()["faults"])
    assert outcomes[0] == outcomes[1]
    assert stats[0] == stats[1]
    assert sum(stats[0].values()) > 5
    assert outcomes[2] != outcomes[0]  # another faults_seed, other decisions
    timed_out = [page for found in outcomes[0].values() for _, page in found if page and page[1]]
    assert timed_out  # and which items those drop is decided the same way
    # A retry is decided afresh: some call fails once and succeeds once.
    assert any(len({repr(o) for o in found}) > 1 for found in outcomes[0].values())
