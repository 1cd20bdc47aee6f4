"""Command-line entry point: the SDK's CLI with ``--plan``, errors told in one line."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from singer_sdk.exceptions import SingerSDKError

from tap_kustomer.plan_api import add_plan_option
from tap_kustomer.run import UnavailableStreamsError
from tap_kustomer.search import SearchTieTooLargeError
from tap_kustomer.tap import ConnectionTestError, TapKustomer

if TYPE_CHECKING:
    import click

_EXPECTED_ERRORS = (
    SingerSDKError,
    SearchTieTooLargeError,
    ConnectionTestError,
    UnavailableStreamsError,
    OSError,
    ValueError,
)
_FILE_OPTIONS = ("--config", "--state", "--catalog")


def main() -> None:
    """Run the tap; a failure ends with one line saying why and exit code 1."""
    for problem in _input_file_problems(sys.argv[1:]):
        TapKustomer.logger.error("tap-kustomer failed: %s", problem)
        sys.exit(1)
    try:
        command()(standalone_mode=True)
    except _EXPECTED_ERRORS as exc:
        TapKustomer.logger.error("tap-kustomer failed: %s", _one_line(exc))
        sys.exit(1)
    except Exception as exc:  # noqa: BLE001 - a bug still ends in one line; the traceback is at debug level
        TapKustomer.logger.error("tap-kustomer failed unexpectedly: %s", _one_line(exc))
        TapKustomer.logger.debug("Traceback", exc_info=True)
        sys.exit(1)


def command() -> click.Command:
    """The tap's command, with ``--plan``.

    Added here rather than by the tap, so that the tap does not import the plan, which
    reads the tap.
    """
    tap_command = TapKustomer.cli
    add_plan_option(tap_command, TapKustomer)
    return tap_command


def _input_file_problems(args: list[str]) -> list[str]:
    """Input files that are missing or not JSON, named by their option."""
    problems = []
    for index, arg in enumerate(args):
        option, _, value = arg.partition("=")
        if option not in _FILE_OPTIONS:
            continue
        path = value or (args[index + 1] if index + 1 < len(args) else "")
        if not path or path == "ENV" or _is_stream(path):
            continue
        try:
            with Path(path).open() as file:
                document = json.load(file)
        except OSError as exc:
            problems.append(f"{option} {path}: {exc.strerror}")
        except ValueError as exc:
            problems.append(f"{option} {path} is not valid JSON ({exc})")
        else:
            if not isinstance(document, dict):
                problems.append(f"{option} {path} is not a JSON object")
    return problems


def _is_stream(path: str) -> bool:
    """A pipe or process substitution can be read once only: leave it to the SDK."""
    target = Path(path)
    return target.exists() and not target.is_file()


def _one_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return " ".join(text.split())


logging.captureWarnings(capture=True)
