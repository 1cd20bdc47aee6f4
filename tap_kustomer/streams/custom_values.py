"""One stream's ``custom`` values kept to the types its catalog declares (``custom.CustomTypes``).

A value that breaks its type is nulled and counted, with one warning per attribute a run that
names the stream and the attribute, never the value. An attribute the catalog does not declare
is named once a run, with how to discover it. Attributes the metadata marks sensitive are
hashed or dropped as ``pii_mode`` says.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from tap_kustomer.custom import CustomTypes
from tap_kustomer.pii import DROP, KEEP, hashed

if TYPE_CHECKING:
    import logging

REDISCOVER = (
    "discover the catalog again to type them (meltano run --refresh-catalog ..., "
    "or tap-kustomer --discover)"
)


class CustomValues:
    """The declared ``custom`` attributes of one stream, and what broke them this run."""

    def __init__(self, custom_schema: dict[str, Any] | None, *, flattened: bool) -> None:
        """Read the catalog's ``custom`` schema; an open object declares nothing."""
        self.types = CustomTypes.of(custom_schema)
        self.flattened = flattened
        self.broken: Counter[str] = Counter()
        self._undeclared: set[str] = set()

    @property
    def typed(self) -> bool:
        """Whether the catalog declares any attribute (a catalog from discovery does)."""
        return bool(self.types.declared)

    def keep(self, row: dict[str, Any], stream: str, logger: logging.Logger) -> None:
        """Keep the row's ``custom`` values to their types, in place."""
        custom = row.get("custom")
        if not isinstance(custom, dict) or not self.typed:
            return
        _, broken, undeclared = self.types.keep(custom)
        for name in broken:
            if name not in self.broken:
                logger.warning(
                    "%s: custom.%s holds a value that is not of its declared type; "
                    "such values are nulled (counted at the stream's end)",
                    stream,
                    name,
                )
            self.broken[name] += 1
        new = set(undeclared) - self._undeclared
        if new:
            self._undeclared |= new
            fate = "dropped" if self.flattened else "passed untyped"
            logger.warning(
                "%s: custom attributes not in the catalog, %s: %s; %s",
                stream,
                fate,
                ", ".join(sorted(new)),
                REDISCOVER,
            )

    def protect(self, row: dict[str, Any], mode: str) -> None:
        """Hash or drop the sensitive attributes of the row's ``custom``, in place."""
        custom = row.get("custom")
        if mode == KEEP or not isinstance(custom, dict):
            return
        for name in self.types.sensitive & custom.keys():
            custom[name] = None if mode == DROP else hashed(custom[name])

    def summary(self, stream: str, logger: logging.Logger) -> None:
        """Say how many values of each attribute were nulled this run."""
        if self.broken:
            counts = ", ".join(f"{name} {count}" for name, count in sorted(self.broken.items()))
            logger.warning("%s: custom values nulled as not of their type: %s", stream, counts)
