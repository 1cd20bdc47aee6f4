"""Org settings, read whole every run.

Shortcuts, SLAs and their versions, brands, business schedules and the custom
attribute metadata.

These lists are small (tens to hundreds of objects) and have no date filter, so each run
reads them whole; a target's key merges the repeats. Endpoints, parameters and roles are
those of Kustomer's API reference; where it is silent (the list pages of SLAs, brands and
Klasses, the page size) the stream asks the documented way and takes what comes: a 403 or
404 skips the stream.

SLA versions and holidays are documented on one object only: ``GET /v1/slas/{id}`` with
``versions`` (``all`` or ``active``) and ``GET /v1/schedules/{id}`` with
``include=holidays`` (Kustomer's OpenAPI), both in ``included``. The lists are asked the
same way first, as one request then serves every object (``RelatedListStream``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, ClassVar

from tap_kustomer import schemas_objects
from tap_kustomer.client import BadRequestError, NotFoundError
from tap_kustomer.records import flatten, relationship_id, snake_case
from tap_kustomer.streams.base import KustomerStream, ListStream

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from singer_sdk import Tap
    from singer_sdk.helpers.types import Context

    from tap_kustomer.progress import Progress
    from tap_kustomer.streams.base import Run

# The standard objects that carry custom attributes (Kustomer's custom attribute
# reference); each Klass adds ``kobject.<name>``.
METADATA_RESOURCES = ("company", "conversation", "customer", "message", "note", "user")


def _included_by_id(document: dict[str, Any]) -> dict[str, dict[str, Any]] | None:
    """A response's ``included`` objects by id; None where it sends no ``included``."""
    if "included" not in document:
        return None
    return {
        item["id"]: item
        for item in document.get("included") or []
        if isinstance(item, dict) and "id" in item
    }


def _related_ids(obj: dict[str, Any], name: str) -> list[str]:
    relationship = (obj.get("relationships") or {}).get(name)
    data = relationship.get("data") if isinstance(relationship, dict) else None
    return [item["id"] for item in data or [] if isinstance(item, dict) and "id" in item]


def _resource(item: dict[str, Any]) -> dict[str, Any]:
    """An embedded object as a JSON:API resource object, whether it came as one or plain."""
    if "attributes" in item:
        return item
    return {"id": item["id"], "attributes": {k: v for k, v in item.items() if k != "id"}}


def related_objects(
    obj: dict[str, Any], name: str, back: str, included: dict[str, dict[str, Any]] | None
) -> tuple[list[dict[str, Any]], bool]:
    """The objects related to ``obj`` as ``name`` that a response carries, and if that is all.

    Embedded in ``attributes.<name>`` ([?]: no reference page shows it) they are all there.
    In ``included`` they are those ``obj`` names in ``relationships.<name>`` and those that
    name ``obj`` in ``relationships.<back>`` (the schedule reference's holidays name their
    schedule); all of them once every named one is there. Without ``included``, none is.
    """
    embedded = (obj.get("attributes") or {}).get(name)
    if isinstance(embedded, list):
        items = [item for item in embedded if isinstance(item, dict) and "id" in item]
        return [_resource(item) for item in items], True
    if included is None:
        return [], False
    named = _related_ids(obj, name)
    found = [included[i] for i in named if i in included]
    found += [
        item
        for item in included.values()
        if item["id"] not in named and relationship_id(item, back) == obj["id"]
    ]
    return found, all(i in included for i in named)


class ShortcutsStream(ListStream):
    """Shortcuts (saved replies) and their categories and access lists."""

    name = "shortcuts"
    deleted_as = ("shortcut",)
    path = "/v1/shortcuts"
    record_schema = schemas_objects.SHORTCUTS


class SlasStream(ListStream):
    """SLAs: the response-time policies matched to conversations."""

    name = "slas"
    deleted_as = ("sla",)
    path = "/v1/slas"
    record_schema = schemas_objects.SLAS


class RelatedListStream(ListStream):
    """A settings list whose objects come with related objects: with the list, or one by one.

    The list is asked with ``related_params``, which only the object's own route documents:
    one request then serves every object. A 400 to them falls back to the plain list, with
    one warning. An object whose related objects its list page lacks is read alone
    (``GET <path>/{id}`` with the same parameters); where that answers 404, the object's
    related objects are unknown (None), with one warning a run.
    """

    related: ClassVar[str]
    back: ClassVar[str]
    related_params: ClassVar[dict[str, str]]

    def __init__(self, tap: Tap, run: Run) -> None:
        """Nothing said yet this run."""
        super().__init__(tap, run)
        self._said: set[str] = set()

    def pages(self) -> Iterator[dict[str, Any]]:
        """The list's pages, asked with ``related_params`` if the list accepts them."""
        params = {"page": 1, "pageSize": self.page_size}
        pages = self.client.iter_pages(self.path, {**params, **self.related_params})
        try:
            first = next(pages)
        except BadRequestError as exc:
            self.logger.warning(
                "%s: %s; reading the plain list and each object's %s alone",
                self.name,
                exc,
                self.related,
            )
            yield from self.client.iter_pages(self.path, params)
            return
        yield first
        yield from pages

    def related_of(
        self, obj: dict[str, Any], included: dict[str, dict[str, Any]] | None
    ) -> list[dict[str, Any]] | None:
        """The related objects of ``obj``: from its list page, else read alone."""
        found, complete = related_objects(obj, self.related, self.back, included)
        if complete:
            return found
        self._say_once(
            logging.INFO,
            "%s: the list does not give every object's %s; each such object is read alone",
            self.name,
            self.related,
        )
        try:
            document = self.client.get(f"{self.path}/{obj['id']}", self.related_params)
        except NotFoundError as exc:
            message = "%s: %s; such objects' %s stay unknown"
            self._say_once(logging.WARNING, message, self.name, exc, self.related)
            return None
        data = document.get("data")
        if not isinstance(data, dict):
            return None
        return related_objects(data, self.related, self.back, _included_by_id(document) or {})[0]

    def _say_once(self, level: int, message: str, *args: object) -> None:
        """Log ``message`` the first time this run, at ``level``."""
        if message not in self._said:
            self._said.add(message)
            self.logger.log(level, message, *args)


