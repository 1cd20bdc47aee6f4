"""Singer messages on stdout: msgspec-encoded, flushed at each STATE."""

from __future__ import annotations

import sys

from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.singerlib import Message, StateMessage


class SingerWriter(MsgSpecWriter):
    """The SDK's msgspec writer, without a flush after every record.

    Flushing each record costs a system call per record; flushing at each STATE
    still hands the target every record before the STATE that covers it.
    """

    def write_message(self, message: Message) -> None:
        """Write one message; flush when it is a STATE."""
        sys.stdout.buffer.write(self.format_message(message))
        if isinstance(message, StateMessage):
            sys.stdout.flush()
