"""The Kustomer tap: settings, the shared client, and the stream list."""

from __future__ import annotations

import datetime as dt
import json
from functools import cached_property
from importlib import metadata
from typing import TYPE_CHECKING, Any, ClassVar

from singer_sdk import Stream, Tap
from singer_sdk import typing as th
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.helpers.capabilities import CapabilitiesEnum, PluginCapabilities, TapCapabilities
from singer_sdk.plugin_base import PluginBase
from singer_sdk.singerlib import Catalog
from singer_sdk.tap_base import CliTestOptionValue

from tap_kustomer.client import AuthenticationError, KustomerAPIError
from tap_kustomer.discovery import typed_catalog
from tap_kustomer.klass_directory import is_klass_stream_name
from tap_kustomer.output import SingerWriter
from tap_kustomer.permissions import unavailable_reason
from tap_kustomer.pii import DROP, HASH, KEEP
from tap_kustomer.run import RunContext
from tap_kustomer.streams import STREAM_TYPES
from tap_kustomer.streams.klasses import KlassObjectsStream
from tap_kustomer.validation import (
    InvalidInputError,
    catalog_problems,
    settings_problems,
    state_problems,
)

if TYPE_CHECKING:
    from pathlib import PurePath

    import click
    from singer_sdk.singerlib.encoding.base import GenericSingerWriter

    from tap_kustomer.streams.base import KustomerStream


class ConnectionTestError(RuntimeError):
    """``--test`` found streams the key cannot read."""


DISTRIBUTION = "wfm-labs-tap-kustomer"
try:
    VERSION = metadata.version(DISTRIBUTION)
except metadata.PackageNotFoundError:  # running from a source tree
    VERSION = "0.0.0"

DEFAULT_API_URL = "https://api.kustomerapp.com"
NULLABLE_STRING = {"type": ["string", "null"]}


