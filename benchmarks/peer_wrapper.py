"""Run the PyPI peer, singer-io's tap-kustomer 1.1.0, against a local Kustomer API.

A script run by the peer's own python, not imported by the benchmark package around it.

The peer hard-codes ``https://api.kustomerapp.com/v1`` as its base URL and has no
setting for it (shared/reference/peers.md §8.3). This wrapper, run with the peer's
own virtualenv python, rebinds that attribute on every client the peer builds to
``KUSTOMER_BASE_URL`` (which must include ``/v1``), then hands over to the peer's
``main()`` with the command-line arguments unchanged. The installed package is not
modified. The URL must point at the loopback interface: the benchmark never sends the
peer anywhere else.

    KUSTOMER_BASE_URL=http://127.0.0.1:8765/v1 \
        .bench/peer-venv/bin/python benchmarks/peer_wrapper.py --config c.json --catalog cat.json
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

# The peer's package, from the virtualenv running this file (not this repository's tap).
import tap_kustomer
from tap_kustomer import client as peer_client

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def _local_base_url() -> str:
    url = os.environ.get("KUSTOMER_BASE_URL", "").strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or parts.hostname not in _LOOPBACK:
        sys.exit(f"peer_wrapper: KUSTOMER_BASE_URL must be a loopback http(s) URL, got {url!r}")
    if not parts.path.endswith("/v1"):
        sys.exit(f"peer_wrapper: KUSTOMER_BASE_URL must end with /v1, got {url!r}")
    return url


def _redirect_clients(base_url: str) -> None:
    """Make every ``KustomerClient`` the peer builds talk to ``base_url``."""
    original = peer_client.KustomerClient.__init__

    @functools.wraps(original)
    def build_then_redirect(self: object, *args: object, **kwargs: object) -> None:
        original(self, *args, **kwargs)
        # The token check runs in __enter__, after __init__: it already sees this URL.
        self.base_url = base_url  # type: ignore[attr-defined]

    peer_client.KustomerClient.__init__ = build_then_redirect  # type: ignore[method-assign]


def run() -> None:
    """Redirect the peer to the local API and run its command line."""
    package = Path(tap_kustomer.__file__).absolute()
    if Path(sys.prefix).absolute() not in package.parents:
        sys.exit(f"peer_wrapper: {package} is not the peer installed in {sys.prefix}")
    _redirect_clients(_local_base_url())
    sys.argv[0] = "tap-kustomer"
    sys.exit(tap_kustomer.main())


if __name__ == "__main__":
    run()
