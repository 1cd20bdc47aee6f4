"""Search pagination against request-level fakes: anchors, ties, dedupe, checkpoints."""

from __future__ import annotations

import datetime as dt
import json
import logging
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tap_kustomer.client import KustomerClient
from tap_kustomer.pacing import Pacer
from tap_kustomer.records import format_timestamp, parse_timestamp
from tap_kustomer.search import (
    ScanCursor,
    SearchCheckpoint,
    SearchScan,
    SearchTieTooLargeError,
    hit_key,
)

BASE = "https://api.kustomerapp.com"
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
FAR_FUTURE = T0 + dt.timedelta(days=3650)


def conversation(index: int, updated_at: dt.datetime, created_at: dt.datetime = T0) -> dict:
    return {
        "type": "conversation",
        "id": f"{index:024x}",
        "attributes": {
            "updatedAt": format_timestamp(updated_at),
            "createdAt": format_timestamp(created_at),
        },
    }


_OPERATORS = {
    "gte": lambda a, b: a >= b,
    "gt": lambda a, b: a > b,
    "lte": lambda a, b: a <= b,
}


def _key(obj: dict, attribute: str) -> object:
    name = attribute.removeprefix("conversation_")
    if name == "id":
        return obj["id"]
    return parse_timestamp(obj["attributes"]["updatedAt" if name == "updated_at" else "createdAt"])


class FakeSearch:
    """Answers search like Kustomer's index: criteria, one sort key, pages, the cap.

    Equal sort keys come back in a new random order on every request (nothing in
    Kustomer's documentation promises a tiebreak), and ``edit`` may change objects
    between requests, as other users do while a scan pages.
    """

    def __init__(self, objects: list[dict], *, seed: int = 0, edit=None) -> None:
        self.objects = objects
        self.bodies: list[tuple[int, dict]] = []
        self.rng = random.Random(seed)
        self.edit = edit

    def __call__(self, request, context):
        body = json.loads(request.body)
        page = int(request.qs["page"][0])
        size = int(request.qs["pagesize"][0])
        self.bodies.append((page, body))
        if page * size > 10_000:
            context.status_code = 400
            return {"errors": [{"detail": "page limit exceeded"}]}
        hits = list(self.objects)
        for criterion in body["and"]:
            ((attribute, operation),) = criterion.items()
            ((operator, operand),) = operation.items()
            bound = operand if attribute.endswith("_id") else parse_timestamp(operand)
            hits = [o for o in hits if _OPERATORS[operator](_key(o, attribute), bound)]
        ((sort_key, _),) = body["sort"][0].items()
        self.rng.shuffle(hits)
        hits.sort(key=lambda o: _key(o, sort_key))
        chunk = hits[(page - 1) * size : page * size]
        more = page * size < len(hits)
        served = json.loads(json.dumps(chunk))
        if self.edit is not None:
            self.edit(chunk)  # after serving: the next request sees the edit
        return {
            "meta": {"page": page, "pageSize": size, "total": len(hits), "timed_out": False},
            "links": {
                "next": f"/v1/customers/search?page={page + 1}&pageSize={size}" if more else None
            },
            "data": served,
        }


@pytest.fixture
def client():
    pacer = Pacer(requests_per_minute=10**6, searches_per_minute=100, sleep=lambda _s: None)
    pacer._search_interval = 0  # unit tests do not wait for the search budget
    return KustomerClient(
        api_url=BASE,
        token="t",
        user_agent="test",
        pacer=pacer,
        timeout_seconds=5,
        max_tries=1,
        logger=logging.getLogger("test"),
    )


def scan_all(
    client, requests_mock, objects, start=T0, skip=(), page_size=5, lag_floor=FAR_FUTURE, fake=None
):
    fake = fake or FakeSearch(objects)
    requests_mock.post(f"{BASE}/v1/customers/search", json=fake)
    start_at = SearchCheckpoint(start, list(skip))
    scan = SearchScan(client=client, context="conversation", start=start_at, page_size=page_size)
    cursor = ScanCursor(start_at, lag_floor=lag_floor)
    seen = []
    for hit in scan.hits():
        seen.append(hit["id"])
        assert cursor.wants(*hit_key(hit))
        cursor.advance(*hit_key(hit))
    return seen, cursor, fake


