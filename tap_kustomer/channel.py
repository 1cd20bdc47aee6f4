"""An ordered hand-over from a producer thread to the stream that writes the items.

Streams overlap: a search scan runs in its own thread from the start of the run
while the SDK writes the streams one after another. A stream's items wait here until
its turn. Past a few thousand records they wait on disk, not in memory, so that a
five-year backfill read ahead of its turn stays flat in RAM. Written here because
``queue.Queue`` has no overflow to disk and a stream's items must keep their order.
"""

from __future__ import annotations

import tempfile
import threading
from collections import deque
from typing import IO, TYPE_CHECKING, Any

import msgspec

if TYPE_CHECKING:
    from collections.abc import Iterator

# Records held in memory per channel before items go to disk: a stream read ahead of its
# turn (messages while conversations are written) would otherwise hold tens of MB.
MEMORY_RECORDS = 2_000


class ChannelClosedError(RuntimeError):
    """The reader stopped: the producer has nothing left to do."""


class Channel:
    """FIFO of ``(records, marks)`` items, spilling to a temporary file; thread-safe."""

    def __init__(self, memory_records: int = MEMORY_RECORDS) -> None:
        """An empty channel that keeps up to ``memory_records`` records in memory."""
        self._memory_records = memory_records
        self._held_records = 0
        self._memory: deque[tuple[list[dict[str, Any]], list[Any]]] = deque()
        self._spill: IO[bytes] | None = None
        self._spilled = 0  # items written to the file and not read yet
        self._read_offset = 0
        self._write_offset = 0
        self._error: BaseException | None = None
        self._closed = False
        self._stopped = False
        self._ready = threading.Condition()
        self._encoder = msgspec.json.Encoder()

    def put(self, records: list[dict[str, Any]], marks: list[Any]) -> None:
        """Append an item; raises ``ChannelClosedError`` once the reader has stopped."""
        with self._ready:
            if self._stopped:
                raise ChannelClosedError
            if self._spilled or self._held_records + len(records) > self._memory_records:
                self._write_spill(records, marks)
            else:
                self._memory.append((records, marks))
                self._held_records += len(records)
            self._ready.notify()

    def close(self, error: BaseException | None = None) -> None:
        """No more items; the reader raises ``error`` (if any) after the last one."""
        with self._ready:
            self._closed = True
            self._error = self._error or error
            self._ready.notify()

    def stop(self) -> None:
        """The reader will read no more: the producer's next ``put`` ends it."""
        with self._ready:
            self._stopped = True
            self._discard_spill()

    def items(self) -> Iterator[tuple[list[dict[str, Any]], list[Any]]]:
        """Every item in order, waiting for the producer; then its error, if any."""
        while True:
            with self._ready:
                while not (self._memory or self._spilled or self._closed):
                    self._ready.wait()
                if self._memory:
                    item = self._memory.popleft()
                    self._held_records -= len(item[0])
                elif self._spilled:
                    item = self._read_spill()
                else:
                    self._discard_spill()
                    if self._error is not None:
                        raise self._error
                    return
            yield item

    def _write_spill(self, records: list[dict[str, Any]], marks: list[Any]) -> None:
        if self._spill is None:
            self._spill = tempfile.TemporaryFile(prefix="tap-kustomer-")  # noqa: SIM115 - kept open
        line = self._encoder.encode((records, marks)) + b"\n"
        self._spill.seek(self._write_offset)
        self._spill.write(line)
        self._write_offset += len(line)
        self._spilled += 1

    def _read_spill(self) -> tuple[list[dict[str, Any]], list[Any]]:
        assert self._spill is not None  # noqa: S101 - _spilled > 0 implies a file
        self._spill.seek(self._read_offset)
        line = self._spill.readline()
        self._read_offset += len(line)
        self._spilled -= 1
        if not self._spilled:
            # Drained: later items may stay in memory again, in order.
            self._discard_spill()
        records, marks = msgspec.json.decode(line)
        return records, marks

    def _discard_spill(self) -> None:
        if self._spill is not None:
            self._spill.close()
        self._spill = None
        self._spilled = self._read_offset = self._write_offset = 0