class SlaVersionsStream(RelatedListStream):
    """Every version of every SLA, each once, with the SLA it belongs to.

    ``versions`` is documented on one SLA (``GET /v1/slas/{id}``: ``all`` or ``active``);
    ``GET /v1/slas?versions=all`` is what MeltanoLabs' tap-kustomer sends, and is tried first.
    """

    name = "sla_versions"
    path = "/v1/slas"
    record_schema = schemas_objects.SLA_VERSIONS
    related = "versions"
    back = "sla"
    related_params: ClassVar[dict[str, str]] = {"versions": "all"}

    def records(
        self,
        context: Context | None,  # noqa: ARG002
        progress: Progress,  # noqa: ARG002
    ) -> Iterator[dict[str, Any]]:
        """Each version once, with the SLA it belongs to."""
        seen: set[str] = set()
        for page in self.pages():
            included = _included_by_id(page)
            for sla in page.get("data") or []:
                for version in self.related_of(sla, included) or []:
                    if version["id"] in seen:
                        continue
                    seen.add(version["id"])
                    record = self.to_record(version)
                    if not record.get("sla_id"):
                        record["sla_id"] = sla["id"]
                    yield record


class BrandsStream(ListStream):
    """Brands: the companies, products or storefronts an org supports."""

    name = "brands"
    deleted_as = ("brand",)
    path = "/v1/brands"
    record_schema = schemas_objects.BRANDS


class BusinessSchedulesStream(RelatedListStream):
    """Business schedules: weekly hours in one time zone, and holidays.

    ``firstResponse.businessTime`` and the SLA deadlines are measured against them. Each
    schedule carries its holidays in ``holidays``, whether the API embeds them, sends them
    in ``included`` or only on the schedule's own route; null where none of these answers.
    """

    name = "business_schedules"
    deleted_as = ("business-schedule",)
    path = "/v1/schedules"
    record_schema = schemas_objects.BUSINESS_SCHEDULES
    related = "holidays"
    back = "schedule"
    related_params: ClassVar[dict[str, str]] = {"include": "holidays"}

    def records(
        self,
        context: Context | None,  # noqa: ARG002
        progress: Progress,  # noqa: ARG002
    ) -> Iterator[dict[str, Any]]:
        """Every schedule with its holidays."""
        for page in self.pages():
            included = _included_by_id(page)
            for schedule in page.get("data") or []:
                record = self.to_record(schedule)
                holidays = self.related_of(schedule, included)
                record["holidays"] = (
                    None
                    if holidays is None
                    else [{"id": h["id"], **(h.get("attributes") or {})} for h in holidays]
                )
                yield record


class CustomAttributesStream(KustomerStream):
    """The custom attribute metadata of each resource: one record per attribute.

    ``GET /v1/metadata/{resource}`` for the standard objects and ``kobject.<klass>`` for
    each Klass; a resource the org does not have (404) is passed over. With it, a
    warehouse can type each record's open ``custom`` object.
    """

    name = "custom_attributes"
    record_schema = schemas_objects.CUSTOM_ATTRIBUTES

    def records(
        self,
        context: Context | None,  # noqa: ARG002
        progress: Progress,  # noqa: ARG002
    ) -> Iterator[dict[str, Any]]:
        """Every attribute of every resource."""
        for resource in self._resources():
            try:
                document = self.client.get(f"/v1/metadata/{resource}")
            except NotFoundError:
                self.logger.info("custom_attributes: no metadata for %s (404)", resource)
                continue
            yield from attribute_records(resource, document.get("data"))

    def probe(self) -> None:
        """Read one resource's metadata."""
        self.client.get(f"/v1/metadata/{METADATA_RESOURCES[0]}")

    def _resources(self) -> Iterable[str]:
        yield from METADATA_RESOURCES
        # Where the key cannot read Klasses, the run's Klass list warns once and is empty.
        for name in self.run.klasses.names_by_id().values():
            if name:
                yield f"kobject.{name}"


def attribute_records(resource: str, data: Any) -> Iterator[dict[str, Any]]:  # noqa: ANN401
    """One record per attribute of a metadata document's ``attributes.properties``."""
    if not isinstance(data, dict):
        return
    metadata = flatten(data) if "id" in data else dict(data.get("attributes") or {})
    properties = (data.get("attributes") or {}).get("properties") or {}
    if not isinstance(properties, dict):
        return
    for name, attribute in properties.items():
        record = {snake_case(key): value for key, value in (attribute or {}).items()}
        record.update(
            id=f"{resource}.{name}",
            resource=resource,
            name=name,
            metadata_updated_at=metadata.get("updated_at") or metadata.get("updatedAt"),
        )
        yield record
