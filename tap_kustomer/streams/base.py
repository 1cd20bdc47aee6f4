"""The two kinds of Kustomer stream (lists, incremental search), and what they need of a run."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from singer_sdk import Stream
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.singerlib import RecordMessage
from singer_sdk.singerlib.catalog import REPLICATION_FULL_TABLE, REPLICATION_INCREMENTAL

from tap_kustomer.client import (
    LIST_PAGE_SIZE,
    BadRequestError,
    ContextRefusedError,
    ListUnreachableError,
    NotFoundError,
    PermissionDeniedError,
)
from tap_kustomer.conform import conform
from tap_kustomer.permissions import unavailable_reason
from tap_kustomer.pii import protect
from tap_kustomer.progress import Progress
from tap_kustomer.records import flatten
from tap_kustomer.streams.custom_values import CustomValues
from tap_kustomer.streams.deletes import DeletesReader, is_deletion, with_deleted_at
from tap_kustomer.validation import InvalidInputError

if TYPE_CHECKING:
    from collections.abc import Generator, Iterator

    from singer_sdk import Tap
    from singer_sdk.helpers.types import Context
    from singer_sdk.singerlib import Catalog

    from tap_kustomer.audit import AuditTrail
    from tap_kustomer.client import KustomerClient
    from tap_kustomer.klass_directory import KlassDirectory


class StreamFeed(Protocol):
    """A search stream's side of its feed (``feed.Consumer``)."""

    def records(self, progress: Progress) -> Iterator[dict[str, Any]]:
        """The stream's records as the feed hands them over."""

    def write_position(self) -> None:
        """Put the stream's position in its STATE."""


class SearchFeeds(Protocol):
    """The run's search feeds (``feed.Feeds``)."""

    def consumer(self, stream: SearchStream) -> StreamFeed:
        """The stream's side of its feed."""

    def stop(self) -> None:
        """Tell every feed its streams read no more."""


class Run(Protocol):
    """What a stream needs of its run (``run.RunContext``).

    Typed here, so that the stream modules import neither the run nor the tap: both
    import them (the run builds the feeds, which read the streams).
    """

    started_at: dt.datetime
    search_streams: list[SearchStream]
    unavailable_streams: dict[str, str]
    unread_lists: dict[str, list[str]]

    @property
    def start_date(self) -> dt.datetime:
        """The oldest ``updatedAt`` a run reads."""

    @property
    def client(self) -> KustomerClient:
        """The one client every request goes through."""

    @property
    def klasses(self) -> KlassDirectory:
        """The org's Klasses."""

    @property
    def feeds(self) -> SearchFeeds:
        """The run's search feeds."""

    @property
    def audit(self) -> AuditTrail:
        """The run's one scan of the audit log."""

    def now(self) -> dt.datetime:
        """The current time, UTC."""

    def is_last(self, stream: Stream) -> bool:
        """Whether ``stream`` is the last the SDK syncs."""

    def left_unread(self, stream: str, unread: str) -> None:
        """Note a part of ``stream``'s lists that no request could reach."""

    def finish(self) -> None:
        """After every stream: stop the feeds, fail the run if need be."""