def test_reads_every_object_once_in_updated_order(client, requests_mock):
    objects = [conversation(i, T0 + dt.timedelta(seconds=i // 3)) for i in range(23)]
    seen, scan, fake = scan_all(client, requests_mock, objects)
    # In updatedAt order; ties come in whatever order the index gives.
    assert [int(i, 16) // 3 for i in seen] == [i // 3 for i in range(23)]
    assert sorted(seen) == [o["id"] for o in objects]
    # Keyset: every query restarts at page 1 from the last updatedAt, with gte.
    assert all(page == 1 for page, _ in fake.bodies)
    assert all("gte" in body["and"][0]["conversation_updated_at"] for _, body in fake.bodies)
    assert scan.checkpoint.resume_from == T0 + dt.timedelta(seconds=22 // 3)
    assert sorted(scan.checkpoint.skip_ids) == [o["id"] for o in objects[21:]]


def test_a_tie_larger_than_a_page_is_walked_by_creation_time(client, requests_mock):
    tie = [
        conversation(i, T0 + dt.timedelta(seconds=1), T0 - dt.timedelta(hours=i)) for i in range(17)
    ]
    objects = [conversation(100, T0), *tie, conversation(200, T0 + dt.timedelta(seconds=2))]
    seen, _, fake = scan_all(client, requests_mock, objects)
    assert sorted(seen) == sorted(o["id"] for o in objects)
    assert len(seen) == len(set(seen))
    # Never an offset: every query reads page 1.
    assert {page for page, _ in fake.bodies} == {1}
    walk = [body for _, body in fake.bodies if body["sort"] == [{"conversation_created_at": "asc"}]]
    assert walk, "the tie was walked by createdAt"
    assert {"conversation_updated_at": {"lte": format_timestamp(T0 + dt.timedelta(seconds=1))}} in (
        walk[0]["and"]
    )
    # After the walk the scan moves strictly past the tied updatedAt.
    assert any(
        c.get("conversation_updated_at", {}).get("gt") for _, b in fake.bodies for c in b["and"]
    )


def test_a_tie_on_both_times_is_walked_by_id(client, requests_mock):
    tie = [conversation(i, T0, T0) for i in range(12)]
    seen, _, fake = scan_all(client, requests_mock, tie)
    assert sorted(seen) == sorted(o["id"] for o in tie)
    assert any(body["sort"] == [{"conversation_id": "asc"}] for _, body in fake.bodies)


def test_a_tie_on_every_key_fails_loudly(client, requests_mock):
    same = conversation(1, T0, T0)
    with pytest.raises(SearchTieTooLargeError, match="share every key"):
        scan_all(client, requests_mock, [dict(same) for _ in range(6)])


moments = st.integers(min_value=0, max_value=4).map(lambda s: T0 + dt.timedelta(seconds=s))


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    times=st.lists(st.tuples(moments, moments), min_size=1, max_size=40),
    page_size=st.integers(min_value=2, max_value=7),
    seed=st.integers(min_value=0, max_value=10**6),
    edits=st.lists(st.integers(min_value=0, max_value=39), max_size=6),
)
def test_nothing_is_skipped_whatever_the_tie_order_and_the_edits(
    client, requests_mock, times, page_size, seed, edits
):
    """Ties in a new order per request, and served objects edited between requests:
    every object's last version is read, and updatedAt never goes backwards."""
    objects = [conversation(i, updated, created) for i, (updated, created) in enumerate(times)]
    later = [T0 + dt.timedelta(minutes=1)]
    pending = list(edits)

    def edit(chunk):
        if pending and chunk:
            target = chunk[pending.pop() % len(chunk)]
            later[0] += dt.timedelta(milliseconds=1)
            target["attributes"]["updatedAt"] = format_timestamp(later[0])

    fake = FakeSearch(objects, seed=seed, edit=edit)
    requests_mock.post(f"{BASE}/v1/customers/search", json=fake)
    checkpoint = SearchCheckpoint(T0)
    read = []
    # This run, then the next one from its checkpoint (which sees the last edits).
    for _run in range(2):
        scan = SearchScan(
            client=client, context="conversation", start=checkpoint, page_size=page_size
        )
        cursor = ScanCursor(checkpoint, lag_floor=FAR_FUTURE)
        run = []
        for hit in scan.hits():
            run.append((hit["id"], hit["attributes"]["updatedAt"]))
            cursor.advance(*hit_key(hit))
        stamps = [updated for _, updated in run]
        assert stamps == sorted(stamps)
        read += run
        checkpoint = cursor.checkpoint
        pending.clear()
    final = {(o["id"], o["attributes"]["updatedAt"]) for o in objects}
    assert final <= set(read)


def test_resumes_after_the_ids_already_read_at_the_checkpoint(client, requests_mock):
    objects = [conversation(i, T0) for i in range(4)] + [conversation(9, T0 + dt.timedelta(1))]
    seen, _, _ = scan_all(client, requests_mock, objects, skip=[objects[0]["id"], objects[1]["id"]])
    assert sorted(seen[:2]) == [objects[2]["id"], objects[3]["id"]]
    assert seen[2:] == [objects[4]["id"]]


def test_the_checkpoint_never_passes_the_indexing_lag_floor(client, requests_mock):
    objects = [conversation(i, T0 + dt.timedelta(minutes=i)) for i in range(10)]
    floor = T0 + dt.timedelta(minutes=4, seconds=30)
    _, scan, _ = scan_all(client, requests_mock, objects, lag_floor=floor)
    assert scan.checkpoint.resume_from == floor
    assert scan.checkpoint.skip_ids == []
