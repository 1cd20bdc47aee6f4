"""Injected faults, decided deterministically from the seed and the request's identity."""

from __future__ import annotations

import hashlib
import re
import threading
import time
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from kustomer_api.protocol import error

if TYPE_CHECKING:
    from kustomer_api.config import Config
    from kustomer_api.protocol import Reply

FAULT_KINDS = ("500", "502", "503", "reset", "truncate", "slow", "429", "timed_out")
_TIMESTAMP = re.compile(rb"\d{4}-\d{2}-\d{2}(?:T[0-9:.]+(?:Z|[+-]\d{2}:?\d{2})?)?")


def unit(key: bytes, salt: bytes = b"") -> float:
    """A number in [0, 1) that depends only on ``key`` and ``salt``."""
    digest = hashlib.blake2b(key + b"|" + salt, digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _identity(method: str, path: str, query: list[tuple[str, str]], body: bytes) -> bytes:
    """What makes two requests the same one: method, path, sorted query, and the body with
    its timestamps left out.

    A tap's search bodies carry times taken from its clock (the search horizon, the
    indexing-lag floor, keyset anchors), which differ from run to run; searches that
    differ only by them are told apart by how many times their identity was seen, and
    a tap sends those one after another, so the n-th meets the same fate in every run.
    """
    digest = hashlib.blake2b(digest_size=16)
    for part in (method, path, urlencode(sorted(query))):
        digest.update(part.encode())
        digest.update(b"\0")
    digest.update(_TIMESTAMP.sub(b"T", body))
    return digest.digest()


class FaultDice:
    """Rolls the fault of each request; remembers how often each request was seen."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # How many times each request identity met the dice (faults configured only).
        self._seen: dict[bytes, int] = {}

    def roll(
        self,
        config: Config,
        seed: int,
        *,
        is_search: bool,
        request: tuple[str, str, list[tuple[str, str]], bytes],
    ) -> tuple[str | None, bytes]:
        """The fault of one request and the key that decided it.

        The decision hashes (seed, request identity, n), n being how many times that identity
        was seen before: the same requests fail in every run whatever the thread timing, and a
        retry (n + 1) gets a fresh decision. Requests are counted only while faults are on.
        ``config.faults_seed``, when set, replaces ``seed`` (the org's).
        """
        faults = config.faults
        if not faults:
            return None, b""
        identity = _identity(*request)
        with self._lock:
            seen = self._seen.get(identity, 0)
            self._seen[identity] = seen + 1
        if config.faults_seed is not None:
            seed = config.faults_seed
        key = hashlib.blake2b(f"{seed}:{seen}:".encode() + identity, digest_size=16).digest()
        roll = unit(key)
        threshold = 0.0
        for kind in FAULT_KINDS:
            if kind == "timed_out" and not is_search:
                continue
            threshold += faults.get(kind, 0)
            if roll < threshold:
                return kind, key
        return None, key


def instead(fault: str | None, config: Config) -> Reply | None:
    """The reply a fault gives instead of the handler's (after the slow fault's delay)."""
    if fault in ("500", "502", "503"):
        return error(int(fault), "Injected fault", config.error_shape)
    if fault == "429":
        return error(429, "Rate limit exceeded", config.error_shape)
    if fault == "slow":
        time.sleep(config.slow_seconds)
    return None
