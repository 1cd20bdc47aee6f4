"""The tap's request budget: a share of the org's rate limit (x-ratelimit-limit).

Kustomer's limit is per org and shared by every key and integration (300/min on
Professional, 500 on Business, 1,000 on Enterprise, 2,000 on Ultimate): the tap keeps
``org_budget_percent`` of it, never more than ``max_requests_per_minute``.
"""

from __future__ import annotations

import logging

import pytest
from conftest import cli_config, run_cli, run_tap, select_streams
from hypothesis import given, settings
from hypothesis import strategies as st
from kustomer_api import LocalKustomer, OrgSpec
from test_pacing import ARRIVAL_JITTER, FakeClock, max_in_any_window

import tap_kustomer.run as run_module
from tap_kustomer.client import KustomerClient
from tap_kustomer.pacing import Pacer, RequestBudget
from tap_kustomer.plan import estimate, render
from tap_kustomer.plan_api import measure
from tap_kustomer.tap import TapKustomer

BASE = "https://acme.api.kustomerapp.com"
# The defaults of max_requests_per_minute, org_budget_share and the search budget.
DEFAULT_MAX = 500
DEFAULT_SHARE = 0.5
SEARCHES = 50


def paced(clock: FakeClock, rpm: int = DEFAULT_MAX, share: float = DEFAULT_SHARE) -> Pacer:
    return Pacer(
        requests_per_minute=rpm,
        searches_per_minute=SEARCHES,
        org_budget_share=share,
        logger=logging.getLogger("tap-kustomer-test"),
        clock=clock,
        wall_clock=clock,
        sleep=clock.sleep,
    )


def limit(value: int | str) -> dict[str, str]:
    return {"x-ratelimit-limit": str(value)}


def gap_between_two_requests(pacer: Pacer, clock: FakeClock) -> float:
    pacer.acquire()
    first = clock.now
    pacer.acquire()
    return clock.now - first


@pytest.mark.parametrize(
    ("org_limit", "budget"), [(300, 150), (500, 250), (1_000, 500), (2_000, 500)]
)
def test_each_plans_limit_gives_its_share_never_above_the_configured_max(org_limit, budget):
    clock = FakeClock()
    pacer = paced(clock)
    pacer.observe(limit(org_limit), rate_limited=False)
    assert pacer.budget.effective == budget
    assert gap_between_two_requests(pacer, clock) == pytest.approx(60 / budget)


def test_an_explicit_lower_max_wins_and_the_log_says_so_once(caplog):
    clock = FakeClock()
    pacer = paced(clock, rpm=100)
    with caplog.at_level(logging.INFO, logger="tap-kustomer-test"):
        for _ in range(3):
            pacer.observe(limit(1_000), rate_limited=False)
    assert pacer.budget.effective == 100
    assert gap_between_two_requests(pacer, clock) == pytest.approx(0.6)
    assert caplog.messages == [
        (
            "Org rate limit 1,000/min: the tap uses 100/min, its max_requests_per_minute, "
            "which is lower (org_budget_percent 50 would allow 500/min)"
        )
    ]


def test_a_later_limit_moves_the_budget_but_never_above_the_configured_max(caplog):
    clock = FakeClock()
    pacer = paced(clock)
    with caplog.at_level(logging.INFO, logger="tap-kustomer-test"):
        pacer.observe(limit(300), rate_limited=False)
        assert gap_between_two_requests(pacer, clock) == pytest.approx(0.4)
        pacer.observe(limit(2_000), rate_limited=False)
    assert pacer.budget.effective == DEFAULT_MAX
    clock.now += 60  # past the windows of the requests above
    assert gap_between_two_requests(pacer, clock) == pytest.approx(60 / DEFAULT_MAX)
    assert caplog.messages == [
        "Org rate limit 300/min: the tap uses 150/min (org_budget_percent 50)",
        (
            "Org rate limit 2,000/min: the tap uses 500/min, its max_requests_per_minute, "
            "which is lower (org_budget_percent 50 would allow 1,000/min)"
        ),
    ]


