"""``tap-kustomer --plan``: the counts a plan needs, asked of the org, and the flag.

A handful of requests through the tap's own client (paced, same key and errors):
per search context the search totals (``meta.total``) of what a backfill reads (search
since the horizon, the archive search before it), of the minute job's first window and
of the last 24 hours; pages of 500 conversations (and messages, for attachments) as the
sample of how many need a request of their own; page 1 of each selected list stream;
the org's rate limit from their headers (or the key's token, when only searches were
sent), which sets the budget the wall times are priced at. ``plan.estimate`` prices them.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import json
import math
import os
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import parse_qs, urlsplit

import click

from tap_kustomer.client import (
    ARCHIVE_SEARCH_PATH,
    LIST_PAGE_SIZE,
    SEARCH_PATH,
    BadRequestError,
    NotFoundError,
    PermissionDeniedError,
)
from tap_kustomer.mapping import TicketRules, needs_messages
from tap_kustomer.plan import (
    AGENT_STATES_STREAM,
    CONTEXT_OF,
    Counts,
    PlanSettings,
    Volume,
    estimate,
    render,
)
from tap_kustomer.records import format_timestamp, relationship_id
from tap_kustomer.search import attribute_prefix
from tap_kustomer.streams.history import horizon
from tap_kustomer.streams.klasses import KlassObjectsStream

if TYPE_CHECKING:
    from collections.abc import Callable

    from tap_kustomer.streams.conversations import ConversationEventsStream, TicketsStream
    from tap_kustomer.tap import TapKustomer

# Search's largest page: the samples the per-conversation shares come from.
SAMPLE_SIZE = 500
DAY = dt.timedelta(hours=24)
# Where ``meltano invoke`` puts the extractor's ``select`` rules.
MELTANO_SELECT = "MELTANO_EXTRACT__SELECT"
# Doubling then bisection finds a list's last page; a list longer than this is a guess.
_MAX_LIST_PAGE = 2**20


class PlanError(ValueError):
    """The org's answers cannot be priced (a search without ``meta.total``)."""


# The audit log is read once a run (audit.AuditTrail), shared with every stream's deletes:
# its size since the last run is unknown until read.
LOG_STREAM_COSTS: dict[str, tuple[float | None, str]] = {
    "audit_logs": (
        1.0,
        (
            "one audit-log scan a run, shared with every stream's deletes: +1 per 100 new "
            "entries (the first run reads the whole log)"
        ),
    ),
    "conversation_status_changes": (0.0, "the audit_logs scan"),
}


