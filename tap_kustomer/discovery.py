"""``--discover``: the catalog with every custom attribute typed, and one stream per Klass.

What types an attribute (``custom.py``): its name's suffix, and Kustomer's metadata
(``GET /v1/metadata/{resource}``, role ``org.permission.metadata.read``: labels, dropdown
values, sensitivity). Attributes the metadata does not list (it lists what an admin has
configured) are found in the newest page of each search context, so an attribute the org
writes without metadata is declared too. Where the key lacks the metadata role, types come
from the names alone, with one warning; where the API cannot be read at all, ``custom``
stays an open object, with one warning. The records of the sample pages are never logged.

Cost: one metadata request per resource and Klass, the Klass list, and one search per
context (one more per Klass where the org refuses the single ``kobject`` context).
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

import requests
from singer_sdk.singerlib import Schema

from tap_kustomer.client import (
    BadRequestError,
    KustomerAPIError,
    NotFoundError,
    PermissionDeniedError,
)
from tap_kustomer.custom import Attribute, custom_schema, merged
from tap_kustomer.klass_directory import klass_name, klass_stream_name
from tap_kustomer.records import relationship_id
from tap_kustomer.search import attribute_prefix

if TYPE_CHECKING:
    import logging
    from collections.abc import Callable, Iterable

    from singer_sdk import Stream
    from singer_sdk.singerlib import Catalog

    from tap_kustomer.client import KustomerClient
    from tap_kustomer.run import RunContext

# The metadata resource of each stream whose records carry ``custom``.
STANDARD_RESOURCES = {
    "conversations": "conversation",
    "messages": "message",
    "customers": "customer",
    "companies": "company",
    "notes": "note",
}
KOBJECTS = "kobjects"
SHARED_KOBJECT_CONTEXT = "kobject"
# Objects read per context to find attributes the metadata does not list.
SAMPLE_SIZE = 100


class CustomSources:
    """What discovery reads about custom attributes, each thing once."""

    def __init__(self, client: KustomerClient, logger: logging.Logger) -> None:
        """Nothing read yet."""
        self.client = client
        self.logger = logger
        self.metadata_refused: str | None = None
        self._samples: dict[str, list[dict[str, Any]] | None] = {}

    def metadata(self, resource: str) -> list[Attribute]:
        """The attributes the metadata describes (none where it is refused or absent)."""
        if self.metadata_refused is not None:
            return []
        try:
            document = self.client.get(f"/v1/metadata/{resource}")
        except PermissionDeniedError as exc:
            self.metadata_refused = str(exc)
            self.logger.warning(
                "Custom attributes typed by their names only: GET /v1/metadata answered %s "
                "(role org.permission.metadata.read gives labels, dropdown values and which "
                "attributes are sensitive, for pii_mode)",
                exc.status,
            )
            return []
        except NotFoundError:
            return []  # no custom attribute configured on this resource
        data = document.get("data") or {}
        properties = (
            (data.get("attributes") or {}).get("properties") if isinstance(data, dict) else None
        )
        if not isinstance(properties, dict):
            return []
        return [Attribute.from_metadata(name, entry) for name, entry in properties.items()]

    def sample(self, context: str) -> list[dict[str, Any]] | None:
        """The newest objects of a context; None where the org refuses the context."""
        if context not in self._samples:
            body = {
                "queryContext": context,
                "sort": [{f"{attribute_prefix(context)}_updated_at": "desc"}],
            }
            try:
                found = self.client.search(body, page=1, page_size=SAMPLE_SIZE)
            except (BadRequestError, PermissionDeniedError, NotFoundError):
                self._samples[context] = None
            else:
                self._samples[context] = [
                    hit for hit in found.get("data") or [] if isinstance(hit, dict)
                ]
        return self._samples[context]


def seen(hits: Iterable[dict[str, Any]]) -> list[Attribute]:
    """The attributes the hits' ``custom`` objects carry, known by name only."""
    names: dict[str, None] = {}
    for hit in hits:
        custom = (hit.get("attributes") or {}).get("custom")
        if isinstance(custom, dict):
            names.update(dict.fromkeys(custom))
    return [Attribute(name) for name in names]


def typed_catalog(
    catalog: Catalog,
    run: RunContext,
    klass_stream: Callable[[str, str], Stream],
    logger: logging.Logger,
) -> Catalog:
    """``catalog`` with typed ``custom`` objects, and an entry for each Klass."""
    typed = copy.deepcopy(catalog)
    try:
        _type_catalog(typed, run, klass_stream, logger)
    except (KustomerAPIError, requests.exceptions.RequestException) as exc:
        logger.warning(
            "Custom attributes left untyped and no per-Klass streams: the API could not be "
            "read (%s); run --discover again with the API reachable",
            type(exc).__name__ if isinstance(exc, requests.exceptions.RequestException) else exc,
        )
        return catalog
    return typed


def _type_catalog(
    catalog: Catalog,
    run: RunContext,
    klass_stream: Callable[[str, str], Stream],
    logger: logging.Logger,
) -> None:
    sources = CustomSources(run.client, logger)
    for stream_name, resource in STANDARD_RESOURCES.items():
        entry = catalog.get(stream_name)
        if entry is None:
            continue
        # Each resource's search context has the resource's name.
        attributes = merged(sources.metadata(resource), seen(sources.sample(resource) or []))
        _set_custom(entry.schema, attributes)
    by_klass = _klass_attributes(run, sources)
    kobjects = catalog.get(KOBJECTS)
    if kobjects is not None:
        _set_custom(kobjects.schema, merged(*by_klass.values()))
    for name, attributes in by_klass.items():
        entry = klass_stream(klass_stream_name(name), name)._singer_catalog_entry  # noqa: SLF001 - the SDK's own entry for a stream
        _set_custom(entry.schema, attributes)
        catalog[entry.tap_stream_id] = entry


def _klass_attributes(run: RunContext, sources: CustomSources) -> dict[str, list[Attribute]]:
    """Klass name -> its attributes (metadata, then what its newest objects carry)."""
    shared = sources.sample(SHARED_KOBJECT_CONTEXT)
    found = {}
    for klass in run.klasses.klasses():
        name = klass_name(klass)
        if name is None:
            continue
        hits = (
            [hit for hit in shared if relationship_id(hit, "klass") == klass["id"]]
            if shared is not None
            else sources.sample(f"kobject_{name}") or []
        )
        found[name] = merged(sources.metadata(f"kobject.{name}"), seen(hits))
    return found


def _set_custom(schema: Schema, attributes: list[Attribute]) -> None:
    """Put the typed ``custom`` into a catalog entry's schema."""
    if attributes and schema.properties and "custom" in schema.properties:
        schema.properties["custom"] = Schema.from_dict(custom_schema(attributes))
