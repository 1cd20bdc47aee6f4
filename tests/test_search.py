"""Search pagination against request-level fakes: anchors, ties, dedupe, checkpoints."""

from __future__ import annotations

import datetime as dt
import json
import logging

import pytest

from tap_kustomer.client import KustomerClient
from tap_kustomer.pacing import Pacer
from tap_kustomer.records import format_timestamp, parse_timestamp
from tap_kustomer.search import SearchCheckpoint, SearchScan, SearchTieTooLargeError

BASE = "https://api.kustomerapp.com"
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
FAR_FUTURE = T0 + dt.timedelta(days=3650)


def conversation(index: int, updated_at: dt.datetime) -> dict:
    return {
        "type": "conversation",
        "id": f"{index:024x}",
        "attributes": {"updatedAt": format_timestamp(updated_at)},
    }


class FakeSearch:
    """Answers search like Kustomer: gte filter, asc sort with id tiebreak, pages, cap."""

    def __init__(self, objects: list[dict]) -> None:
        self.objects = objects
        self.bodies: list[tuple[int, dict]] = []

    def __call__(self, request, context):
        body = json.loads(request.body)
        page = int(request.qs["page"][0])
        size = int(request.qs["pagesize"][0])
        self.bodies.append((page, body))
        if page * size > 10_000:
            context.status_code = 400
            return {"errors": [{"detail": "page limit exceeded"}]}
        (criterion,) = body["and"]
        gte = parse_timestamp(criterion["conversation_updated_at"]["gte"])
        hits = sorted(
            (o for o in self.objects if parse_timestamp(o["attributes"]["updatedAt"]) >= gte),
            key=lambda o: (o["attributes"]["updatedAt"], o["id"]),
        )
        chunk = hits[(page - 1) * size : page * size]
        more = page * size < len(hits)
        return {
            "meta": {"page": page, "pageSize": size, "total": len(hits), "timed_out": False},
            "links": {
                "next": f"/v1/customers/search?page={page + 1}&pageSize={size}" if more else None
            },
            "data": chunk,
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


def scan_all(client, requests_mock, objects, start=T0, skip=(), page_size=5, lag_floor=FAR_FUTURE):
    fake = FakeSearch(objects)
    requests_mock.post(f"{BASE}/v1/customers/search", json=fake)
    scan = SearchScan(
        client=client,
        context="conversation",
        start=SearchCheckpoint(start, list(skip)),
        lag_floor=lag_floor,
        page_size=page_size,
    )
    seen = []
    for hit in scan.hits():
        seen.append(hit["id"])
        scan.advance(hit)
    return seen, scan, fake


def test_reads_every_object_once_in_updated_order(client, requests_mock):
    objects = [conversation(i, T0 + dt.timedelta(seconds=i // 3)) for i in range(23)]
    seen, scan, fake = scan_all(client, requests_mock, objects)
    assert seen == [o["id"] for o in objects]
    # Keyset: every query restarts at page 1 from the last updatedAt, with gte.
    assert all(page == 1 for page, _ in fake.bodies)
    assert all("gte" in body["and"][0]["conversation_updated_at"] for _, body in fake.bodies)
    assert scan.checkpoint.resume_from == T0 + dt.timedelta(seconds=22 // 3)
    assert scan.checkpoint.skip_ids == [o["id"] for o in objects[21:]]


def test_a_tie_larger_than_a_page_pages_forward_without_loop_or_loss(client, requests_mock):
    tie = [conversation(i, T0 + dt.timedelta(seconds=1)) for i in range(17)]
    objects = [conversation(100, T0), *tie, conversation(200, T0 + dt.timedelta(seconds=2))]
    seen, _, fake = scan_all(client, requests_mock, objects)
    assert seen == [o["id"] for o in objects]
    assert len(seen) == len(set(seen))
    # Re-anchored once on the tie, then paged forward through it.
    assert [page for page, _ in fake.bodies] == [1, 1, 2, 3, 4]


def test_a_tie_beyond_the_search_cap_fails_loudly(client, requests_mock):
    tie = [conversation(i, T0) for i in range(10_001)]
    with pytest.raises(SearchTieTooLargeError, match="share updatedAt"):
        scan_all(client, requests_mock, tie, page_size=500)


def test_resumes_after_the_ids_already_read_at_the_checkpoint(client, requests_mock):
    objects = [conversation(i, T0) for i in range(4)] + [conversation(9, T0 + dt.timedelta(1))]
    seen, _, _ = scan_all(client, requests_mock, objects, skip=[objects[0]["id"], objects[1]["id"]])
    assert seen == [objects[2]["id"], objects[3]["id"], objects[4]["id"]]


def test_the_checkpoint_never_passes_the_indexing_lag_floor(client, requests_mock):
    objects = [conversation(i, T0 + dt.timedelta(minutes=i)) for i in range(10)]
    floor = T0 + dt.timedelta(minutes=4, seconds=30)
    _, scan, _ = scan_all(client, requests_mock, objects, lag_floor=floor)
    assert scan.checkpoint.resume_from == floor
    assert scan.checkpoint.skip_ids == []