class _Org:
    """The plan's questions to the org, through the tap's client."""

    def __init__(self, tap: TapKustomer, sampled: set[str]) -> None:
        self.tap = tap
        # The contexts whose newest (and oldest archived) 500 objects are kept as samples.
        self.sampled = sampled
        self.samples: dict[str, list[dict[str, Any]]] = {context: [] for context in sampled}
        self.client = tap.run.client
        self.now = tap.run.started_at
        self.start = tap.run.start_date
        self.horizon = horizon(self.now)
        self.lookback = dt.timedelta(hours=tap.config["incremental_lookback_hours"])

    def total(
        self, context: str, since: dt.datetime, *, archive: bool = False, sample: bool = False
    ) -> int:
        """Objects of ``context`` updated since ``since``, from one search's ``meta.total``."""
        key = f"{attribute_prefix(context)}_updated_at"
        body: dict[str, Any] = {
            "queryContext": context,
            "and": [{key: {"gte": format_timestamp(since)}}],
            "includeDeleted": True,
        }
        if sample:  # the newest, as the minute job sees them
            body["sort"] = [{key: "desc"}]
        size = SAMPLE_SIZE if sample else 1
        document = self.client.search(body, page=1, page_size=size, archive=archive)
        data = document.get("data") or []
        if sample:
            self.samples[context] += data
        total = (document.get("meta") or {}).get("total")
        if isinstance(total, int):
            return total
        if len(data) < size:
            return len(data)
        path = ARCHIVE_SEARCH_PATH if archive else SEARCH_PATH
        msg = f"POST {path} reported no meta.total: the plan cannot count {context}s"
        raise PlanError(msg)

    def volume_or_refused(self, context: str) -> Volume | None:
        """The context's volume since start_date; None where the org refuses the context."""
        try:
            return self.volume(context, self.start)
        except BadRequestError:
            return None

    def volume(self, context: str, since: dt.datetime, like: Volume | None = None) -> Volume:
        """What a backfill, the first incremental run and a day hold of ``context``.

        ``like``: a volume of the same context from an earlier start, whose minute-job
        counts this one shares when ``since`` is older than the minute job's windows.
        """
        sample = context in self.sampled and like is None
        recent = self.total(context, max(since, self.horizon), sample=sample)
        history: int | None = 0
        note = ""
        if since < self.horizon:
            try:
                history = self.total(context, since, archive=True, sample=sample)
            except (PermissionDeniedError, NotFoundError) as exc:
                history = None
                note = f"history cost unknown: the archive search answered {exc.status}"
        first_from = max(since, self.now - self.lookback)
        if like is not None and since <= min(first_from, self.now - DAY):
            return Volume(recent, history, like.first_run, like.day, note)
        day = self.total(context, max(since, self.now - DAY))
        first_run = day if first_from == self.now - DAY else self.total(context, first_from)
        return Volume(recent, history, first_run, day, note)

    def list_pages(self, stream: Any) -> tuple[float | None, str]:  # noqa: ANN401 - a ListStream
        """Pages one run reads of a list stream, every pass; a refusal costs its one request."""
        if stream.name in LOG_STREAM_COSTS:
            return LOG_STREAM_COSTS[stream.name]
        path = getattr(stream, "path", None)
        if path is None:
            return None, "not priced by the plan"
        page_size = getattr(stream, "page_size", LIST_PAGE_SIZE)
        passes: tuple[dict[str, str], ...] = getattr(stream, "passes", ({},))
        notes: list[str] = []
        try:
            pages = sum(self._pass_pages(path, page_size, p, notes) for p in passes)
        except (PermissionDeniedError, NotFoundError) as exc:
            return 1, f"GET {path} answered {exc.status}: the run skips it"
        return pages, "; ".join(notes)

    def _pass_pages(
        self, path: str, page_size: int, filters: dict[str, str], notes: list[str]
    ) -> int:
        try:
            return self._pages(path, {"pageSize": page_size, **filters})
        except BadRequestError:
            # An undocumented parameter refused: the run drops that pass (ListStream).
            notes.append(f"GET {path} refused {', '.join(filters)}: that pass is dropped")
            return 1

    def _pages(self, path: str, params: dict[str, Any]) -> int:
        first = self.client.get(path, {"page": 1, **params})
        links = first.get("links") or {}
        if not first.get("data") or not links.get("next"):
            return 1
        last = parse_qs(urlsplit(str(links.get("last") or "")).query).get("page")
        if last and last[0].isdigit():
            return int(last[0])

        def has_data(page: int) -> bool:
            try:
                return bool(self.client.get(path, {"page": page, **params}).get("data"))
            except BadRequestError:  # a page past the list's reach
                return False

        return _last_page(has_data)


def _last_page(has_data: Callable[[int], bool]) -> int:
    """The last page with data, page 1 and 2 having it: doubling, then bisection."""
    low, high = 2, None
    while high is None or high - low > 1:
        page = low * 2 if high is None else (low + high) // 2
        if page > _MAX_LIST_PAGE:
            return low
        if has_data(page):
            low = page
        else:
            high = page
    return low


