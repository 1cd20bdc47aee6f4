"""The org's Klasses (custom object types), read once a run, and the per-Klass stream names."""

from __future__ import annotations

import re
import threading
from typing import TYPE_CHECKING, Any

from tap_kustomer.client import LIST_PAGE_SIZE, NotFoundError, PermissionDeniedError

if TYPE_CHECKING:
    import logging
    from collections.abc import Callable

    from tap_kustomer.client import KustomerClient

KLASSES_PATH = "/v1/klasses"
KLASS_STREAM_PREFIX = "kobject_"


def read_klasses(client: KustomerClient) -> list[dict[str, Any]]:
    """Every Klass of the org (``GET /v1/klasses``)."""
    params = {"page": 1, "pageSize": LIST_PAGE_SIZE}
    return [
        obj for page in client.iter_pages(KLASSES_PATH, params) for obj in page.get("data") or []
    ]


def klass_name(klass: dict[str, Any]) -> str | None:
    """A Klass's name (``ecomm-order``): how Kustomer's routes and contexts address it."""
    name = (klass.get("attributes") or {}).get("name")
    return name if isinstance(name, str) and name else None


def klass_stream_name(name: str) -> str:
    """``ecomm-order`` -> ``kobject_ecomm_order``: a table name every target accepts."""
    return KLASS_STREAM_PREFIX + re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def is_klass_stream_name(name: str) -> bool:
    """Whether a catalog's stream is one of the per-Klass streams."""
    return name.startswith(KLASS_STREAM_PREFIX) and len(name) > len(KLASS_STREAM_PREFIX)


class KlassDirectory:
    """The org's Klasses, read once a run when first asked (shared by the feed threads)."""

    def __init__(self, client: Callable[[], KustomerClient], logger: logging.Logger) -> None:
        """Nothing read yet; ``client`` gives the run's client when it is needed."""
        self._client = client
        self._logger = logger
        self._lock = threading.Lock()
        self._klasses: list[dict[str, Any]] | None = None
        # "GET /v1/klasses 403" where the key could not read them.
        self.refusal: str | None = None

    def klasses(self) -> list[dict[str, Any]]:
        """Every Klass, or none (with one warning) where the key cannot read them."""
        with self._lock:
            if self._klasses is None:
                try:
                    self._klasses = read_klasses(self._client())
                except (PermissionDeniedError, NotFoundError) as exc:
                    self.refusal = f"GET {KLASSES_PATH} {exc.status}"
                    self._logger.warning("No Klass list (%s)", exc)
                    self._klasses = []
            return self._klasses

    def names_by_id(self) -> dict[str, str | None]:
        """Klass id -> name."""
        return {klass["id"]: klass_name(klass) for klass in self.klasses()}

    def by_stream_name(self) -> dict[str, dict[str, Any]]:
        """Per-Klass stream name -> the Klass."""
        return {
            klass_stream_name(name): klass
            for klass in self.klasses()
            if (name := klass_name(klass))
        }
