"""Checks of what a user hands the tap (settings, STATE, catalog), before any request.

Each returns a list of problems in words a person can act on; the tap stops on the
first list that is not empty, with one line and exit code 1.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from tap_kustomer.audit import LOG_POSITION_KEYS, LogPosition
from tap_kustomer.position import PositionError, StreamPosition
from tap_kustomer.records import parse_timestamp

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping

# A start_date this far ahead of the clock is a typo, not a clock skew.
_FUTURE_TOLERANCE = dt.timedelta(minutes=5)


class InvalidInputError(ValueError):
    """Settings, STATE or catalog that the tap cannot run with."""


def settings_problems(config: Mapping[str, Any], now: dt.datetime) -> list[str]:
    """What is wrong with settings that passed the JSON schema."""
    problems = []
    if not str(config.get("api_token") or "").strip():
        problems.append("api_token is empty: set it to a Kustomer API key")
    start_date = config.get("start_date")
    if start_date is not None:
        try:
            start = parse_timestamp(str(start_date))
        except ValueError:
            example = "2021-01-31T00:00:00Z"
            problems.append(f"start_date {start_date!r} is not an ISO 8601 date-time ({example})")
        else:
            if start > now + _FUTURE_TOLERANCE:
                problems.append(f"start_date {start_date} is in the future")
    problems.extend(_api_url_problems(str(config.get("api_url", ""))))
    if config.get("batch_config"):
        # BATCH is not a claimed capability: its files would skip the stream maps.
        problems.append(
            "batch_config is not supported: tap-kustomer writes RECORD messages, which every "
            "target reads; remove batch_config"
        )
    return problems


def _api_url_problems(api_url: str) -> list[str]:
    parts = urlsplit(api_url)
    if parts.scheme not in {"https", "http"} or not parts.hostname:
        return [f"api_url {api_url!r} is not a URL such as https://<org>.api.kustomerapp.com"]
    if parts.path.rstrip("/"):
        return [f"api_url {api_url!r} must be the host only, without a path such as /v1"]
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        # The token travels with every request: never in clear text off this machine.
        return [f"api_url {api_url!r} uses plain http; use https (http is for loopback only)"]
    return []


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def state_problems(state: Any, stream_names: Collection[str]) -> list[str]:  # noqa: ANN401
    """What is wrong with a STATE that would make a run resume from the wrong place."""
    if not state:
        return []
    if not isinstance(state, dict):
        return ["STATE is not a JSON object"]
    bookmarks = state.get("bookmarks", {})
    if not isinstance(bookmarks, dict):
        return ["STATE bookmarks is not an object"]
    problems = []
    for stream, bookmark in bookmarks.items():
        # A stream of another version of the tap is ignored, as the SDK does.
        if stream in stream_names:
            problems.extend(_bookmark_problems(stream, bookmark))
    return problems


def _bookmark_problems(stream: str, bookmark: Any) -> list[str]:  # noqa: ANN401
    if not isinstance(bookmark, dict):
        return [f"STATE bookmark of {stream} is not an object"]
    problems = []
    value = bookmark.get("replication_key_value")
    if value is not None:
        try:
            parse_timestamp(str(value))
        except ValueError:
            problems.append(f"STATE {stream}.replication_key_value {value!r} is not a timestamp")
    try:
        StreamPosition.read(bookmark)
    except PositionError as exc:
        problems.append(f"STATE {stream}.{exc}")
    problems.extend(_log_position_problems(stream, bookmark))
    return problems


def _log_position_problems(stream: str, bookmark: dict[str, Any]) -> list[str]:
    problems = []
    for key in LOG_POSITION_KEYS:
        try:
            LogPosition.read(bookmark, key)
        except ValueError as exc:  # noqa: PERF203 - two keys
            problems.append(f"STATE {stream}.{exc}")
    return problems


def catalog_problems(catalog: Any, stream_names: Collection[str]) -> list[str]:  # noqa: ANN401
    """Selected streams the tap does not have (a typo would otherwise sync nothing)."""
    if not isinstance(catalog, dict):
        return []
    unknown = []
    for entry in catalog.get("streams") or []:
        name = entry.get("tap_stream_id") or entry.get("stream")
        if name in stream_names:
            continue
        root = [m for m in entry.get("metadata") or [] if m.get("breadcrumb") == []]
        if entry.get("selected") or any((m.get("metadata") or {}).get("selected") for m in root):
            unknown.append(str(name))
    if not unknown:
        return []
    known = ", ".join(sorted(stream_names))
    return [f"unknown stream {', '.join(unknown)} selected in the catalog; streams are: {known}"]
