"""Run the local Kustomer API as a process: ``kustomer-local-api --port 8765``."""

from __future__ import annotations

import argparse
import signal
import threading
from dataclasses import fields

from kustomer_api.faults import FAULT_KINDS
from kustomer_api.process import READY
from kustomer_api.seed import OrgSpec
from kustomer_api.server import LocalKustomer


def _fault(text: str) -> tuple[str, float]:
    kind, sep, rate = text.partition("=")
    if not sep or kind not in FAULT_KINDS:
        msg = f"expected KIND=RATE with KIND one of {', '.join(FAULT_KINDS)}, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    try:
        return kind, float(rate)
    except ValueError as exc:
        msg = f"RATE must be a number, got {rate!r}"
        raise argparse.ArgumentTypeError(msg) from exc


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        msg = f"expected a non-negative integer, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kustomer-local-api", description=__doc__)
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--conversations", type=int, default=3000)
    parser.add_argument("--history-days", type=int, default=540)
    parser.add_argument("--tie-size", type=int, default=0)
    parser.add_argument(
        "--old-fraction",
        type=float,
        default=None,
        help="share of conversations kept before the 2-year search horizon "
        "(needs --history-days >= 732)",
    )
    parser.add_argument(
        "--recent-days",
        type=_count,
        default=0,
        metavar="N",
        help="a busy recent past: the last N days get --recent-per-day more conversations each",
    )
    parser.add_argument("--recent-per-day", type=_count, default=0, metavar="N")
    parser.add_argument(
        "--object-links",
        action="store_true",
        help="some customers name a company and some messages carry attachments",
    )
    parser.add_argument("--latency-ms", type=float, default=0)
    parser.add_argument("--org-rpm", type=int, default=1000)
    parser.add_argument("--search-rpm", type=int, default=100)
    parser.add_argument("--other-consumer-rpm", type=float, default=0)
    parser.add_argument("--retry-after", action="store_true", help="send Retry-After on 429s")
    parser.add_argument("--slow-seconds", type=float, default=5.0, help="delay of the slow fault")
    parser.add_argument(
        "--fault",
        type=_fault,
        action="append",
        default=[],
        metavar="KIND=RATE",
        help=f"inject a fault with this probability; KIND is one of {', '.join(FAULT_KINDS)}",
    )
    parser.add_argument(
        "--faults-seed", type=int, default=None, help="seed of fault decisions (default: --seed)"
    )
    parser.add_argument(
        "--tie-order",
        choices=("id", "shuffled"),
        default="id",
        help="order of search results with equal sort keys",
    )
    parser.add_argument(
        "--edit-tied-records",
        type=_count,
        default=0,
        metavar="N",
        help="edit a served tied record after each of the next N search responses serving one",
    )
    parser.add_argument("--archive-search", choices=("on", "forbidden", "missing"), default="on")
    parser.add_argument(
        "--list-max-records",
        type=_count,
        default=0,
        metavar="N",
        help="paged GET lists refuse pages starting at or past N records (0: no cap)",
    )
    parser.add_argument("--list-cap-mode", choices=("error", "empty"), default="error")
    parser.add_argument("--error-shape", choices=("jsonapi", "code_message"), default="jsonapi")
    parser.add_argument(
        "--kobject-context",
        choices=("accepted", "refused"),
        default="accepted",
        help="whether search takes queryContext kobject (every Klass) besides kobject_<klass name>",
    )
    parser.add_argument("--metadata-route", choices=("on", "forbidden"), default="on")
    parser.add_argument("--audit-logs-route", choices=("on", "forbidden"), default="on")
    parser.add_argument(
        "--audit-order", choices=("newest_first", "oldest_first"), default="newest_first"
    )
    parser.add_argument(
        "--audit-after",
        choices=("honoured", "ignored"),
        default="honoured",
        help="whether the audit log honours its after/before parameters",
    )
    parser.add_argument(
        "--audit-retention-days",
        type=_count,
        default=90,
        metavar="N",
        help="the audit log serves no entry older than N days",
    )
    parser.add_argument(
        "--audit-kobject-type",
        choices=("klass", "plain"),
        default="klass",
        help="a KObject's objectType in the audit log: kobject.<klass name> or kobject",
    )
    parser.add_argument(
        "--accept-search-read-role",
        action="store_true",
        help="let org.permission.search.read grant (archive) search",
    )
    return parser


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    values = vars(args)
    # Flags are named after the OrgSpec fields and the server settings they set.
    spec_fields = {f.name for f in fields(OrgSpec)}
    spec = OrgSpec(**{k: v for k, v in values.items() if k in spec_fields})
    settings = {k: v for k, v in values.items() if k not in {*spec_fields, "port", "fault"}}
    api = LocalKustomer(spec, port=args.port, faults=dict(args.fault), **settings)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    api.start()
    print(READY.format(url=api.base_url, token=api.token), flush=True)
    try:
        # A timeout keeps the main thread responsive to signals.
        while not stop.wait(0.5):
            pass
    finally:
        api.stop()


if __name__ == "__main__":
    main()
