"""Org settings, read whole every run.

Shortcuts, SLAs and their versions, brands, business schedules and the custom
attribute metadata.

These lists are small (tens to hundreds of objects) and have no date filter, so each run
reads them whole; a target's key merges the repeats. Endpoints, parameters and roles are
those of Kustomer's API reference; where it is silent (the list pages of SLAs, brands and
Klasses, the page size, whether ``include=holidays`` works on the schedule list) the
stream asks the documented way and takes what comes: a 403 or 404 skips the stream.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from tap_kustomer import schemas_objects
from tap_kustomer.client import NotFoundError, PermissionDeniedError
from tap_kustomer.records import flatten, snake_case
from tap_kustomer.streams.base import KustomerStream, ListStream
from tap_kustomer.streams.objects import read_klasses

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from singer_sdk.helpers.types import Context

    from tap_kustomer.progress import Progress

# The standard objects that carry custom attributes (Kustomer's custom attribute
# reference); each Klass adds ``kobject.<name>``.
METADATA_RESOURCES = ("company", "conversation", "customer", "message", "note", "user")


def _included_by_id(page: dict[str, Any], *types: str) -> dict[str, dict[str, Any]]:
    return {
        item["id"]: item
        for item in page.get("included") or []
        if isinstance(item, dict) and "id" in item and (not types or item.get("type") in types)
    }


def _related_ids(obj: dict[str, Any], name: str) -> list[str]:
    relationship = (obj.get("relationships") or {}).get(name)
    data = relationship.get("data") if isinstance(relationship, dict) else None
    return [item["id"] for item in data or [] if isinstance(item, dict) and "id" in item]


class ShortcutsStream(ListStream):
    """Shortcuts (saved replies) and their categories and access lists."""

    name = "shortcuts"
    path = "/v1/shortcuts"
    record_schema = schemas_objects.SHORTCUTS


class SlasStream(ListStream):
    """SLAs: the response-time policies matched to conversations."""

    name = "slas"
    path = "/v1/slas"
    record_schema = schemas_objects.SLAS


class SlaVersionsStream(ListStream):
    """Every version of every SLA: ``GET /v1/slas?versions=all``, versions in ``included``.

    ``versions`` is documented on the SLA reference; ``all`` is what MeltanoLabs'
    tap-kustomer sends ([?] whether other values exist).
    """

    name = "sla_versions"
    path = "/v1/slas"
    record_schema = schemas_objects.SLA_VERSIONS
    passes: ClassVar[tuple[dict[str, str], ...]] = ({"versions": "all"},)

    def records(
        self,
        context: Context | None,  # noqa: ARG002
        progress: Progress,  # noqa: ARG002
    ) -> Iterator[dict[str, Any]]:
        """Each version once, with the SLA it belongs to."""
        seen: set[str] = set()
        params = {"page": 1, "pageSize": self.page_size, **self.passes[0]}
        for page in self.client.iter_pages(self.path, params):
            sla_of = {
                version_id: sla["id"]
                for sla in page.get("data") or []
                for version_id in _related_ids(sla, "versions")
            }
            for version_id, version in _included_by_id(page).items():
                if version_id in seen or version.get("type") == "sla":
                    continue
                seen.add(version_id)
                record = self.to_record(version)
                if not record.get("sla_id"):
                    record["sla_id"] = sla_of.get(version_id)
                yield record


class BrandsStream(ListStream):
    """Brands: the companies, products or storefronts an org supports."""

    name = "brands"
    path = "/v1/brands"
    record_schema = schemas_objects.BRANDS


class BusinessSchedulesStream(ListStream):
    """Business schedules: weekly hours in one time zone, and holidays.

    ``firstResponse.businessTime`` and the SLA deadlines are measured against them.
    Holidays are asked for with ``include=holidays`` (what Kustomer's own clients send);
    each schedule carries them in ``holidays`` whether the API embeds them or sends them
    in ``included``.
    """

    name = "business_schedules"
    path = "/v1/schedules"
    record_schema = schemas_objects.BUSINESS_SCHEDULES
    passes: ClassVar[tuple[dict[str, str], ...]] = ({"include": "holidays"},)

    def records(
        self,
        context: Context | None,  # noqa: ARG002
        progress: Progress,  # noqa: ARG002
    ) -> Iterator[dict[str, Any]]:
        """Every schedule with its holidays."""
        params = {"page": 1, "pageSize": self.page_size, **self.passes[0]}
        for page in self.client.iter_pages(self.path, params):
            holidays = _included_by_id(page, "holiday")
            for schedule in page.get("data") or []:
                record = self.to_record(schedule)
                if record.get("holidays") is None:
                    record["holidays"] = [
                        {"id": holiday_id, **(holidays[holiday_id].get("attributes") or {})}
                        for holiday_id in record.get("holiday_ids") or []
                        if holiday_id in holidays
                    ]
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
        try:
            klasses = read_klasses(self.client)
        except (PermissionDeniedError, NotFoundError) as exc:
            self.logger.warning(
                "custom_attributes: no Klass list (%s); KObject metadata skipped", exc
            )
            return
        for klass in klasses:
            name = (klass.get("attributes") or {}).get("name")
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
