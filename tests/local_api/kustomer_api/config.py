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
    # > 0: paged GET lists refuse pages starting at or past this many records.
    list_max_records: int = 0
    # What a refused list page answers: "error" (400) or "empty" (200 with no data).
    list_cap_mode: str = "error"
    # "jsonapi": {status, code, title, detail} entries; "code_message": {code, message, meta}.
    error_shape: str = "jsonapi"
    # Whether org.permission.search.read grants (archive) search.
    accept_search_read_role: bool = False
    # Seed of the fault decisions; None: the org's seed.
    faults_seed: int | None = None
    # Route names ("GET /v1/assistants") this org or region lacks: they answer 404.
    missing_routes: tuple[str, ...] = ()


SETTINGS = tuple(f.name for f in fields(Config))
_CHOICES = {
    "tie_order": ("id", "shuffled"),
    "archive_search": ("on", "forbidden", "missing"),
    "list_cap_mode": ("error", "empty"),
    "error_shape": ("jsonapi", "code_message"),
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
    integers = ("mutate_during_search", "edit_tied_records", "list_max_records")
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
    for name in ("retry_after", "accept_search_read_role"):
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
