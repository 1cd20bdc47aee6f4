"""What a process costs: its CPU time and its peak RSS, watched until it exits.

CPU time comes from ``os.wait4`` on the tap's own pid, so it is the tap's alone (the local
API runs in another process). Peak RSS is the tap's ``VmHWM`` (the high-water mark of its
resident memory since it exec'd), polled every 0.1 s until it exits: ``ru_maxrss`` is not
used, because Linux folds into it the memory the child had before exec, i.e. this
benchmark's own pages that the spawn borrowed.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .common import HWM_POLL_SECONDS, POLL_SECONDS

if TYPE_CHECKING:
    import subprocess
    from collections.abc import Callable


@dataclass
class Watched:
    """How a watched process ended and what it cost."""

    returncode: int
    timed_out: bool
    wall_seconds: float
    cpu_seconds: float
    peak_rss_mb: float
    ru_maxrss_mb: float


def vm_hwm_kb(pid: int) -> int:
    """The process's ``VmHWM`` in kB, or 0 once it is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    match = re.search(r"^VmHWM:\s+(\d+) kB", text, re.MULTILINE)
    return int(match.group(1)) if match else 0


def _reap(pid: int, *, grace: float) -> tuple[int, Any] | None:
    """Wait up to ``grace`` seconds for ``pid`` to exit; its status and rusage, or None."""
    deadline = time.monotonic() + grace
    while True:
        done, status, rusage = os.wait4(pid, os.WNOHANG)
        if done:
            return status, rusage
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.05)


def watch(
    process: subprocess.Popen[bytes],
    *,
    timeout: float,
    on_poll: Callable[[], None] | None = None,
) -> Watched:
    """Poll ``process`` until it exits (SIGTERM, then SIGKILL, past ``timeout`` seconds).

    ``on_poll`` runs every 0.25 s meanwhile and once more after the exit.
    """
    started = time.monotonic()
    hwm_kb = 0
    timed_out = False
    next_poll = started
    try:
        while (ended := _reap(process.pid, grace=0)) is None:
            hwm_kb = max(hwm_kb, vm_hwm_kb(process.pid))
            if on_poll is not None and time.monotonic() >= next_poll:
                on_poll()
                next_poll += POLL_SECONDS
            if time.monotonic() - started > timeout:
                timed_out = True
                process.send_signal(signal.SIGTERM)
                if (ended := _reap(process.pid, grace=10)) is None:
                    process.kill()
                    _, status, rusage = os.wait4(process.pid, 0)
                    ended = (status, rusage)
                break
            time.sleep(HWM_POLL_SECONDS)
    except BaseException:
        with contextlib.suppress(OSError):
            process.kill()
            os.wait4(process.pid, 0)
        raise
    status, rusage = ended
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    if on_poll is not None:
        on_poll()
    return Watched(
        returncode=process.returncode,
        timed_out=timed_out,
        wall_seconds=time.monotonic() - started,
        cpu_seconds=rusage.ru_utime + rusage.ru_stime,
        peak_rss_mb=hwm_kb / 1024,
        ru_maxrss_mb=rusage.ru_maxrss / 1024,  # kept in the raw figures only (see above)
    )
