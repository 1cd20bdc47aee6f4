"""The local API as a process of its own (``kustomer-local-api``): started, waited for, stopped.

The process prints one line once it serves, ``READY`` filled in; the benchmark starts it with
``start_subprocess`` and the demo waits for the same line in shell.
"""

from __future__ import annotations

import re
import selectors
import subprocess
import sys
import time
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

READY = "Local Kustomer API on {url} (token: {token})"
_READY_URL = re.compile(r"Local Kustomer API on (http://\S+) ")


def start_subprocess(
    args: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    stderr: IO[bytes] | int | None = None,
    timeout: float = 180,
) -> tuple[subprocess.Popen[bytes], str]:
    """Run ``kustomer-local-api ARGS`` (as ``python -m kustomer_api``) and wait until it serves.

    Returns the process and its base URL; raises ``RuntimeError`` (the process stopped) if it
    has not said it serves within ``timeout`` seconds, as building a large org takes a while.
    """
    process = subprocess.Popen(
        [sys.executable, "-m", "kustomer_api", *args],
        stdout=subprocess.PIPE,
        stderr=stderr,
        env=env,
    )
    line = _first_line(process, timeout)
    match = _READY_URL.match(line)
    if match is None:
        stop(process)
        msg = f"the local Kustomer API did not start: {line!r}"
        raise RuntimeError(msg)
    return process, match.group(1)


def _first_line(process: subprocess.Popen[bytes], timeout: float) -> str:
    """The first line the process prints, or "" if it prints none in time or exits first."""
    if process.stdout is None:
        return ""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while process.poll() is None and time.monotonic() < deadline:
            if selector.select(timeout=0.5):
                return process.stdout.readline().decode(errors="replace")
    return ""


def stop(process: subprocess.Popen[bytes], timeout: float = 15) -> None:
    """SIGTERM, then SIGKILL if it has not exited within ``timeout`` seconds."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)