def measure(tap: TapKustomer) -> tuple[Counts, PlanSettings]:
    """Ask the org what the selected streams will meet, and the settings that price it."""
    config = tap.config
    contexts = {
        **CONTEXT_OF,
        **{
            name: stream.query_context
            for name, stream in tap.streams.items()
            if isinstance(stream, KlassObjectsStream)
        },
    }
    order = list(contexts)  # the search streams first, the conversation scan's on top
    selected = tuple(
        sorted(
            (name for name, stream in tap.streams.items() if stream.selected),
            key=lambda name: (order.index(name) if name in order else len(order), name),
        )
    )
    org = _Org(tap, {"conversation", *(["message"] if "attachments" in selected else [])})
    volumes = _volumes(tap, org, selected, contexts)
    events = None
    events_start = _events_start(tap)
    if "conversation_events" in selected and events_start > org.start:
        events = org.volume("conversation", events_start, like=volumes["conversation"])
    list_costs = {
        name: org.list_pages(tap.streams[name])
        for name in selected
        if name not in contexts and name != AGENT_STATES_STREAM
    }
    conversations = org.samples["conversation"]
    tickets = cast("TicketsStream", tap.streams["tickets"])
    share, pages = _tickets_needing_messages(conversations, tickets.rules)
    counts = Counts(
        volumes=volumes,
        events=events,
        needs_messages_share=share,
        message_pages=pages,
        sample_size=len(conversations),
        attachment_requests=_attachment_requests(org.samples.get("message", [])),
        list_pages={name: pages for name, (pages, _) in list_costs.items()},
        notes={name: note for name, (_, note) in list_costs.items() if note},
    )
    # The budget the run would keep, from the org's limit that the requests above told.
    budget = tap.run.client.org_budget()
    settings = PlanSettings(
        streams=selected,
        requests_per_minute=budget.effective,
        searches_per_minute=config["max_search_requests_per_minute"],
        page_size=config["page_size"],
        search_lag_seconds=config["search_lag_seconds"],
        lookback_hours=config["incremental_lookback_hours"],
        history=org.start < org.horizon,
        agent_states_snapshots=config["agent_states_snapshots"],
        budget=budget,
        contexts=contexts,
    )
    return counts, settings


def _volumes(
    tap: TapKustomer, org: _Org, selected: tuple[str, ...], contexts: dict[str, str]
) -> dict[str, Volume]:
    """The volume of each selected context; where the org refuses one, the streams' own.

    A refused ``kobject`` prices the Klass streams at their own contexts, as the run then
    reads them, and ``kobjects`` at nothing (it is skipped).
    """
    volumes: dict[str, Volume] = {}
    for context in dict.fromkeys(contexts[s] for s in selected if s in contexts):
        volume = org.volume_or_refused(context)
        if volume is not None:
            volumes[context] = volume
            continue
        volumes[context] = Volume(0, 0, 0, 0, note=f"the org refuses queryContext {context}")
        for name in selected:
            stream = tap.streams[name]
            if contexts.get(name) == context and isinstance(stream, KlassObjectsStream):
                own = stream.own_context
                if own is not None:
                    contexts[name] = own
                    volumes[own] = org.volume(own, org.start)
    return volumes


def _tickets_needing_messages(
    conversations: list[dict[str, Any]], rules: TicketRules
) -> tuple[float, float]:
    """The share of sampled conversations whose ticket reads their messages, and its pages."""
    needing = [
        attributes
        for hit in conversations
        if needs_messages(attributes := hit.get("attributes") or {}, rules)
    ]
    share = len(needing) / len(conversations) if conversations else 0.0
    return share, _mean([_pages_of(a.get("messageCount")) for a in needing], default=1.0)


def _attachment_requests(messages: list[dict[str, Any]]) -> float:
    """Requests per message for attachments: conversations with a file among the sample's."""
    with_files = {
        relationship_id(message, "conversation")
        for message in messages
        if ((message.get("relationships") or {}).get("attachments") or {}).get("data")
    }
    return len(with_files) / len(messages) if messages else 0.0


def _events_start(tap: TapKustomer) -> dt.datetime:
    """Where conversation_events starts reading, as the stream itself decides."""
    return cast("ConversationEventsStream", tap.streams["conversation_events"]).window_start


def _pages_of(message_count: object) -> float:
    """Pages of 100 that reading a conversation's messages takes."""
    count = message_count if isinstance(message_count, int) else 0
    return float(max(1, math.ceil(count / LIST_PAGE_SIZE)))


