"""The server's settings (``LocalKustomer(**settings)``, ``configure``, ``/__admin/configure``)
and their validation."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

from kustomer_api.faults import FAULT_KINDS
from kustomer_api.handlers import ROUTE_NAMES


@dataclass(frozen=True)
class Config:
    latency_ms: float = 0
    faults: dict[str, float] = field(default_factory=dict)
    retry_after: bool = False
    org_rpm: int = 1000
    search_rpm: int = 100
    other_consumer_rpm: float = 0
    slow_seconds: float = 5.0
    mutate_during_search: int = 0
    # "id": equal sort keys come back in id order; "shuffled": in a new order on every request.
    tie_order: str = "id"
    # How many more already-served tied records to edit, one per search response serving them.
    edit_tied_records: int = 0
    # "on", "forbidden" (403 as without the role) or "missing" (404 as without the endpoint).
    archive_search: str = "on"
    # Where search ends and the archive begins, in days back: "updated in the past two years"
    # is all Kustomer documents, so 700 and 760 are as plausible as 730.
    search_horizon_days: int = 730
    # Query contexts the archive search refuses (it documents messages, conversations,
    # companies and custom objects only), answering as archive_refusal says: "error" (400)
    # or "empty" (200 with no objects). Each by its exact name: "kobject" refuses no
    # per-Klass context ("kobject_<klass name>").
    archive_refused_contexts: tuple[str, ...] = ()
    archive_refusal: str = "error"
    # Whether GET /v1/notes ignores `sort=desc` (its sort parameter is [?]).
    notes_sort_ignored: bool = False
    # > 0: paged GET lists refuse pages starting at or past this many records.
    list_max_records: int = 0
    # What a refused list page answers: "error" (400) or "empty" (200 with no data); "silent":
    # like "empty", and the last page under the cap advertises no `next` either.
    list_cap_mode: str = "error"
    # The order of work-session lists ([?] in the reference): "asc" (oldest first, `sort`
    # ignored), "desc" (newest first, `sort` ignored) or "sortable" (oldest first unless
    # `sort=desc`).
    work_sessions_order: str = "asc"
    # "jsonapi": {status, code, title, detail} entries; "code_message": {code, message, meta}.
    error_shape: str = "jsonapi"
    # Whether org.permission.search.read grants (archive) search.
    accept_search_read_role: bool = False
    # Seed of the fault decisions; None: the org's seed.
    faults_seed: int | None = None
    # Route names ("GET /v1/assistants") this org or region lacks: they answer 404.
    missing_routes: tuple[str, ...] = ()
    # How related objects come, where Kustomer's reference is silent ([?]). Attachments:
    # "on" (include=attachments on a conversation's messages gives them in `included`) or
    # "ignored" (no `included`). SLA versions asked on the list: "included", "embedded"
    # (attributes.versions) or "per_sla" (an empty `included`: only GET /v1/slas/{id}?versions=
    # gives them).
    # Holidays: "included" (with include=holidays), "embedded" (attributes.holidays, always)
    # or "per_schedule" (only GET /v1/schedules/{id}?include=holidays gives them).
    attachments_include: str = "on"
    sla_versions_shape: str = "included"
    holidays_shape: str = "included"
    # With "rejected", the parameters no list page documents answer 400: versions on
    # GET /v1/slas, include on GET /v1/schedules, deleted on /v1/teams and /v1/tags, sort on
    # the work-session lists (``paging.undocumented``).
    undocumented_params: str = "accepted"
    # The single `kobject` search context (every Klass's KObjects; Kustomer documents only
    # `kobject_<klass name>`): "accepted", or "refused" (400 in search and archive search).
    kobject_context: str = "accepted"
    # "on", or "forbidden": every GET /v1/metadata/{resource} answers 403 as without the role.
    metadata_route: str = "on"
    # The audit log, GET /v1/audit-logs, where Kustomer's reference is silent ([?]). The
    # route: "on", or "forbidden" (403 as without the role).
    audit_logs_route: str = "on"
    # Its order: "newest_first" or "oldest_first".
    audit_order: str = "newest_first"
    # "honoured", or "ignored": `after` and `before` change nothing (links.next still pages).
    audit_after: str = "honoured"
    # Entries older than this many days are not served (expiresAt = createdAt + this).
    audit_retention_days: int = 90
    # A KObject's objectType: "klass" ("kobject.<klass name>", as metadata resources are
    # named) or "plain" ("kobject").
    audit_kobject_type: str = "klass"
    # The changed fields: "nested" (changes.attributes.<field>) or "flat" (changes.<field>),
    # each {before, after}; which one Kustomer serves is [?].
    audit_changes: str = "nested"


SETTINGS = tuple(f.name for f in fields(Config))
_CHOICES = {
    "tie_order": ("id", "shuffled"),
    "archive_search": ("on", "forbidden", "missing"),
    "archive_refusal": ("error", "empty"),
    "list_cap_mode": ("error", "empty", "silent"),
    "work_sessions_order": ("asc", "desc", "sortable"),
    "error_shape": ("jsonapi", "code_message"),
    "attachments_include": ("on", "ignored"),
    "sla_versions_shape": ("included", "embedded", "per_sla"),
    "holidays_shape": ("included", "embedded", "per_schedule"),
    "undocumented_params": ("accepted", "rejected"),
    "kobject_context": ("accepted", "refused"),
    "metadata_route": ("on", "forbidden"),
    "audit_logs_route": ("on", "forbidden"),
    "audit_order": ("newest_first", "oldest_first"),
    "audit_after": ("honoured", "ignored"),
    "audit_kobject_type": ("klass", "plain"),
    "audit_changes": ("nested", "flat"),
}


def changed(config: Config, changes: dict[str, Any]) -> Config:
    """``config`` with ``changes`` applied, validated."""
    unknown = sorted(set(changes) - set(SETTINGS))
    if unknown:
        msg = f"unknown setting(s) {', '.join(unknown)}; expected {', '.join(sorted(SETTINGS))}"
        raise TypeError(msg)
    return validated(replace(config, **changes))


def validated(config: Config) -> Config:
    numbers = ("latency_ms", "org_rpm", "search_rpm", "other_consumer_rpm", "slow_seconds")
    integers = (
        "mutate_during_search",
        "edit_tied_records",
        "list_max_records",
        "search_horizon_days",
        "audit_retention_days",
    )
    for name in (*numbers, *integers):
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            msg = f"{name} must be a number, got {value!r}"
            raise TypeError(msg)
        if value < 0:
            msg = f"{name} must not be negative, got {value!r}"
            raise ValueError(msg)
    for name in integers:
        if not isinstance(getattr(config, name), int):
            msg = f"{name} must be an integer"
            raise TypeError(msg)
    for name, allowed in _CHOICES.items():
        value = getattr(config, name)
        if value not in allowed:
            msg = f"{name} must be one of {', '.join(allowed)}, got {value!r}"
            raise ValueError(msg)
    for name in ("retry_after", "accept_search_read_role", "notes_sort_ignored"):
        if not isinstance(getattr(config, name), bool):
            msg = f"{name} must be a boolean"
            raise TypeError(msg)
    unknown_routes = set(config.missing_routes) - ROUTE_NAMES
    if unknown_routes:
        msg = f"missing_routes names unknown routes {sorted(unknown_routes)}"
        raise ValueError(msg)
    seed = config.faults_seed
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        msg = f"faults_seed must be an integer or null, got {seed!r}"
        raise TypeError(msg)
    if not isinstance(config.faults, dict):
        msg = "faults must be a mapping of kind to probability"
        raise TypeError(msg)
    faults = {str(kind): rate for kind, rate in config.faults.items()}
    for kind, rate in faults.items():
        if kind not in FAULT_KINDS:
            msg = f"unknown fault {kind!r}; expected one of {', '.join(FAULT_KINDS)}"
            raise ValueError(msg)
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
            msg = f"fault probability for {kind!r} must be within [0, 1], got {rate!r}"
            raise ValueError(msg)
    if sum(faults.values()) > 1:
        msg = "fault probabilities must add up to at most 1"
        raise ValueError(msg)
    return replace(config, faults=faults)