class TapKustomer(Tap):
    """Singer tap for the Kustomer API."""

    name = "tap-kustomer"
    package_name = DISTRIBUTION
    message_writer_class = SingerWriter
    # Only what is built and tested: no BATCH messages and no ACTIVATE_VERSION.
    capabilities: ClassVar[list[CapabilitiesEnum]] = [
        TapCapabilities.CATALOG,
        TapCapabilities.STATE,
        TapCapabilities.DISCOVER,
        TapCapabilities.TEST,
        PluginCapabilities.ABOUT,
        PluginCapabilities.STREAM_MAPS,
        PluginCapabilities.FLATTENING,
        PluginCapabilities.STRUCTURED_LOGGING,
    ]

    config_jsonschema = th.PropertiesList(
        th.Property(
            "api_token",
            th.StringType(min_length=1),
            required=True,
            secret=True,
            title="API token",
            description="Kustomer API key (Settings > Security > API Keys). Roles: see the README.",
        ),
        th.Property(
            "api_url",
            th.StringType,
            default=DEFAULT_API_URL,
            title="API URL",
            description=(
                "Kustomer API host, without /v1: https://api.kustomerapp.com (US), "
                "https://<org>.api.kustomerapp.com (your org's host, any region), "
                "https://api.prod2.kustomerapp.com (EU), https://api.prod4.kustomerapp.com "
                "(India), or http://127.0.0.1:PORT for a local test server."
            ),
        ),
        th.Property(
            "start_date",
            th.DateTimeType,
            title="Start date",
            description="Earliest updated_at to sync (ISO 8601, UTC). Default: 5 years ago.",
        ),
        th.Property(
            "events_start_date",
            th.DateTimeType,
            title="Events start date",
            description=(
                "Earliest conversation updated_at whose events conversation_events reads "
                "(ISO 8601, UTC). Default: start_date. Events cost one request per "
                "conversation, so a backfill's events may keep to a shorter window."
            ),
        ),
        th.Property(
            "max_requests_per_minute",
            th.IntegerType(minimum=1, maximum=2000),
            default=500,
            title="Request budget per minute",
            description=(
                "The whole tap's requests per minute at most, spaced evenly. Kustomer's org "
                "limit is shared with every other integration: org_budget_percent caps the "
                "tap at a share of it."
            ),
        ),
        th.Property(
            "org_budget_percent",
            # A whole percent, not a fraction: Meltano's decimal settings set from the
            # environment reach it as Decimal, which it then cannot serialize.
            th.IntegerType(minimum=1, maximum=100),
            default=50,
            title="Percent of the org's rate limit",
            description=(
                "The tap's request budget is at most this percent of the org's rate limit, "
                "read from Kustomer's x-ratelimit-limit header (300/min on Professional, "
                "500 on Business, 1,000 on Enterprise, 2,000 on Ultimate, shared by every "
                "integration), rounded down, at least 1 request a minute. A lower "
                "max_requests_per_minute still wins. From 1 to 100."
            ),
        ),
        th.Property(
            "max_search_requests_per_minute",
            th.IntegerType(minimum=1, maximum=100),
            default=50,
            title="Search budget per minute",
            description="Searches per minute (Kustomer allows API keys 100 per minute).",
        ),
        th.Property(
            "page_size",
            th.IntegerType(minimum=1, maximum=500),
            default=500,
            title="Search page size",
            description="Records per search request (Kustomer's maximum is 500).",
        ),
        th.Property(
            "user_agent",
            th.StringType,
            default=f"tap-kustomer/{VERSION}",
            title="User agent",
            description="User-Agent header sent with every request.",
        ),
        th.Property(
            "sync_mode",
            th.StringType(allowed_values=["full", "incremental"]),
            default="full",
            title="Sync mode",
            description=(
                "full: everything updated since start_date, including what Kustomer's search "
                "cannot see (older than 2 years, read once from the list endpoints), then "
                "incremental. incremental: only what changed since the last run; a first run "
                "starts incremental_lookback_hours back (for the minute job beside a backfill)."
            ),
        ),
        th.Property(
            "incremental_lookback_hours",
            th.IntegerType(minimum=0, maximum=8760),
            default=24,
            title="First incremental run's lookback (hours)",
            description="sync_mode incremental without STATE: how far back the first run starts.",
        ),
        th.Property(
            "search_lag_seconds",
            th.IntegerType(minimum=0, maximum=3600),
            default=60,
            title="Search indexing lag (seconds)",
            description=(
                "Kustomer's search index trails writes; records updated this long before a "
                "run started are read again by the next run, so none is missed."
            ),
        ),
        th.Property(
            "horizon_overlap_days",
            th.IntegerType(minimum=0, maximum=365),
            default=30,
            title="Search horizon overlap (days)",
            description=(
                "sync_mode full: Kustomer's search sees about two years and the archive "
                "search what is older, with no documented exact boundary. The search scan "
                "starts this many days before 730 days back and the history covers this "
                "many days after it, so a boundary anywhere from 700 to 760 days back loses "
                "nothing (objects in the band may arrive twice)."
            ),
        ),
        th.Property(
            "request_timeout_seconds",
            th.IntegerType(minimum=1, maximum=600),
            default=60,
            title="Request timeout (seconds)",
            description="Seconds to wait for a response before retrying.",
        ),
        th.Property(
            "max_retries",
            th.IntegerType(minimum=0, maximum=20),
            default=8,
            title="Retries per request",
            description="Retries of a request after 429, 5xx, broken connections or bodies.",
        ),
        th.Property(
            "pii_mode",
            th.StringType(allowed_values=[KEEP, HASH, DROP]),
            default=KEEP,
            title="Personal data",
            description=(
                "keep, hash (SHA-256) or drop the personal fields: message bodies, previews, "
                "subjects, meta addresses and phone numbers, customer names, emails, phones and "
                "addresses (see the README)."
            ),
        ),
        th.Property(
            "use_business_time",
            th.BooleanType,
            default=False,
            title="Business-time SLAs",
            description=(
                "tickets: first_response_duration from Kustomer's firstResponse.businessTime "
                "(business hours) instead of wall-clock time, where Kustomer has it."
            ),
        ),
        th.Property(
            "channel_mapping",
            th.CustomType(
                {"type": ["object"], "additionalProperties": {"type": ["string", "null"]}}
            ),
            title="Channel mapping",
            description=(
                "tickets: Kustomer channel -> Assembled channel entries that override or extend "
                'the default table, e.g. {"whatsapp": "Chat", "form": "Email"}; null unmaps.'
            ),
        ),
        th.Property(
            "on_unavailable_stream",
            th.StringType(allowed_values=["warn", "fail"]),
            default="warn",
            title="A stream the key cannot read",
            description=(
                "warn: a stream whose endpoint answers 403 (missing role) or 404 (not in this "
                "org or region) is skipped with a warning and the other streams go on; a run "
                "in which every selected stream is skipped fails. fail: stop the run."
            ),
        ),
        th.Property(
            "emit_activate_version_messages",
            th.BooleanType,
            default=True,
            title="Tell the target which rows vanished (ACTIVATE_VERSION)",
            description=(
                "After a whole read of a full-table stream (users, teams, tags, queues, "
                "routing statuses, assistants, brands, shortcuts, SLAs, schedules, Klasses, "
                "custom attributes), send ACTIVATE_VERSION: a target that honours it drops "
                "(hard_delete) or marks the rows that read did not meet. Not sent after a read "
                "that stopped short. Off: such rows stay as they were."
            ),
        ),
        th.Property(
            "agent_states_snapshots",
            th.IntegerType(minimum=1, maximum=240),
            default=1,
            title="Agent-state snapshots per run",
            description="agent_states: snapshots one run takes (the Meltano job takes 4).",
        ),
        th.Property(
            "agent_states_interval_seconds",
            th.IntegerType(minimum=1, maximum=3600),
            default=15,
            title="Seconds between agent-state snapshots",
            description="agent_states: spacing of the snapshots within one run.",
        ),
    ).to_dict()

    def __init__(  # noqa: PLR0913 - the SDK's own signature
        self,
        *,
        config: dict[str, Any] | PurePath | str | list[PurePath | str] | None = None,
        catalog: PurePath | str | dict[str, Any] | Catalog | None = None,
        state: PurePath | str | dict[str, Any] | None = None,
        parse_env_config: bool = False,
        validate_config: bool = True,
        setup_mapper: bool = True,
        message_writer: GenericSingerWriter[Any, Any] | None = None,
    ) -> None:
        """Build the tap; settings, STATE and catalog problems stop it in one line."""
        # Per-Klass streams are named at discovery: their STATE is checked like the others'.
        names = [stream_type.name for stream_type in STREAM_TYPES]
        if isinstance(state, dict):
            bookmarks = state.get("bookmarks")
            names += [n for n in bookmarks or () if is_klass_stream_name(str(n))]
        if isinstance(state, dict) and (problems := state_problems(state, names)):
            # Checked first: the SDK reads the bookmarks while it builds the tap.
            raise InvalidInputError("; ".join(problems))
        try:
            super().__init__(
                config=config,
                catalog=catalog,
                state=state,
                parse_env_config=parse_env_config,
                validate_config=validate_config,
                setup_mapper=setup_mapper,
                message_writer=message_writer,
            )
        except ConfigValidationError as exc:
            raise InvalidInputError("invalid settings: " + "; ".join(exc.errors)) from None
        if validate_config:
            catalog_dict = self.input_catalog.to_dict() if self.input_catalog else None
            problems = [
                *settings_problems(self.config, RunContext.now()),
                *catalog_problems(catalog_dict, [*names, *self._klass_stream_names()]),
            ]
            if problems:
                raise InvalidInputError("; ".join(problems))

    def setup_mapper(self) -> None:
        """The stream maps of the selected streams only.

        The SDK builds the maps of every stream in the catalog, and a map naming the
        fields of a deselected stream (whose catalog schema has none selected) stops
        the run; Meltano job extractors inherit ``stream_maps`` from the base
        extractor, so one map would break every other job.
        """
        PluginBase.setup_mapper(self)
        selected = Catalog(
            (name, entry)
            for name, entry in self.catalog.items()
            if entry.metadata.root.selected is not False
        )
        self.mapper.register_raw_streams_from_catalog(selected)

    @classmethod
    def get_singer_command(cls) -> click.Command:
        """The SDK's command, with ``--test`` described as this tap runs it."""
        command = super().get_singer_command()
        for option in command.params:
            if option.name == "test":
                option.help = (
                    "Use --test to check the key against each selected stream's endpoint "
                    "(one request each; names the roles a stream lacks). "
                    "Use --test=schema to test schema output without syncing records."
                )
        return command

    @classmethod
    def cb_test(cls, ctx: click.Context, param: click.Option, value: str) -> None:
        """``--test``: check the key per stream instead of syncing a record of each."""
        if value != CliTestOptionValue.All.value:
            super().cb_test(ctx, param, value)
            return
        config: Any = ctx.params.get("config")
        tap = cls(config=config.config, parse_env_config=config.parse_env)
        tap.check_access()
        ctx.exit()

    def check_access(self) -> None:
        """Check the key against each selected stream's endpoint, one request each.

        Logs one line per stream, readable or not and why, then the org's rate limit and
        the tap's budget; a wrong token or region stops at once, as it would fail every
        stream alike.
        """
        selected = [stream for stream in self.streams.values() if stream.selected]
        unreadable = [stream.name for stream in selected if not self._readable(stream)]
        self.logger.info("%s", self.run.client.org_budget().describe())
        if unreadable:
            msg = (
                f"{len(unreadable)} of {len(selected)} streams are not readable with this key: "
                f"{', '.join(unreadable)}"
            )
            raise ConnectionTestError(msg)
        self.logger.info("All %d streams are readable with this key", len(selected))

    def _readable(self, stream: Stream) -> bool:
        try:
            stream.probe()  # type: ignore[attr-defined]
        except AuthenticationError:
            raise
        except KustomerAPIError as exc:
            reason = unavailable_reason(str(exc), exc.endpoint, exc.status)
            self.logger.error("%-27s NOT readable: %s", stream.name, reason)  # noqa: TRY400
            return False
        self.logger.info("%-27s readable", stream.name)
        return True

    @cached_property
    def run(self) -> RunContext:
        """What this run's streams share: clock, window, client, feeds, skipped streams."""
        started_at = dt.datetime.fromtimestamp(self.initialized_at / 1000, tz=dt.timezone.utc)
        # A lambda: the streams are built from the run, so they cannot be listed yet.
        streams = lambda: self.streams.values()  # noqa: E731, PLW0108
        return RunContext(self.config, self.logger, started_at, streams)

    def discover_streams(self) -> list[KustomerStream]:
        """One instance of every stream, and the catalog's per-Klass streams."""
        streams: list[KustomerStream] = [
            stream_type(self, self.run) for stream_type in STREAM_TYPES
        ]
        catalog = self.input_catalog
        for name in self._klass_stream_names():
            assert catalog is not None  # noqa: S101 - names come from it
            schema = catalog[name].schema.to_dict()
            streams.append(KlassObjectsStream(self, self.run, name=name, schema=schema))
        return streams

    def _klass_stream_names(self) -> list[str]:
        """The per-Klass streams the input catalog names (discovery names them)."""
        return [name for name in self.input_catalog or () if is_klass_stream_name(name)]

    def run_discovery(self) -> str:
        """Write the catalog: custom attributes typed, and one stream per Klass.

        Only ``--discover`` reads the API for it (``discovery.py``); a run with a catalog
        takes the types from it, and a run without one syncs ``custom`` untyped.
        """
        self.run.discovering = True
        catalog = typed_catalog(
            self._singer_catalog,
            self.run,
            lambda name, klass: KlassObjectsStream(
                self, self.run, name=name, schema=None, klass_name=klass
            ),
            self.logger,
        )
        text = json.dumps(catalog.to_dict(), indent=2)
        print(text)  # noqa: T201 - the SDK's own way to write the catalog
        return text