class KustomerStream(Stream):
    """A stream whose requests go through the tap's shared client."""

    primary_keys: ClassVar[tuple[str, ...]] = ("id",)
    record_schema: ClassVar[dict[str, Any]]
    # Records come straight from JSON: no value needs converting. Fields the schema
    # lacks are dropped in post_process with one comprehension instead of the SDK's
    # per-field conformance, a third of the tap's CPU time otherwise.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE
    # The audit log's object types whose deletes remove this stream's records (deletes.py).
    deleted_as: ClassVar[tuple[str, ...]] = ()
    # Whether a whole read in full-table mode ends with ACTIVATE_VERSION (deletes.py).
    activates_version: ClassVar[bool] = False

    def __init__(self, tap: Tap, run: Run, schema: dict[str, Any] | None = None) -> None:
        """Attach the stream to the tap and its schema (the class's, unless given)."""
        schema = schema or self.record_schema
        if self.deleted_as:
            schema = with_deleted_at(schema)
        super().__init__(tap=tap, schema=schema)
        self.run = run
        self.deletes = DeletesReader(self, run.audit) if self.deleted_as else None
        # Cleared where a read leaves part of the endpoint unread: no ACTIVATE_VERSION then.
        self.read_whole = True
        self._properties = schema["properties"]
        self._unknown_fields: set[str] = set()
        self._checked_mask: object = None
        self._all_selected = False
        flattening = self.config.get("flattening_enabled")
        self._flattening_depth = (
            int(self.config.get("flattening_max_depth") or 0) if flattening else 0
        )
        self.custom_values = self._custom_values()

    def _custom_values(self) -> CustomValues:
        return CustomValues(self._properties.get("custom"), flattened=self._flattening_depth > 0)

    @property
    def client(self) -> KustomerClient:
        """The tap's shared client (built on first use, not at discovery)."""
        return self.run.client

    def to_record(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Turn one API object into this stream's record."""
        return flatten(obj)

    def post_process(
        self,
        row: dict[str, Any],
        context: Context | None = None,  # noqa: ARG002
    ) -> dict[str, Any] | None:
        """Shape the row to the schema; hash or drop personal fields as ``pii_mode`` says."""
        custom_values = self.custom_values
        custom_values.keep(row, self.name, self.logger)
        row, unknown = conform(row, self._properties, self._flattening_depth)
        if custom_values.typed:
            # Named by custom_values, with how to discover them.
            unknown = {name for name in unknown if not name.startswith("custom.")}
        if unknown and not unknown <= self._unknown_fields:
            # New API fields: named once, then dropped until the schema has them.
            self._unknown_fields |= unknown
            self.logger.warning("Fields not in the schema, dropped: %s", sorted(unknown))
        mode = self.config["pii_mode"]
        custom_values.protect(row, mode)
        return protect(self.name, row, mode)

    def _generate_record_messages(
        self, record: dict[str, Any]
    ) -> Generator[RecordMessage, None, None]:
        """The SDK's RECORD messages, without its deselection walk when nothing is deselected.

        The SDK's ``pop_deselected_record_properties`` visits every nested key of every
        record; with every property selected it removes nothing, yet it took a sixth of
        the tap's CPU (a conversation holds dozens of small objects). With no
        conformance to do (``TYPE_CONFORMANCE_LEVEL``) what is left is the stream maps.
        A delete record (id and mark only) has no table version, so that ACTIVATE_VERSION
        drops it with the rest of what vanished.
        """
        deletion = is_deletion(record)
        if not deletion and not self._nothing_deselected():
            yield from super()._generate_record_messages(record)
            return
        for stream_map in self.stream_maps:
            mapped = stream_map.transform(record)
            if mapped is not None:
                yield RecordMessage(
                    stream=stream_map.stream_alias,
                    record=mapped,
                    version=None if deletion else self._stream_version,
                    time_extracted=dt.datetime.now(dt.timezone.utc),
                )

    def _increment_stream_state(
        self, latest_record: dict[str, Any], *, context: Context | None = None
    ) -> None:
        """The SDK's bookmark, which a delete record (no replication key) leaves alone."""
        if not is_deletion(latest_record):
            super()._increment_stream_state(latest_record, context=context)

    @property
    def emit_activate_version_messages(self) -> bool:
        """Never at the start, where the SDK sends it; ``get_records`` sends it at the end.

        Sent first, it would have a target empty the table until the read ends, and
        keep it empty if the run failed.
        """
        return False

    def deletes_match(self, object_type: str) -> bool:
        """Whether the log's deletes of ``object_type`` remove this stream's records.

        Compared kebab-case: Kustomer's event names mix ``routing-status`` and
        ``work_session`` forms ([?] for the object types).
        """
        return object_type.replace("_", "-").lower() in self.deleted_as

    def _versioned(self) -> bool:
        return (
            self.activates_version
            and self.replication_method == REPLICATION_FULL_TABLE
            and bool(self.config.get("emit_activate_version_messages"))
        )

    def _nothing_deselected(self) -> bool:
        mask = self.mask
        if mask is not self._checked_mask:  # the SDK rebuilds the mask when selection changes
            self._checked_mask = mask
            # A mask entry is False only where the catalog deselects a property.
            self._all_selected = self.TYPE_CONFORMANCE_LEVEL == TypeConformanceLevel.NONE and all(
                mask.values()
            )
        return self._all_selected

    def probe(self) -> None:
        """One small request to this stream's endpoint, for ``--test``."""
        raise NotImplementedError

    def get_records(self, context: Context | None) -> Iterator[dict[str, Any]]:
        """Records of the stream, counted, with a summary line at the end.

        An endpoint of the stream that answers 403 or 404, or a search context the org
        refuses (``ContextRefusedError``), ends the stream with a
        warning (``on_unavailable_stream: warn``): its SCHEMA is out, its STATE
        holds only what was written, and the other streams go on.
        """
        progress = Progress(self.name, self.logger, self.client)
        versioned = self._versioned()
        if versioned:
            self._stream_version = self._initialized_at // 1000
        try:
            for record in self.records(context, progress):
                progress.record()
                yield record
            if self.deletes is not None:
                yield from self.deletes.records()
        except (PermissionDeniedError, NotFoundError, ContextRefusedError) as exc:
            if self.config["on_unavailable_stream"] == "fail":
                self.run.feeds.stop()
                raise
            reason = unavailable_reason(str(exc), exc.endpoint, exc.status)
            self.run.unavailable_streams[self.name] = f"{exc.endpoint} {exc.status}"
            self.logger.warning("Stream %s skipped: %s", self.name, reason)
            versioned = False
        except Exception:
            # The run ends here: the feeds read ahead for nobody.
            self.run.feeds.stop()
            raise
        if versioned and self.read_whole and self._stream_version is not None:
            # Every record of this version is written: the target may drop the others.
            self._write_activate_version_message(self._stream_version)
        progress.summary()
        self.custom_values.summary(self.name, self.logger)

    def apply_catalog(self, catalog: Catalog) -> None:
        """Take the catalog's selection; refuse a replication key this stream cannot honour."""
        # A search stream names its key on the class; a list stream has none (the
        # SDK's property, not a string).
        key = getattr(type(self), "replication_key", None)
        declared = key if isinstance(key, str) else None
        super().apply_catalog(catalog)
        if self.deleted_as and self._input_schema is not None:
            # A catalog discovered before deletes came still gets their mark.
            self._input_schema = with_deleted_at(self._input_schema)
        custom = self.effective_schema.get("properties", {}).get("custom")
        if custom is not None:
            # The catalog's types (from discovery) rule the stream's custom attributes.
            self._properties = {**self._properties, "custom": custom}
            self.custom_values = self._custom_values()
        if self.replication_key not in (None, declared):
            supported = f"incremental on {declared}" if declared else "full table only"
            msg = (
                f"the catalog asks {self.name} to replicate by {self.replication_key}; "
                f"{self.name} is {supported}"
            )
            raise InvalidInputError(msg)
        if self.replication_method == REPLICATION_INCREMENTAL:
            self.replication_key = declared

    def log_sync_costs(self) -> None:
        """The SDK's last call for each stream after all have synced: the run's end."""
        super().log_sync_costs()
        if self.run.is_last(self):
            # Tap.sync_all is final; this is its last step, once per run.
            self.run.finish()

    def records(self, context: Context | None, progress: Progress) -> Iterator[dict[str, Any]]:
        """The stream's records; ``progress`` takes its position reports."""
        raise NotImplementedError


class ListStream(KustomerStream):
    """A ``GET`` list endpoint read whole every run, following ``links.next``.

    A list that stops before its end (``ListUnreachableError``: Kustomer's lists are
    reported to stop at 10,000 records) ends the stream with one warning naming what is
    unread, and the run fails once the other streams have finished.
    """

    path: ClassVar[str]
    page_size: ClassVar[int] = LIST_PAGE_SIZE
    # One pass per filter set; records met in two passes are emitted once. Used where
    # the API hides deleted objects unless asked (kustomer-api.md §4.11, [?] for the
    # default), so both "as the API defaults" and "deleted only" are read.
    passes: ClassVar[tuple[dict[str, str], ...]] = ({},)
    # Query parameters Kustomer's reference does not list on this endpoint: a pass that
    # asks for one is dropped with a warning when the endpoint refuses it (400), and the
    # run goes on with what the other passes read.
    undocumented: ClassVar[frozenset[str]] = frozenset()
    activates_version: ClassVar[bool] = True

    def records(
        self,
        context: Context | None,  # noqa: ARG002
        progress: Progress,  # noqa: ARG002
    ) -> Iterator[dict[str, Any]]:
        """Every object of the endpoint, once."""
        seen: set[str] | None = set() if len(self.passes) > 1 else None
        for filters in self.passes:
            for obj in self.objects({"page": 1, "pageSize": self.page_size, **filters}):
                if seen is not None:
                    if obj["id"] in seen:
                        continue
                    seen.add(obj["id"])
                yield self.to_record(obj)

    def probe(self) -> None:
        """Read one object of the endpoint."""
        self.client.get(self.path, {"page": 1, "pageSize": 1, **self.passes[0]})

    def objects(self, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """The raw objects of every page of this endpoint."""
        for page in self.read_pages(params):
            yield from page.get("data") or []

    def read_pages(self, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Every page of this endpoint, as far as it reaches; what it does not is noted."""
        try:
            yield from self.client.iter_pages(self.path, params)
        except ListUnreachableError as exc:
            self.left_unread(str(exc))
        except BadRequestError as exc:
            refused = sorted(self.undocumented & params.keys())
            if not refused:
                raise
            asked = ", ".join(f"{name}={params[name]}" for name in refused)
            self.read_whole = False
            self.logger.warning(
                "%s: %s refused %s, which Kustomer does not document there (%s); "
                "the stream goes on without what it would have added",
                self.name,
                self.path,
                asked,
                exc,
            )

    def left_unread(self, unread: str) -> None:
        """Note, and say in one line, the part of a list this stream cannot read."""
        self.read_whole = False
        self.run.left_unread(self.name, unread)
        self.logger.warning("%s: records left unread: %s", self.name, unread)


class SearchStream(KustomerStream):
    """An incremental stream driven by a search scan of one query context.

    Its records come from its context's feed (``feed.Feed``): one scan per context
    per run, shared by every selected stream of that context, run in its own thread.
    Each search hit yields zero or more records (``records_for``); the stream's
    position moves past a hit only when its last record is handed to the SDK, so a
    STATE message never claims work that was not written.

    Search sees only what was updated in the past two years. In ``full`` sync mode
    the feed then reads, once, what was updated before that horizon
    (``history.HistoryPass``: the archive search, or ``history_path``'s list).
    """

    query_context: ClassVar[str]
    history_path: ClassVar[str | None] = None
    # The ``sort`` value that lists ``history_path`` newest first.
    history_sort: ClassVar[str] = "desc"
    # Whether Kustomer documents the archive search for this context (messages,
    # conversations, companies and custom objects): an empty answer is then believed.
    archive_documented: ClassVar[bool] = True
    replication_key: ClassVar[str] = "updated_at"
    # What a warning adds when the org refuses this stream's context.
    context_refused_hint: ClassVar[str] = ""
    # About how many requests each hit costs beyond the search (sizes the look-ahead).
    requests_per_hit: ClassVar[float] = 0.0
    is_sorted: ClassVar[bool] = True
    # Runs restart a little below the last bookmark (the indexing-lag overlap), and
    # the history pass goes back in time, so records may sort below the bookmark.
    check_sorted: ClassVar[bool] = False
    STATE_MSG_FREQUENCY = 100

    def __init__(self, tap: Tap, run: Run, schema: dict[str, Any] | None = None) -> None:
        """Attach the stream, and make it one of the run's feed consumers."""
        super().__init__(tap, run, schema)
        run.search_streams.append(self)
        self._consumer: StreamFeed | None = None

    @property
    def window_start(self) -> dt.datetime:
        """The oldest ``updatedAt`` this stream reads: ``start_date``."""
        return self.run.start_date

    def records_for(self, hit: dict[str, Any]) -> list[dict[str, Any]]:
        """The records of one search hit (called in the feed's threads); one by default."""
        return [self.to_record(hit)]

    def feedable(self) -> bool:
        """Whether the run's feeds can read this stream (a Klass stream needs its Klass)."""
        return True

    def use_own_context(self) -> tuple[str, str] | None:
        """Where the org refuses ``query_context``, switch to a narrower documented context.

        Returns the STATE key and value that remember the switch, or None where the stream
        has no narrower context (it is then skipped).
        """
        return None

    def probe(self) -> None:
        """Search for one object of the stream's context."""
        self.client.search({"queryContext": self.query_context}, page=1, page_size=1)

    def _increment_stream_state(
        self, latest_record: dict[str, Any], *, context: Context | None = None
    ) -> None:
        """Move the standard bookmark to the newest value emitted, never back.

        The archive pass emits older records after the search pass; the tap's own
        resume position (``position.StreamPosition``) sits beside the bookmark.
        """
        bookmark = self.get_context_state(context).get("replication_key_value")
        value = latest_record.get(self.replication_key or "")
        if bookmark is None or (value is not None and str(value) >= str(bookmark)):
            super()._increment_stream_state(latest_record, context=context)

    def records(
        self,
        context: Context | None,  # noqa: ARG002 - search streams have no partitions
        progress: Progress,
    ) -> Iterator[dict[str, Any]]:
        """The records of every object updated since the stream's position."""
        self._consumer = self.run.feeds.consumer(self)
        return self._consumer.records(progress)

    def _write_state_message(self) -> None:
        """Bring the stream's resume position into STATE just before the SDK writes it."""
        if self._consumer is not None:
            self._consumer.write_position()
        super()._write_state_message()
