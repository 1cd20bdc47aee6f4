"""A random stream of its own for a late build step, so the objects built before stay the same.

``Side(b, "crm")`` draws from ``random.Random("<seed>:crm")``: adding, removing or reordering the
steps that use it changes none of the objects the builder's own ``random.Random`` made. Its ids
are Mongo ObjectIds unique across the whole org.
"""

from __future__ import annotations

import random
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kustomer_api.seed.builder import Builder


class Side:
    """Ids, times and picks from a random stream named after a build step."""

    def __init__(self, b: Builder, name: str) -> None:
        self.b = b
        self.rng = random.Random(f"{b.spec.seed}:{name}")

    def oid(self, ms: int) -> str:
        """Mongo ObjectId: 4 bytes of creation second, 8 random bytes; unique in the org."""
        while True:
            value = f"{(ms // 1000) & 0xFFFFFFFF:08x}{self.rng.getrandbits(64):016x}"
            if value not in self.b.ids:
                self.b.ids.add(value)
                return value

    def between(self, lo: int, hi: int) -> int:
        return lo if hi <= lo else self.rng.randint(lo, hi)

    def later(self, created: int) -> int:
        """An ``updatedAt`` after ``created``: mostly soon after, sometimes much later."""
        b = self.b
        if self.rng.random() < 0.6:
            return min(b.latest_ms, created + self.rng.randint(0, 3 * 86_400_000))
        return self.between(created, b.latest_ms)


def ms(timestamp: str) -> int:
    """Epoch milliseconds of one of the org's timestamps (``2022-03-02T14:35:34.848Z``)."""
    return int(datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp() * 1000)
