"""``POST /v1/customers/search`` and its archive twin: paging, the 2-year horizon, the page cap,
timed-out searches, and the switches that make ties and mid-walk edits visible."""

from __future__ import annotations

import json
import math
import random
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kustomer_api import search
from kustomer_api.faults import unit
from kustomer_api.handlers.objects import kobjects_of
from kustomer_api.paging import envelope, links, page_and_size
from kustomer_api.protocol import HttpError, Reply, route

if TYPE_CHECKING:
    from kustomer_api.app import App
    from kustomer_api.protocol import Request

SEARCH_MAX_PAGES = 100
SEARCH_MAX_RESULTS = 10_000
# Search and archive search document exactly these (OAS, developer.kustomer.com).
_SEARCH_ROLES = (
    "org.user.search.read",
    "org.admin.search.read",
    "org.permission.search.create",
    "org.permission.search.update",
    "org.permission.search_global.create",
    "org.permission.search_preview.create",
)
_CACHED_SEARCHES = 64


@dataclass
class _Found:
    """A cached search result (before the horizon), and its runs of equal sort keys."""

    objects: list[dict]
    runs: list[tuple[int, int]] | None = None  # computed on first use


@dataclass
class SearchState:
    """What searches remember between requests (read and changed with ``org.lock`` held)."""

    generation: int = 0  # the org generation the cache was filled at
    cache: dict[tuple, _Found] = field(default_factory=dict)
    searches: int = 0  # successful searches, for mutate_during_search
    tie_requests: int = 0  # shuffled-tie requests, seeding each permutation


def customer_search(app: App, request: Request) -> Reply:
    return _search(app, request, archive=False)


def archive_search(app: App, request: Request) -> Reply:
    # Documented with the same body and paging as search, serving only what is older than
    # the 2-year horizon. Its "limited number of attributes" is not modelled (every search
    # attribute works), and that it shares search's cap, meta and timeouts is [?].
    return _search(app, request, archive=True)


def _search(app: App, request: Request, *, archive: bool) -> Reply:
    page, size = page_and_size(request, 500)
    if page > SEARCH_MAX_PAGES or page * size > SEARCH_MAX_RESULTS:
        detail = (
            f"Search page limit exceeded: page {page} with pageSize {size} is beyond "
            f"{SEARCH_MAX_PAGES} pages or {SEARCH_MAX_RESULTS} results"
        )
        raise HttpError(400, detail)
    try:
        body = json.loads(request.body) if request.body.strip() else {}
    except ValueError as exc:
        raise HttpError(400, "Body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise HttpError(400, "Body must be a JSON object")
    # A missing queryContext means customers (reference §4.1 [I]).
    context = body.get("queryContext", "customer")
    config = request.config
    if context == "kobject" and config.kobject_context == "refused":
        # Kustomer documents per-Klass contexts only; how it answers `kobject` is [?].
        detail = (
            f"queryContext kobject is not supported: use {search.KLASS_CONTEXT_PREFIX}<klass name>"
        )
        raise HttpError(400, detail)
    try:
        found = _matching(app, body, context)
    except search.SearchError as exc:
        raise HttpError(400, str(exc)) from exc
    matches = found.objects
    if config.tie_order == "shuffled":
        matches = _shuffled_ties(app, found, body, context)
    if archive and context in config.archive_refused_contexts:
        # The archive search documents some contexts only; how it answers another is [?].
        if config.archive_refusal == "error":
            raise HttpError(400, f"queryContext {context} is not supported by archive search")
        matches = []
    cutoff_us = int((time.time() - config.search_horizon_days * 86_400) * 1_000_000)
    horizon = search.beyond_horizon if archive else search.within_horizon
    visible = horizon(matches, cutoff_us)
    total_pages = math.ceil(len(visible) / size)
    start = (page - 1) * size
    items = visible[start : start + size]
    timed_out = request.fault == "timed_out"
    if timed_out:
        # Which items a timed-out search drops is decided by the request's fault hash.
        key = request.fault_key
        items = [o for n, o in enumerate(items, start) if unit(key, b"%d" % n) < 0.5]
    meta = {
        "pageSize": size,
        "page": page,
        "total": len(visible),
        "totalPages": total_pages,
        "aggregations": {},
        "timed_out": timed_out,
    }
    # `next` is advertised even when it points past the page cap, like the real API.
    page_links = links(request, page, size, has_next=page < total_pages, last=max(1, total_pages))
    reply = Reply(200, envelope(app.org, meta, page_links, items))
    if request.fault is None:
        _after_search(app, visible)
        _edit_tied(app, context, items)
    return reply


def _matching(app: App, body: dict, context: str) -> _Found:
    state = app.searches
    if state.generation != app.org.generation:
        state.cache.clear()
        state.generation = app.org.generation
    base, klass = search.split_context(context)  # first: a context that is no string is refused
    key = (context, json.dumps(body, sort_keys=True, default=str))
    found = state.cache.get(key)
    if found is None:
        objects = app.org.objects(search.CONTEXTS[base])
        if klass is not None:
            of_klass = kobjects_of(app.org, klass)
            if of_klass is None:
                msg = f"queryContext {context!r} names no Klass of the org"
                raise search.SearchError(msg)
            objects = of_klass
        found = _Found(search.matching(objects, body, context))
        if len(state.cache) >= _CACHED_SEARCHES:
            state.cache.clear()
        state.cache[key] = found
    return found


def _shuffled_ties(app: App, found: _Found, body: dict, context: str) -> list[dict]:
    """``tie_order="shuffled"``: a new order among equal sort keys on every request.

    Elasticsearch promises no tiebreak, so pages of one tie may overlap or skip records.
    The permutation comes from the org seed and a per-request counter (reproducible).
    """
    if found.runs is None:
        found.runs = search.tie_runs(found.objects, body, context)
    app.searches.tie_requests += 1
    rng = random.Random(f"{app.org.spec.seed}:ties:{app.searches.tie_requests}")
    ordered = list(found.objects)
    for start, end in found.runs:
        run = ordered[start:end]
        rng.shuffle(run)
        ordered[start:end] = run
    return ordered


def _after_search(app: App, visible: list[dict]) -> None:
    """``mutate_during_search``: every K-th search bumps 2 records the query can see."""
    every = app.config.mutate_during_search
    if every <= 0:
        return
    app.searches.searches += 1
    if app.searches.searches % every == 0 and visible:
        bumped = app.org.bump(app.org.sample(visible, 2))
        app.counters.add("search_mutations", len(bumped))


def _edit_tied(app: App, context: str, served: list[dict]) -> None:
    """``edit_tied_records``: edit one tied record this response served, while others
    still sit at the tie (an already-served record edited before the tie's next page)."""
    if app.config.edit_tied_records <= 0:
        return
    stream = search.CONTEXTS.get(context)
    tie = app.org.tie_at.get(stream) if stream else None
    if stream is None or tie is None:
        return
    tied = [o for o in served if o["attributes"].get("updatedAt") == tie]
    if not tied:
        return
    still = sum(1 for o in app.org.objects(stream) if o["attributes"].get("updatedAt") == tie)
    if still < 2 or not app.count_down("edit_tied_records"):
        return
    edited = app.org.bump(app.org.sample(tied, 1))
    app.counters.add("tie_edits", len(edited))
    app.counters.add("tie_edited_ids", edited)


ROUTES = (
    route("POST", "/v1/customers/search", _SEARCH_ROLES, customer_search, search=True),
    route(
        "POST",
        "/v1/customers/archive/search",
        _SEARCH_ROLES,
        archive_search,
        search=True,
        archive=True,
    ),
)
