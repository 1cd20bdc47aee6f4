"""``python -m benchmarks`` (through ``scripts/benchmark``): run every scenario, write the table."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path
from typing import Any

from . import __doc__ as package_doc
from .common import BENCH, FULL, QUICK, RESULTS_MD, RUNS, log
from .report import (
    load_average,
    machine_info,
    report,
    tap_fingerprint,
    tap_revision,
    write_results,
)
from .runner import OurTap, PeerTap
from .scenarios import budget_scenario, cpu_memory_scenario, requests_scenario, scan_scenario


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="scripts/benchmark", description=(package_doc or "").split("\n\n", 1)[0]
    )
    parser.add_argument("--quick", action="store_true", help="smaller orgs, a smoke check")
    parser.add_argument(
        "--peer-python",
        type=Path,
        default=BENCH / "peer-venv" / "bin" / "python",
        help="python of the virtualenv holding tap-kustomer==1.1.0 from PyPI",
    )
    parser.add_argument(
        "--results",
        type=Path,
        help="Markdown file to update (default: benchmarks/RESULTS.md for a full run, "
        ".bench/results-quick.md for --quick)",
    )
    return parser.parse_args()


def main() -> int:
    """Run every scenario, print the table, and write the results."""
    args = _arguments()
    mode = QUICK if args.quick else FULL
    RUNS.mkdir(parents=True, exist_ok=True)
    ours = OurTap()
    # absolute(), not resolve(): a virtualenv's python is a symlink to the base interpreter.
    peer = PeerTap(args.peer_python.absolute())
    if not peer.available():
        log(f"the peer is not installed at {args.peer_python}: its columns stay empty")
    began = time.monotonic()
    started_at = dt.datetime.now(dt.timezone.utc)
    results: dict[str, Any] = {
        "mode": mode.name,
        "machine": machine_info(),
        "revision": tap_revision(),
        "load": {},
        "fingerprint": {"start": tap_fingerprint()},
    }
    taps = (ours, peer)
    scenarios = {
        "startup": ours.startup,
        "budget": lambda: budget_scenario(mode, ours, shared=False),
        "scan": lambda: scan_scenario(mode, ours),
        "shared": lambda: budget_scenario(mode, ours, shared=True),
        "large": lambda: cpu_memory_scenario(mode, taps, mode.large_conversations, "large"),
        "small": lambda: cpu_memory_scenario(mode, taps, mode.small_conversations, "small"),
        "requests": lambda: requests_scenario(mode, ours, peer),
    }
    results["load"]["start"] = load_average()
    for name, scenario in scenarios.items():
        results[name] = scenario()
        results["load"][name] = load_average()
    results["fingerprint"]["end"] = tap_fingerprint()
    results["load"] = {key: value for key, value in results["load"].items() if value}
    generated = report(results, mode, time.monotonic() - began, started_at)
    print()  # noqa: T201 - the table is the command's output
    print(generated)  # noqa: T201
    raw = BENCH / f"results-{mode.name}.json"
    raw.write_text(json.dumps(results, indent=2))
    target = args.results or (RESULTS_MD if mode is FULL else BENCH / "results-quick.md")
    write_results(target, generated)
    log(f"raw figures in {raw}; table written to {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
