"""Lists that stop at 10,000 records lose nothing silently; work sessions read what changed.

Kustomer's lists are reported to stop at 10,000 records; how they refuse past it is
unknown, so the local API answers each plausible way (``list_cap_mode``: a 400, an empty
page, or a list that just ends), in each plausible order of work sessions
(``work_sessions_order``). A list the tap can narrow (work sessions, user by user) arrives
whole; one it cannot fails the run in one line once the other streams have finished.
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
import random
import time

import pytest
from conftest import (
    SyncResult,
    catalog_for,
    cli_config,
    run_cli,
    run_tap,
    unlimited_api,
    write_json,
)
from kustomer_api import OrgSpec

from tap_kustomer.client import (
    LIST_REACH,
    BadRequestError,
    KustomerClient,
    ListUnreachableError,
)
from tap_kustomer.pacing import Pacer
from tap_kustomer.records import format_timestamp
from tap_kustomer.run import UnreadListsError

SESSIONS = "work_sessions"
ALL_SESSIONS = "GET /v1/routing/work-sessions"
USER_SESSIONS = "GET /v1/routing/users/{id}/work-sessions"
ORDERS = ("asc", "desc", "sortable")
# 653 work sessions (25 agents' 20 days of shifts and their open ones, and those of agents
# deactivated since): past a cap of 200.
SMALL = OrgSpec(seed=19, conversations=40, history_days=1200, work_session_days=20)
# Over 10,000 work sessions: 25 agents, 405 days of daily shifts.
BIG = OrgSpec(seed=23, conversations=40, history_days=1200, work_session_days=405)
SMALL_CAP = 200


@pytest.fixture(scope="module")
def small():
    with unlimited_api(SMALL) as api:
        yield api


@pytest.fixture
def fresh():
    """The small org as seeded, for a test that changes its sessions."""
    with unlimited_api(SMALL) as api:
        yield api


@pytest.fixture(scope="module")
def big():
    with unlimited_api(BIG, list_max_records=10_000) as api:
        yield api


def config(api) -> dict:
    return {"api_token": api.token, "api_url": api.base_url, "start_date": "2020-01-01T00:00:00Z"}


def missing(api, *runs: SyncResult) -> list[str]:
    """Sessions whose last version (the local API's truth) no run emitted."""
    latest: dict[str, str] = {}
    for run in runs:
        for record in run.records.get(SESSIONS, []):
            latest[record["id"]] = max(latest.get(record["id"], ""), record["updated_at"])
    truth = {o["id"]: o["attributes"]["updatedAt"] for o in api.org.truth(SESSIONS)}
    return [i for i, updated in truth.items() if latest.get(i) != updated]


def new_id(rng: random.Random) -> str:
    return f"{int(time.time()):08x}{rng.getrandbits(64):016x}"


def reopen_an_old_session(api, days: int = 4) -> None:
    """An agent signed in ``days`` ago and still is: pages of sessions started after theirs."""
    org, bound = api.org, time.time() - days * 86_400
    with org.lock:
        session = next(
            s
            for s in org.objects(SESSIONS)
            if int(s["id"][:8], 16) >= bound and not s["attributes"]["active"]
        )
        session["attributes"].update(active=True, statusType="available", signedOutAt=None)
        org.bump([session])


def change_sessions(api, *, shifts: int = 40) -> None:
    """Between runs: the three oldest open sessions sign out, and agents signed in then start
    and end ``shifts`` sessions more, and one starts."""
    org, rng = api.org, random.Random()
    now = format_timestamp(dt.datetime.now(dt.timezone.utc))
    with org.lock:
        sessions = org.objects(SESSIONS)
        signed_in = [s for s in sessions if s["attributes"]["active"]]
        ended = signed_in[:3]
        assert ended, "the org has open sessions"
        for session in ended:
            attributes = session["attributes"]
            attributes.update(active=False, routable=False, statusType="offline", signedOutAt=now)
        added = []
        for index in range(shifts + 1):
            session = copy.deepcopy(rng.choice(signed_in))
            session["id"] = new_id(rng)
            session["links"]["self"] = f"/v1/routing/work-sessions/{session['id']}"
            still_open = index == shifts
            session["attributes"].update(
                active=still_open,
                statusType="available" if still_open else "offline",
                createdAt=now,
                signedInAt=now,
                signedOutAt=None if still_open else now,
            )
            added.append(session)
        sessions.extend(added)
        sessions.sort(key=lambda o: o["id"])
        org.bump([*ended, *added])


def add_copies(api, stream: str, count: int) -> None:
    """``count`` more live objects of ``stream``, made after every seeded one."""
    org, rng = api.org, random.Random(7)
    with org.lock:
        objects = org.objects(stream)
        template = next(o for o in objects if not o["attributes"].get("deleted"))
        for _ in range(count):
            obj = copy.deepcopy(template)
            obj["id"] = new_id(rng)
            objects.append(obj)
        objects.sort(key=lambda o: o["id"])


# ---- the client: every list route, each way a list can refuse ---------------------------


def local_client(api) -> KustomerClient:
    pacer = Pacer(requests_per_minute=10**7, searches_per_minute=10**7, sleep=lambda _s: None)
    return KustomerClient(
        api_url=api.base_url,
        token=api.token,
        user_agent="tap-kustomer/test",
        pacer=pacer,
        timeout_seconds=10,
        max_tries=1,
        logger=logging.getLogger("test_list_caps"),
    )


@pytest.mark.parametrize("mode", ["error", "empty"])
def test_every_list_route_reports_a_page_past_its_reach(small, mode):
    api = small
    agent = next(
        u["id"]
        for u in api.org.truth("users")
        if u["attributes"]["userType"] == "user" and not u["attributes"]["deleted"]
    )
    paths = (
        "/v1/users",
        "/v1/tags",
        "/v1/conversations",
        "/v1/messages",
        "/v1/routing/work-sessions",
        f"/v1/routing/users/{agent}/work-sessions",
    )
    client = local_client(api)
    api.configure(list_max_records=20, list_cap_mode=mode)
    try:
        for path in paths:
            read, refused = read_list(client, path, page_size=10)
            assert refused is not None, path
            assert (refused.page, refused.reached, len(read)) == (3, 20, 20), path
    finally:
        api.configure(list_max_records=0, list_cap_mode="error")
    for path in paths:  # uncapped, every one ends on its own
        read, refused = read_list(client, path, page_size=10)
        assert refused is None, path
        assert len(read) > 20, path


def read_list(
    client: KustomerClient, path: str, page_size: int
) -> tuple[list[dict], ListUnreachableError | None]:
    """The objects of every page served, and how the list stopped short, if it did."""
    read: list[dict] = []
    try:
        for page in client.iter_pages(path, {"page": 1, "pageSize": page_size}):
            read += page["data"]
    except ListUnreachableError as exc:
        return read, exc
    return read, None


def test_a_list_that_stops_short_by_its_own_account_is_a_gap(requests_mock):
    base = "https://acme.api.kustomerapp.com"
    client = KustomerClient(
        api_url=base,
        token="t",
        user_agent="tap-kustomer/test",
        pacer=Pacer(requests_per_minute=10**7, searches_per_minute=10**7, sleep=lambda _s: None),
        timeout_seconds=5,
        max_tries=1,
        logger=logging.getLogger("test_list_caps"),
    )

    def page(count: int, *, next_page: int | None = None, **meta) -> dict:
        link = f"/v1/teams?page={next_page}&pageSize=5000" if next_page else None
        return {"meta": meta, "links": {"next": link}, "data": [{"id": "x"}] * count}

    def read(*pages: dict) -> list[dict]:
        requests_mock.get(f"{base}/v1/teams", [{"json": p} for p in pages])
        return list(client.iter_pages("/v1/teams", {"page": 1, "pageSize": 5000}))

    assert len(read(page(5000, next_page=2), page(3))) == 2  # a short last page: the end
    assert len(read(page(0))) == 1  # an empty list
    with pytest.raises(ListUnreachableError, match="an empty page where the page before"):
        read(page(5000, next_page=2), page(0))
    with pytest.raises(ListUnreachableError, match=r"meta\.totalPages is 3"):
        read(page(5000, next_page=2), page(4000, totalPages=3))
    with pytest.raises(ListUnreachableError, match=f"exactly {LIST_REACH:,} records"):
        read(page(5000, next_page=2), page(5000))
    requests_mock.get(f"{base}/v1/teams", status_code=400, json={})
    with pytest.raises(BadRequestError):  # the query itself, not a page past the reach
        list(client.iter_pages("/v1/teams", {"page": 1}))


# ---- work sessions: narrowed user by user past the cap, then read by what changed ------


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("mode", ["error", "empty", "uncapped"])
def test_sessions_arrive_whole_and_the_next_run_has_every_change(fresh, order, mode, unpaced):
    api = fresh
    cap = 0 if mode == "uncapped" else SMALL_CAP
    api.configure(list_max_records=cap, list_cap_mode=mode if cap else "error")
    api.configure(work_sessions_order=order)
    assert len(api.org.truth(SESSIONS)) > SMALL_CAP
    reopen_an_old_session(api)
    first = run_tap(config(api), streams=(SESSIONS,))
    narrowed = api.stats()["by_route"].get(USER_SESSIONS, 0) > 0
    assert narrowed == bool(cap), "read user by user past the cap only"
    assert not missing(api, first)
    change_sessions(api)
    api.reset_stats()
    again = run_tap(config(api), state=first.state, streams=(SESSIONS,))
    routes = api.stats()["by_route"]
    assert not missing(api, first, again), f"{order}, {mode}"
    if order != "asc" or not cap:  # only the pages of what changed, in all users' list
        assert set(routes) == {ALL_SESSIONS}, routes
        assert routes[ALL_SESSIONS] <= 3, routes


@pytest.mark.slow
@pytest.mark.parametrize(("order", "mode"), [("asc", "silent"), ("desc", "empty")])
def test_past_ten_thousand_sessions_nothing_is_lost_and_later_runs_cost_little(
    big, order, mode, unpaced
):
    api = big
    assert len(api.org.truth(SESSIONS)) > LIST_REACH
    api.configure(list_cap_mode=mode, work_sessions_order=order)
    reopen_an_old_session(api)
    api.reset_stats()
    first = run_tap(config(api), streams=(SESSIONS,))
    full = api.stats()["requests"]
    assert not missing(api, first)
    assert len(first.ids(SESSIONS)) == len(set(first.ids(SESSIONS))), "each session once"
    change_sessions(api)
    api.reset_stats()
    again = run_tap(config(api), state=first.state, streams=(SESSIONS,))
    later = api.stats()["requests"]
    assert not missing(api, first, again)
    print(f"\n{order}/{mode}: full run {full} requests, next run {later}")
    assert later * 3 <= full


# ---- what cannot be narrowed fails the run; what is not documented degrades -------------


def test_an_agent_past_the_reach_of_their_own_list_fails_the_run(fresh, unpaced):
    add_copies(fresh, SESSIONS, 150)  # one agent's: 150 sessions more
    agent = fresh.org.objects(SESSIONS)[-1]["relationships"]["user"]["data"]["id"]
    fresh.configure(list_max_records=100)
    with pytest.raises(UnreadListsError) as failed:
        run_tap(config(fresh), streams=(SESSIONS,))
    assert (
        f"work_sessions: GET /v1/routing/users/{agent}/work-sessions?sort=desc stopped at page 2"
        in str(failed.value)
    )


def test_lists_that_cannot_be_narrowed_fail_the_run_in_one_line(tmp_path):
    # 280 tags and 653 sessions past a cap of 200; no per-user route to narrow the sessions.
    with unlimited_api(SMALL, list_max_records=SMALL_CAP, missing_routes=(USER_SESSIONS,)) as api:
        add_copies(api, "tags", 250)
        config_path = cli_config(api, tmp_path)
        selected = catalog_for(config(api), (SESSIONS, "tags", "users"))
        catalog = write_json(tmp_path / "catalog.json", selected)
        run = run_cli(["--config", str(config_path), "--catalog", str(catalog)])
        users = {u["id"] for u in api.org.truth("users")}
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    (line,) = [x for x in run.stderr.splitlines() if "tap-kustomer failed" in x]
    assert "tags: GET /v1/tags stopped at page 3, after 200 records" in line
    assert (
        "work_sessions: GET /v1/routing/work-sessions?user=false&sort=desc stopped at page 3, "
        "after 200 records" in line
    )
    assert "reading it user by user failed" in line
    for stream in ("tags", SESSIONS):
        assert run.stderr.count(f"{stream}: records left unread") == 1, stream
    result = SyncResult.parse(run.stdout)
    assert set(result.ids("users")) == users, "the other streams finished"
    assert "window" not in result.state["bookmarks"][SESSIONS], "the next run reads it again"


def test_deleted_refused_where_undocumented_drops_that_pass_only(small, caplog, unpaced):
    api = small
    api.configure(undocumented_params="rejected")
    try:
        # Completing is the command's exit code 0: it exits 1 on any exception.
        result = run_tap(config(api), streams=("users", "teams", "tags", SESSIONS))
    finally:
        api.configure(undocumented_params="accepted")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    for stream in ("teams", "tags"):
        said = [w for w in warnings if w.startswith(f"{stream}: /v1/{stream} refused")]
        assert len(said) == 1, (stream, warnings)
        assert "deleted=true" in said[0]
        live = {o["id"] for o in api.org.truth(stream) if not o["attributes"]["deleted"]}
        assert set(result.ids(stream)) == live, stream
    streams = ("users:", "teams:", "tags:", f"{SESSIONS}:")
    assert len([w for w in warnings if w.startswith(streams)]) == 2, warnings
    assert set(result.ids("users")) == {u["id"] for u in api.org.truth("users")}
    assert not missing(api, result), "sort refused: the sessions are read without it"
