"""Query parameters and paged JSON:API envelopes, shared by the /v1 handlers."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlencode

from kustomer_api.protocol import HttpError, Reply, dumps

if TYPE_CHECKING:
    from collections.abc import Callable

    from kustomer_api.protocol import Request
    from kustomer_api.seed import Org


def int_param(request: Request, name: str, default: int) -> int:
    raw = request.params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise HttpError(400, f"{name} must be a positive integer, got {raw!r}")
    return value


def bool_param(request: Request, name: str) -> bool | None:
    raw = request.params.get(name)
    if raw is None:
        return None
    if raw.lower() not in ("true", "false"):
        raise HttpError(400, f"{name} must be true or false, got {raw!r}")
    return raw.lower() == "true"


def choice_param(request: Request, name: str, allowed: tuple[str, ...]) -> str | None:
    raw = request.params.get(name)
    if raw is not None and raw not in allowed:
        raise HttpError(400, f"{name} must be one of {', '.join(allowed)}, got {raw!r}")
    return raw


def undocumented(request: Request, name: str) -> str | None:
    """A parameter Kustomer's reference does not list on this route: refused when the
    ``undocumented_params`` setting says so, else its value."""
    raw = request.params.get(name)
    if raw is not None and request.config.undocumented_params == "rejected":
        raise HttpError(400, f"Invalid query parameter: {name}")
    return raw


def page_and_size(request: Request, max_size: int) -> tuple[int, int]:
    page = int_param(request, "page", 1)
    size = int_param(request, "pageSize", 100)
    # Over-max pageSize is clamped rather than rejected: real behaviour is [?].
    return page, min(size, max_size)


def links(
    request: Request, page: int, size: int, *, has_next: bool, last: int | None = None
) -> dict[str, str | None]:
    others = [(k, v) for k, v in request.query if k not in ("page", "pageSize")]

    def link(number: int) -> str:
        return f"{request.path}?{urlencode([('page', number), ('pageSize', size), *others])}"

    found = {
        "self": link(page),
        "first": link(1),
        "prev": link(page - 1) if page > 1 else None,
        "next": link(page + 1) if has_next else None,
    }
    if last is not None:
        found["last"] = link(last)
    return found


def envelope(
    org: Org, meta: dict, page_links: dict, items: list[dict], included: list[dict] | None = None
) -> bytes:
    encoded = org.encoded
    # JSON:API ``included``: related objects a request asked for (``include=``, ``versions=``).
    extra = b"" if included is None else b',"included":[' + b",".join(map(encoded, included)) + b"]"
    return b"".join(
        (
            b'{"meta":',
            dumps(meta),
            b',"links":',
            dumps(page_links),
            b',"data":[',
            b",".join(encoded(o) for o in items),
            b"]",
            extra,
            b"}",
        )
    )


def data(org: Org, obj: dict) -> Reply:
    """One object in a ``data`` envelope."""
    return Reply(200, b'{"data":' + org.encoded(obj) + b"}")


def list_page(
    org: Org,
    request: Request,
    objects: list[dict],
    max_size: int,
    included: Callable[[list[dict]], list[dict]] | None = None,
) -> Reply:
    """The requested page of a GET list; ``included`` gives the related objects of a page."""
    page, size = page_and_size(request, max_size)
    start = (page - 1) * size
    cap = request.config.list_max_records
    if cap and start >= cap:
        # AWS Glue's connector docs report a 10,000-record limit; how the real list endpoints
        # refuse past it (400, empty page, or not at all) is [?]: each is offered.
        if request.config.list_cap_mode == "error":
            detail = (
                f"Page limit exceeded: page {page} with pageSize {size} is beyond {cap} records"
            )
            raise HttpError(400, detail)
        page_links = links(request, page, size, has_next=False)
        return Reply(200, envelope(org, {"pageSize": size, "page": page}, page_links, []))
    # The last page under the cap still advertises `next` beyond it, as search does, unless
    # the cap is "silent": then the list just ends there.
    silent = cap and request.config.list_cap_mode == "silent" and start + size >= cap
    items = objects[start : start + size]
    page_links = links(request, page, size, has_next=start + size < len(objects) and not silent)
    related = included(items) if included else None
    return Reply(200, envelope(org, {"pageSize": size, "page": page}, page_links, items, related))
