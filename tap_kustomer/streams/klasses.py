"""Custom objects: the Klasses, their KObjects in one table, and one stream per Klass.

* ``kobjects``: one scan of ``queryContext: kobject`` returns the changed KObjects of every
  Klass. Kustomer's reference lists that context beside ``kobject_<klass>`` but documents
  only the latter; an org that refuses it (400) skips the stream with a warning naming the
  per-Klass streams, and the run goes on.
* ``kobject_<klass>`` (one per Klass, named at discovery): the KObjects of one Klass with
  their own typed ``custom``, primary key and STATE. Where the org accepts ``kobject``, they
  share its one scan, each keeping the hits of its Klass: an idle run costs one search for
  all. Where it refuses it, each reads its documented context ``kobject_<klass name>`` and
  remembers that in its STATE (``search_context``), so later runs cost one search a Klass.
* The Klass list (``GET /v1/klasses``) is read once a run, when a stream first needs a
  Klass's id or name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tap_kustomer import schemas_objects
from tap_kustomer.klass_directory import KLASSES_PATH, klass_name
from tap_kustomer.records import relationship_id
from tap_kustomer.streams.base import ListStream, Run, SearchStream

if TYPE_CHECKING:
    from collections.abc import Iterator

    from singer_sdk import Tap
    from singer_sdk.helpers.types import Context

    from tap_kustomer.progress import Progress
    from tap_kustomer.schemas import Schema

SHARED_CONTEXT = "kobject"
# The STATE key of a Klass stream that reads its own context.
CONTEXT_KEY = "search_context"


class KlassesStream(ListStream):
    """Klasses: the types of custom objects (``GET /v1/klasses``)."""

    name = "klasses"
    deleted_as = ("klass",)
    path = KLASSES_PATH
    record_schema = schemas_objects.KLASSES


class KObjectsStream(SearchStream):
    """Custom objects of every Klass updated since the bookmark (``queryContext: kobject``)."""

    name = "kobjects"
    query_context = SHARED_CONTEXT
    record_schema = schemas_objects.KOBJECTS
    context_refused_hint = "select the per-Klass streams (kobject_<klass>) instead"
    deleted_as = ("kobject",)

    def deletes_match(self, object_type: str) -> bool:
        """KObjects of every Klass: ``kobject``, or ``kobject.<klass name>`` ([?])."""
        return object_type == "kobject" or object_type.startswith("kobject.")

    def __init__(self, tap: Tap, run: Run) -> None:
        """Klass names come from the run's one read of the Klass list."""
        super().__init__(tap, run)
        self._names: dict[str, str | None] | None = None

    def records_for(self, hit: dict[str, Any]) -> list[dict[str, Any]]:
        """The KObject with the name of its Klass."""
        record = self.to_record(hit)
        if self._names is None:
            self._names = self.run.klasses.names_by_id()
        klass_id = record.get("klass_id")
        record["klass_name"] = self._names.get(klass_id) if klass_id else None
        return [record]


class KlassObjectsStream(SearchStream):
    """The KObjects of one Klass (``kobject_<klass>``), each Klass its own table and STATE."""

    record_schema = schemas_objects.KOBJECTS
    # The archive and the list of one Klass: ``GET /v1/klasses/{name}`` (documented).
    archive_documented = True
    deleted_as = ("kobject",)

    def __init__(
        self,
        tap: Tap,
        run: Run,
        *,
        name: str,
        schema: Schema | None,
        klass_name: str | None = None,
    ) -> None:
        """A stream of the Klass ``klass_name`` (looked up by ``name`` when not given)."""
        self.name = name
        super().__init__(tap, run, schema)
        self._klass_name = klass_name
        self._klass_id: str | None = None
        self._resolved = False
        # Set in the feed's thread when the org refuses the shared context; STATE learns it
        # through the channel, in the SDK's thread (``Feed._hand_over``).
        self._own_context_chosen: str | None = None

    # ---- which Klass, which context -------------------------------------------------------

    def klass(self) -> tuple[str | None, str | None]:
        """The Klass's id and name, from the run's Klass list (None where it is gone)."""
        if not self._resolved:
            found = self.run.klasses.by_stream_name().get(self.name)
            if found is not None:
                self._klass_id = found["id"]
                self._klass_name = klass_name(found)
            elif self._klass_name is None or self.run.klasses.klasses():
                self._klass_name = None  # listed, and not there: the Klass is gone
            self._resolved = True
        return self._klass_id, self._klass_name

    def deletes_match(self, object_type: str) -> bool:
        """Deletes the log names by Klass (``kobject.<klass name>``, as metadata names them).

        Where the log says only ``kobject`` ([?]), it does not say which Klass: the
        ``kobjects`` stream takes those deletes, this one cannot.
        """
        klass_name = self.klass()[1]
        return klass_name is not None and object_type == f"kobject.{klass_name}"

    @property
    def own_context(self) -> str | None:
        """``kobject_<klass name>``, the documented context of this Klass."""
        klass_name = self.klass()[1]
        return f"kobject_{klass_name}" if klass_name else None

    @property
    def query_context(self) -> str:  # type: ignore[override]
        """The shared ``kobject`` scan unless the org refuses it (this run, or as STATE says)."""
        if self._own_context_chosen:
            return self._own_context_chosen
        remembered = self.get_context_state(None).get(CONTEXT_KEY)
        return remembered if isinstance(remembered, str) else SHARED_CONTEXT

    def use_own_context(self) -> tuple[str, str] | None:
        """Read this Klass's own context from now on: the STATE key and value that say so."""
        own = self.own_context
        if own is None:
            return None
        self._own_context_chosen = own
        return CONTEXT_KEY, own

    def feedable(self) -> bool:
        """Only a Klass still in the org's Klass list can be read."""
        if self.klass()[0] is None:
            self.logger.warning(
                "%s: its Klass is not in the org's Klass list%s; nothing read (re-discover "
                "to drop it from the catalog)",
                self.name,
                f" ({self.run.klasses.refusal})" if self.run.klasses.refusal else "",
            )
            return False
        return True

    def records(self, context: Context | None, progress: Progress) -> Iterator[dict[str, Any]]:
        """The feed's records, or none where the Klass is gone."""
        if not self.feedable():
            return iter(())
        return super().records(context, progress)

    @property
    def history_path(self) -> str | None:  # type: ignore[override]
        """``GET /v1/klasses/{name}``: the KObjects of this Klass, for the history fallback."""
        klass_name = self.klass()[1]
        return f"{KLASSES_PATH}/{klass_name}" if klass_name else None

    # ---- records --------------------------------------------------------------------------

    def records_for(self, hit: dict[str, Any]) -> list[dict[str, Any]]:
        """The KObject where it is of this Klass; nothing for another Klass's hit."""
        klass_id, klass_name = self.klass()
        if self.query_context == SHARED_CONTEXT and relationship_id(hit, "klass") != klass_id:
            return []
        record = self.to_record(hit)
        record["klass_name"] = klass_name
        return [record]

    def probe(self) -> None:
        """Search for one object of this Klass's context."""
        context = self.own_context or SHARED_CONTEXT
        self.client.search({"queryContext": context}, page=1, page_size=1)