def test_a_lowered_limit_counts_the_requests_already_sent_at_once():
    clock = FakeClock()
    pacer = paced(clock)
    sent = []
    for _ in range(200):  # 24 s at the configured 500/min, before any limit is known
        pacer.acquire()
        sent.append(clock.now)
    pacer.observe(limit(300), rate_limited=False)
    lowered = len(sent)
    for _ in range(200):
        pacer.acquire()
        sent.append(clock.now)
    # No window holding a request sent after the limit was known holds more than 150.
    window = 60 + ARRIVAL_JITTER
    for moment in sent[lowered:]:
        assert sum(moment - window <= t <= moment for t in sent) <= 150
    # The first of them waited for the window, not just 0.4 s.
    assert sent[lowered] - sent[lowered - 1] > 30


@settings(max_examples=100, deadline=None)
@given(
    rpm=st.integers(min_value=1, max_value=2_000),
    share=st.floats(min_value=0.01, max_value=1),
    limits=st.lists(st.sampled_from([None, 1, 7, 300, 500, 1_000, 2_000]), min_size=1),
    gaps=st.lists(st.floats(min_value=0, max_value=2), min_size=1),
)
def test_no_window_ever_holds_more_than_the_budget_of_its_last_request(rpm, share, limits, gaps):
    """The org's limit moves up and down while requests go out: each request is sent
    when the 60 s before it hold fewer than the budget then in force."""
    clock = FakeClock()
    pacer = paced(clock, rpm=rpm, share=share)
    sent: list[tuple[float, int]] = []
    for index in range(300):
        clock.now += gaps[index % len(gaps)]
        org_limit = limits[index % len(limits)]
        if org_limit is not None:
            pacer.observe(limit(org_limit), rate_limited=False)
        budget = pacer.budget.effective
        pacer.acquire()
        sent.append((clock.now, budget))
    window = 60 + ARRIVAL_JITTER
    for moment, budget in sent:
        assert sum(moment - window <= t <= moment for t, _ in sent) <= budget


@pytest.mark.parametrize("value", ["0", "-300", "soon", "inf", "nan"])
def test_a_broken_limit_header_leaves_the_budget_alone(value):
    pacer = paced(FakeClock())
    pacer.observe(limit(value), rate_limited=False)
    assert pacer.budget.effective == DEFAULT_MAX
    assert pacer.budget.org_limit is None


@pytest.mark.parametrize(("share", "org_limit", "budget"), [(0.29, 100, 29), (0.7, 1_000, 700)])
def test_a_share_is_not_rounded_down_by_floating_point(share, org_limit, budget):
    # 100 * 0.29 is 28.999999999999996 in floating point.
    assert RequestBudget(2_000, share, org_limit).effective == budget


def test_a_tiny_limit_still_allows_one_request_a_minute():
    pacer = paced(FakeClock())
    pacer.observe(limit(1), rate_limited=False)
    assert pacer.budget.effective == 1


# ---- the client: only non-search responses tell the org's limit ---------------------------


@pytest.fixture
def pacer():
    return Pacer(
        requests_per_minute=DEFAULT_MAX,
        searches_per_minute=SEARCHES,
        org_budget_share=DEFAULT_SHARE,
        sleep=lambda _seconds: None,
    )


@pytest.fixture
def client(pacer):
    return KustomerClient(
        api_url=BASE,
        token="canary-token-7c2e",
        user_agent="tap-kustomer/test",
        pacer=pacer,
        timeout_seconds=5,
        max_tries=2,
        logger=logging.getLogger("tap-kustomer-test"),
    )


PAGE = {"meta": {"total": 0}, "links": {"next": None}, "data": []}


def test_the_client_takes_the_org_limit_from_non_search_responses_only(
    client, pacer, requests_mock
):
    # A search's x-ratelimit-limit may be the search budget's (100/min): never the org's.
    requests_mock.post(f"{BASE}/v1/customers/search", json=PAGE, headers=limit(100))
    requests_mock.post(f"{BASE}/v1/customers/archive/search", json=PAGE, headers=limit(100))
    requests_mock.get(f"{BASE}/v1/users", json=PAGE, headers=limit(300))
    client.search({"queryContext": "conversation"}, page=1, page_size=1)
    client.search({"queryContext": "conversation"}, page=1, page_size=1, archive=True)
    assert (pacer.budget.org_limit, pacer.budget.effective) == (None, DEFAULT_MAX)
    client.get("/v1/users")
    assert (pacer.budget.org_limit, pacer.budget.effective) == (300, 150)
    assert client.org_budget() == pacer.budget
    assert requests_mock.call_count == 3  # known already: org_budget sent nothing