def _mean(values: list[float], *, default: float) -> float:
    return sum(values) / len(values) if values else default


def report(tap: TapKustomer) -> str:
    """The plan of ``tap``'s selected streams, as ``--plan`` prints it."""
    counts, settings = measure(tap)
    plan = estimate(counts, settings)
    client = tap.run.client
    searches = sum(n for key, n in client.requests_by_endpoint.items() if "search" in key)
    events_start = _events_start(tap)
    preamble = [
        (
            f"Plan for {len(settings.streams)} selected streams of {client.api_url}: "
            f"start_date {tap.run.start_date:%Y-%m-%d}, events from {events_start:%Y-%m-%d}, "
            f"search horizon {horizon(tap.run.started_at):%Y-%m-%d}."
        ),
        (
            f"Counted with {client.request_count} requests ({searches} searches); "
            f"{counts.needs_messages_share:.0%} of a sample of {counts.sample_size:,} "
            "conversations need their messages for tickets."
        ),
    ]
    return render(plan, preamble)


def add_plan_option(command: click.Command, tap_class: type[TapKustomer]) -> None:
    """Give the tap's command ``--plan``: print the plan of the selected streams, exit 0."""
    command.params.append(
        click.Option(
            ["--plan"],
            is_flag=True,
            help=(
                "Print the cost of the backfill and of the minute job for the selected "
                "streams (objects, requests, wall time at the tap's budget: "
                "max_requests_per_minute, capped at org_budget_percent of the org's rate "
                "limit), from a handful of requests, and exit."
            ),
        )
    )
    invoke = command.callback
    if invoke is None:  # pragma: no cover - the SDK's command always has one
        return

    def callback(*, plan: bool = False, **params: Any) -> Any:  # noqa: ANN401 - click's
        if not plan or params.get("about"):
            return invoke(**params)
        config = params["config"]
        catalog = params.get("catalog")
        catalog_dict = None if catalog is None else json.loads(catalog.read())
        rules = _meltano_select()
        if catalog_dict is None and rules is not None:
            discovered = tap_class(config=config.config, parse_env_config=config.parse_env)
            catalog_dict = select(discovered.catalog_dict, rules)
        tap = tap_class(
            config=config.config, catalog=catalog_dict, parse_env_config=config.parse_env
        )
        click.echo(report(tap), nl=False)
        return None

    command.callback = callback


def _meltano_select() -> list[str] | None:
    """The extractor's ``select`` rules, which ``meltano invoke`` passes in the environment.

    Meltano applies them to the catalog only for a sync (an invocation without
    arguments), so ``meltano invoke <extractor> --plan`` gets no catalog: the plan
    applies the rules itself, to price the streams the job syncs.
    """
    try:
        rules = json.loads(os.environ.get(MELTANO_SELECT, "null"))
    except ValueError:
        return None
    if isinstance(rules, list) and all(isinstance(rule, str) for rule in rules):
        return rules
    return None


def select(catalog: dict[str, Any], rules: list[str]) -> dict[str, Any]:
    """``catalog`` with the streams Meltano's rules pick selected, the others not.

    A rule is ``<stream>.<property>`` with globs; ``!<stream>.*`` leaves a stream out.
    """

    def matches(name: str, rule: str) -> bool:
        return fnmatch.fnmatchcase(name, rule.partition(".")[0])

    included = [rule for rule in rules if not rule.startswith("!")]
    excluded = [rule[1:] for rule in rules if rule.startswith("!")]
    excluded = [rule for rule in excluded if rule.partition(".")[2] in ("", "*")]
    for entry in catalog["streams"]:
        name = entry["tap_stream_id"]
        chosen = any(matches(name, r) for r in included)
        chosen = chosen and not any(matches(name, r) for r in excluded)
        for item in entry["metadata"]:
            if item["breadcrumb"] == []:
                item["metadata"]["selected"] = chosen
    return catalog
