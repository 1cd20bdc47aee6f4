"""Command-line entry point: the SDK's CLI, with errors told in one line."""

from __future__ import annotations

import logging
import sys

from singer_sdk.exceptions import SingerSDKError

from tap_kustomer.search import SearchTieTooLargeError
from tap_kustomer.tap import TapKustomer

_EXPECTED_ERRORS = (SingerSDKError, SearchTieTooLargeError, OSError, ValueError)


def main() -> None:
    """Run the tap; a failure ends with one line saying why and exit code 1."""
    try:
        TapKustomer.cli(standalone_mode=True)
    except _EXPECTED_ERRORS as exc:
        TapKustomer.logger.error("tap-kustomer failed: %s", _one_line(exc))
        sys.exit(1)
    except Exception as exc:  # noqa: BLE001 - a bug still ends in one line; the traceback is at debug level
        TapKustomer.logger.error("tap-kustomer failed unexpectedly: %s", _one_line(exc))
        TapKustomer.logger.debug("Traceback", exc_info=True)
        sys.exit(1)


def _one_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return " ".join(text.split())


logging.captureWarnings(capture=True)