def test_after_searches_alone_the_org_limit_comes_from_the_keys_token(client, requests_mock):
    requests_mock.post(f"{BASE}/v1/customers/search", json=PAGE, headers=limit(100))
    token = requests_mock.get(
        f"{BASE}/v1/auth/tokens/current", json={"data": {}}, headers=limit(500)
    )
    client.search({"queryContext": "conversation"}, page=1, page_size=1)
    budget = client.org_budget()
    assert (budget.org_limit, budget.effective) == (500, 250)
    assert token.call_count == 1


# ---- end to end: the local API's org limit, its arrival log, --test and --plan -------------


@pytest.mark.slow
def test_default_settings_keep_to_half_a_professional_orgs_limit_in_every_window(caplog):
    # 158 conversations: a page of events each (a few two) and the search, 0.4 s apart at
    # 150/min: over 60 s, so the fullest 60-second window is full.
    spec = OrgSpec(seed=41, conversations=158, history_days=300)
    with LocalKustomer(spec, org_rpm=300, latency_ms=50) as api:
        config = {"api_token": api.token, "api_url": api.base_url}
        with caplog.at_level(logging.INFO):
            result = run_tap(config, streams=("conversation_events",))
        times = sorted(api.request_times()["requests"])
        stats = api.stats()
        expected = len(api.org.truth("conversation_events"))
    fullest = max_in_any_window(times)
    summary = f"{len(times)} requests in {times[-1] - times[0]:.1f} s, fullest window {fullest}"
    print(summary)
    assert fullest <= 150, summary
    assert stats["rate_limited"] == 0
    # Request-bound for more than a minute: the fullest window is full, not just sparse.
    assert times[-1] - times[0] > 60, summary
    assert fullest >= 140, summary
    assert len(result.records["conversation_events"]) == expected
    org_lines = [m for m in caplog.messages if m.startswith("Org rate limit")]
    assert org_lines == ["Org rate limit 300/min: the tap uses 150/min (org_budget_percent 50)"]


@pytest.fixture(scope="module")
def business_org():
    with LocalKustomer(OrgSpec(seed=43, conversations=20, history_days=200), org_rpm=500) as api:
        yield api


def test_the_connection_test_ends_with_the_orgs_limit_and_the_taps_budget(business_org, tmp_path):
    # From a file, as the SDK reads it: the share arrives as a Decimal.
    config = cli_config(business_org, tmp_path, org_budget_percent=80)
    result = run_cli(["--config", str(config), "--test"])
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [line for line in result.stderr.splitlines() if "readable" in line or "Org " in line]
    expected = "Org rate limit 500/min: the tap uses 400/min (org_budget_percent 80)"
    assert expected in lines[-2], lines[-3:]  # after every stream's line, before "All ..."
    assert "All " in lines[-1]


@pytest.fixture
def sleepless(monkeypatch):
    """In-process runs keep the tap's budgets but skip their waits."""
    monkeypatch.setattr(run_module, "Pacer", lambda **kw: Pacer(**kw, sleep=lambda _seconds: None))


@pytest.mark.usefixtures("sleepless")
def test_the_plan_prices_wall_time_at_the_share_of_the_orgs_limit(business_org):
    config = {"api_token": business_org.token, "api_url": business_org.base_url}
    discovered = TapKustomer(config=config).catalog_dict
    catalog = select_streams(discovered, ["conversations"])
    business_org.reset_stats()
    counts, settings = measure(TapKustomer(config=config, catalog=catalog))
    plan = estimate(counts, settings)
    text = render(plan)
    assert settings.requests_per_minute == 250
    backfill = plan.backfill
    assert backfill.minutes == pytest.approx(max(backfill.requests / 250, backfill.searches / 50))
    assert "Org rate limit 500/min: the tap uses 250/min (org_budget_percent 50)." in text
    assert "Budget assumed: 250 requests/min" in text
    # Only searches counted: one read of the key's token told the org's limit.
    assert business_org.stats()["by_route"]["GET /v1/auth/tokens/current"] == 1
