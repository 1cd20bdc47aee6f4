"""The pacing component: budgets per 60 s window, server headers, 429 pauses."""

from __future__ import annotations

import bisect
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tap_kustomer.pacing import Pacer, retry_after_seconds, seconds_until_reset


class FakeClock:
    """A clock that only moves when the pacer sleeps (or a test advances it)."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def make_pacer(clock: FakeClock, rpm: int = 500, search_rpm: int = 50) -> Pacer:
    return Pacer(
        requests_per_minute=rpm,
        searches_per_minute=search_rpm,
        clock=clock,
        wall_clock=clock,
        sleep=clock.sleep,
    )


# Less than the pacer's margin: how much later than another a request may arrive.
ARRIVAL_JITTER = 0.49


def max_in_any_window(times: list[float], window: float = 60.0) -> int:
    """The most request times that fall in any closed window [t, t + 60]."""
    times = sorted(times)
    return max(bisect.bisect_right(times, t + window) - i for i, t in enumerate(times))


@settings(max_examples=200, deadline=None)
@given(
    rpm=st.integers(min_value=1, max_value=2000),
    search_rpm=st.integers(min_value=1, max_value=100),
    kinds=st.lists(st.booleans(), min_size=1, max_size=400),
    gaps=st.lists(st.floats(min_value=0, max_value=2), min_size=1, max_size=400),
    answers=st.lists(st.sampled_from(["ok", "low", "429"]), min_size=1, max_size=50),
)
def test_never_exceeds_either_budget_in_any_60_second_window(rpm, search_rpm, kinds, gaps, answers):
    """Closed windows, from the first request, with 429 retries and server slow-downs.

    Windows are widened by the arrival jitter the pacer allows for: the server counts a
    request when it arrives, up to that much later than another one.
    """
    clock = FakeClock()
    pacer = make_pacer(clock, rpm, search_rpm)
    sent: list[float] = []
    searches: list[float] = []
    for index, is_search in enumerate(kinds):
        clock.now += gaps[index % len(gaps)]  # the caller's own work between requests
        answer = answers[index % len(answers)]
        if answer != "ok":
            # A retried request: a 429 pause, or headers saying the org's budget runs low.
            headers = {"x-ratelimit-remaining": "3", "x-ratelimit-reset": "5"}
            pacer.observe(headers, rate_limited=answer == "429", search=is_search)
        pacer.acquire(search=is_search)
        sent.append(clock.now)
        if is_search:
            searches.append(clock.now)
    assert max_in_any_window(sent, 60.0 + ARRIVAL_JITTER) <= rpm
    if searches:
        assert max_in_any_window(searches, 60.0 + ARRIVAL_JITTER) <= search_rpm


def test_spaces_requests_evenly_instead_of_bursting():
    clock = FakeClock()
    pacer = make_pacer(clock, rpm=600)
    times = []
    for _ in range(5):
        pacer.acquire()
        times.append(clock.now)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert gaps == pytest.approx([0.1] * 4)


def test_a_429_stops_every_request_until_the_reset():
    clock = FakeClock(start=1_700_000_000.0)
    pacer = make_pacer(clock, rpm=6000)
    pacer.acquire()
    reset = clock.now + 42
    pause = pacer.observe(
        {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(reset))},
        rate_limited=True,
    )
    assert pause == pytest.approx(reset - clock.now, abs=1)
    pacer.acquire()
    assert clock.now >= int(reset)


def test_a_429_honours_retry_after_over_the_reset_header():
    clock = FakeClock(start=1_700_000_000.0)
    pacer = make_pacer(clock)
    pause = pacer.observe(
        {"Retry-After": "7", "x-ratelimit-reset": str(int(clock.now + 50))}, rate_limited=True
    )
    assert pause == 7
    start = clock.now
    pacer.acquire()
    assert clock.now - start == pytest.approx(7)


def test_slows_down_when_the_orgs_shared_budget_runs_low():
    clock = FakeClock(start=1_700_000_000.0)
    pacer = make_pacer(clock, rpm=1000)
    # Other integrations left 25 requests for the 30 s before the reset.
    pacer.observe(
        {"x-ratelimit-remaining": "25", "x-ratelimit-reset": str(int(clock.now + 30))},
        rate_limited=False,
    )
    pacer.acquire()
    first = clock.now
    pacer.acquire()
    assert clock.now - first == pytest.approx(30 / 20)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1700000042", 42.0),  # epoch seconds
        ("1700000042000", 42.0),  # epoch milliseconds
        ("17", 17.0),  # seconds to wait
        ("1699999990", 0.0),  # already past
        ("99999999999", 120.0),  # absurdly far: capped so a bad header cannot freeze a sync
        ("soon", None),
        (None, None),
    ],
)
def test_reads_every_form_of_the_reset_header(value, expected):
    assert seconds_until_reset(value, now=1_700_000_000.0) == expected


@pytest.mark.parametrize(("value", "expected"), [("3", 3.0), ("-1", None), ("Wed", None)])
def test_reads_retry_after_in_seconds(value, expected):
    assert retry_after_seconds(value) == expected


def test_a_searchs_headers_space_searches_only():
    clock = FakeClock(start=1_700_000_000.0)
    pacer = make_pacer(clock, rpm=6000, search_rpm=100)
    # A search answer whose headers may describe the search budget: 10 left for 50 s.
    pacer.observe(
        {"x-ratelimit-remaining": "15", "x-ratelimit-reset": str(int(clock.now + 50))},
        rate_limited=False,
        search=True,
    )
    start = clock.now
    pacer.acquire()
    pacer.acquire()
    assert clock.now - start == pytest.approx(0.01)  # other requests keep their own pace
    pacer.acquire(search=True)
    first_search = clock.now
    pacer.acquire(search=True)
    assert clock.now - first_search == pytest.approx(50 / 10)
