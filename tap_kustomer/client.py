"""The HTTP client: authentication, error taxonomy, retries and pacing.

Every request of every stream goes through one ``KustomerClient``, shared by the
tap, so that one pacer holds the whole budget and one connection pool serves the
worker threads that fetch per-conversation endpoints.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections import Counter
from typing import TYPE_CHECKING, Any, TypedDict
from urllib.parse import urlencode, urljoin, urlsplit

import backoff
import msgspec
import requests
from requests.adapters import HTTPAdapter
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError

from tap_kustomer.permissions import endpoint_of, roles_hint

if TYPE_CHECKING:
    import logging
    from collections.abc import Iterator, Mapping

    from tap_kustomer.pacing import Pacer, RequestBudget

SEARCH_PATH = "/v1/customers/search"
# Any valid key may read its own token, whatever its roles (developer.kustomer.com quickstart).
TOKEN_PATH = "/v1/auth/tokens/current"  # noqa: S105 - a path, not a secret
ARCHIVE_SEARCH_PATH = "/v1/customers/archive/search"
# Both take the search roles and, [?] in the reference, the search budget: paced as searches.
SEARCH_PATHS = frozenset({SEARCH_PATH, ARCHIVE_SEARCH_PATH})
# The list endpoints' page size ("most lists 100", kustomer-api.md §2.2).
LIST_PAGE_SIZE = 100
# Lists are reported to stop at 10,000 records (AWS Glue's Kustomer notes; [?] in the
# reference), filtered or not.
LIST_REACH = 10_000
_MAX_DETAIL_CHARS = 200
_BACKOFF_CAP_SECONDS = 60


class KustomerAPIError(FatalAPIError):
    """Kustomer answered with an error that retrying cannot fix.

    ``endpoint`` is the request's endpoint template (``GET /v1/conversations/{id}/events``)
    and ``status`` the HTTP status, where the error came from a response.
    """

    def __init__(
        self, message: str, *, endpoint: str | None = None, status: int | None = None
    ) -> None:
        """Keep the one-line message and where it came from."""
        super().__init__(message)
        self.endpoint = endpoint
        self.status = status


class AuthenticationError(KustomerAPIError):
    """401: the token is wrong, expired, or belongs to another region."""


class PermissionDeniedError(KustomerAPIError):
    """403: the API key lacks the role an endpoint needs."""


class NotFoundError(KustomerAPIError):
    """404: the object or endpoint does not exist."""


class BadRequestError(KustomerAPIError):
    """400: Kustomer refused the request itself (a body, a parameter, a page past a limit)."""


class ContextRefusedError(KustomerAPIError):
    """A search context the org refuses (400 on its first page): its stream is skipped."""


class ListUnreachableError(KustomerAPIError):
    """A list endpoint stopped serving pages before its end (``KustomerClient.iter_pages``).

    ``where`` is the list (path and filters), ``page`` the first page it did not serve
    and ``reached`` how many records the pages before it hold.
    """

    def __init__(
        self, path: str, filters: Mapping[str, Any], page: int, reached: int, answer: str
    ) -> None:
        """Name the list, where it stopped and how."""
        self.where = f"{path}?{urlencode(filters)}" if filters else path
        self.page = page
        self.reached = reached
        msg = f"GET {self.where} stopped at page {page}, after {reached:,} records: {answer}"
        super().__init__(msg, endpoint=f"GET {endpoint_of(path)}")


class _Origin(TypedDict):
    endpoint: str
    status: int


class TransientAPIError(RetriableAPIError):
    """A failure worth retrying: 429, 5xx, a broken connection or a broken body."""


class RateLimitedError(TransientAPIError):
    """429: the org's or the search budget is spent until the reset."""


class KustomerClient:
    """Sends paced, retried requests to one Kustomer API host."""

    def __init__(  # noqa: PLR0913 - each is a distinct setting
        self,
        *,
        api_url: str,
        token: str,
        user_agent: str,
        pacer: Pacer,
        timeout_seconds: float,
        max_tries: int,
        logger: logging.Logger,
        pool_size: int = 16,
    ) -> None:
        """Build the session; no request is sent until a stream asks for one."""
        self.api_url = api_url.rstrip("/")
        self._origin = urlsplit(self.api_url)[:2]
        self._pacer = pacer
        self._timeout = timeout_seconds
        self._logger = logger
        self._session = requests.Session()
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size)
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)
        self._session.headers.update(
            {
                "Authorization": f"Bearer {token}",
                "Accept": "application/json",
                "User-Agent": user_agent,
            }
        )
        self._stats_lock = threading.Lock()
        self.requests_by_endpoint: Counter[str] = Counter()
        self.retries = 0
        self.rate_limited = 0
        self._send_with_retries = backoff.on_exception(
            backoff.expo,
            TransientAPIError,
            max_tries=max_tries,
            max_value=_BACKOFF_CAP_SECONDS,
            jitter=backoff.full_jitter,
            on_backoff=self._log_retry,
            logger=None,
        )(self._send_once)

    @property
    def request_count(self) -> int:
        """Requests sent so far, retries included."""
        return sum(self.requests_by_endpoint.values())

    def org_budget(self) -> RequestBudget:
        """The org's rate limit and the tap's request budget, for ``--test`` and ``--plan``.

        Searches do not tell the org's limit (``Pacer.observe``): when no other response
        has yet, the key's token is read, one request.
        """
        if self._pacer.budget.org_limit is None:
            # [?] Should some org refuse it, its headers have been observed all the same.
            with contextlib.suppress(PermissionDeniedError, NotFoundError):
                self.get(TOKEN_PATH)
        return self._pacer.budget

    def get(self, link: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """GET a path or a relative ``links.next`` and return the JSON body."""
        return self._send_with_retries("GET", self._absolute(link), params, None)

    def search(
        self, body: Mapping[str, Any], *, page: int, page_size: int, archive: bool = False
    ) -> dict[str, Any]:
        """POST one page of ``/v1/customers/search``, or of the archive search."""
        params = {"page": page, "pageSize": page_size}
        path = ARCHIVE_SEARCH_PATH if archive else SEARCH_PATH
        return self._send_with_retries("POST", self.api_url + path, params, body)

    def iter_pages(self, path: str, params: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        """Yield the pages of a list endpoint from ``params["page"]`` on, following ``links.next``.

        A list never ends quietly at its reach: how Kustomer refuses a page past it is [?]
        (kustomer-api.md §9.1), so each plausible answer raises ``ListUnreachableError``
        after the pages served: a 400 on a later page (the query was served on its first
        page, so only the page number can be at fault), an empty page after a full one
        that named it, a ``meta.totalPages`` past the last page served, or a list that
        ends at exactly ``LIST_REACH`` records.
        """
        number = int(params.get("page", 1))
        size = int(params.get("pageSize", LIST_PAGE_SIZE))
        filters = {k: v for k, v in params.items() if k not in ("page", "pageSize")}
        link: str | None = None
        named = False  # the page before was full and named this one
        while True:
            try:
                page = self.get(link) if link else self.get(path, params)
            except BadRequestError as exc:
                if number == 1:
                    raise
                reached = (number - 1) * size
                raise ListUnreachableError(path, filters, number, reached, str(exc)) from exc
            data = page.get("data") or []
            meta = page.get("meta") or {}
            if isinstance(meta.get("pageSize"), int):
                size = meta["pageSize"]  # what the endpoint serves, not what was asked
            reached = (number - 1) * size + len(data)
            link = (page.get("links") or {}).get("next")
            if data or not named:
                yield page
            gap = _gap(page, number, reached, named=named)
            if gap:
                first_unread = number + 1 if data else number
                raise ListUnreachableError(path, filters, first_unread, reached, gap)
            if not data or not link:
                return
            named = len(data) >= size
            number += 1

    def _absolute(self, link: str) -> str:
        url = urljoin(self.api_url + "/", link)
        if urlsplit(url)[:2] != self._origin:
            # The token goes with every request: never to a host the user did not name.
            msg = f"Refusing to follow a link to another host than api_url: {endpoint_of(link)}"
            raise KustomerAPIError(msg)
        return url

    def _send_once(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None,
        body: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        path = urlsplit(url).path
        endpoint = endpoint_of(path)
        self._pacer.acquire(search=path in SEARCH_PATHS)
        with self._stats_lock:
            self.requests_by_endpoint[f"{method} {endpoint}"] += 1
        try:
            response = self._session.request(
                method, url, params=params, json=body, timeout=self._timeout
            )
            content = response.content
        except (requests.ConnectionError, requests.Timeout) as exc:
            msg = f"{method} {path} failed: {type(exc).__name__}"
            raise TransientAPIError(msg) from exc
        except requests.RequestException as exc:  # broken chunked or compressed body
            msg = f"{method} {path} failed while reading the body: {type(exc).__name__}"
            raise TransientAPIError(msg) from exc
        self._check_status(method, path, response)
        try:
            document = _decode(content)
        except (ValueError, msgspec.DecodeError) as exc:
            msg = f"{method} {path} returned a body that is not valid JSON ({len(content)} bytes)"
            raise TransientAPIError(msg, response) from exc
        if not isinstance(document, dict):
            msg = f"{method} {path} returned JSON that is not an object"
            raise TransientAPIError(msg, response)
        if (document.get("meta") or {}).get("timed_out") is True:
            # A timed-out search holds a partial page (kustomer-api.md gotcha 18).
            msg = f"{method} {path} timed out on Kustomer's side (partial results)"
            raise TransientAPIError(msg, response)
        return document

    def _check_status(self, method: str, path: str, response: requests.Response) -> None:
        status = response.status_code
        rate_limited = status == requests.codes.too_many_requests
        self._pacer.observe(
            response.headers, rate_limited=rate_limited, search=path in SEARCH_PATHS
        )
        if status < requests.codes.bad_request:
            return
        where = f"{method} {path}"
        detail = _error_detail(response)
        origin = _Origin(endpoint=f"{method} {endpoint_of(path)}", status=status)
        if rate_limited:
            with self._stats_lock:
                self.rate_limited += 1
            msg = f"{where}: 429 Too Many Requests (budget spent until the reset)"
            raise RateLimitedError(msg, response)
        if status >= requests.codes.server_error:
            msg = f"{where}: {status} {response.reason}{detail}"
            raise TransientAPIError(msg, response)
        if status == requests.codes.unauthorized:
            message = _authentication_message(where, detail, self.api_url)
            raise AuthenticationError(message, **origin)
        if status == requests.codes.forbidden:
            msg = (
                f"{where}: 403 Forbidden{detail}: the API key lacks a Kustomer role this "
                f"endpoint needs, {roles_hint(path)}"
            )
            raise PermissionDeniedError(msg, **origin)
        if status == requests.codes.not_found:
            msg = f"{where}: 404 Not Found{detail}"
            raise NotFoundError(msg, **origin)
        if status == requests.codes.bad_request:
            msg = f"{where}: 400 Bad Request{detail}"
            raise BadRequestError(msg, **origin)
        msg = f"{where}: {status} {response.reason}{detail}"
        raise KustomerAPIError(msg, **origin)

    def _log_retry(self, details: Any) -> None:  # noqa: ANN401 - backoff's details dict
        with self._stats_lock:
            self.retries += 1
        self._logger.warning(
            "Retrying in %.1f s (attempt %d): %s",
            details["wait"],
            details["tries"],
            details.get("exception"),
        )


def _gap(page: dict[str, Any], number: int, reached: int, *, named: bool) -> str | None:
    """Why a list page that ends the list is not its end; None where it is, or goes on."""
    data = page.get("data")
    if not data and named:
        return "an empty page where the page before named it"
    if data and (page.get("links") or {}).get("next"):
        return None
    total_pages = (page.get("meta") or {}).get("totalPages")
    if isinstance(total_pages, int) and total_pages > number:
        return f"no further page while meta.totalPages is {total_pages}"
    if reached == LIST_REACH:
        return f"the list ends at exactly {LIST_REACH:,} records, its reported reach"
    return None


# msgspec parses the large search pages several times faster than the json module.
_decode = msgspec.json.Decoder().decode


def _error_detail(response: requests.Response) -> str:
    """Kustomer's own words from an error body, short; never other content.

    Kustomer documents most error bodies as ``{code, message, meta}`` and some as
    JSON:API ``errors[]`` (whose items hold ``detail``/``title``, or ``message``);
    both are read, the most specific text first.
    """
    try:
        document = json.loads(response.content)
    except ValueError:
        return ""
    if not isinstance(document, dict):
        return ""
    errors = document.get("errors")
    first = errors[0] if isinstance(errors, list) and errors else None
    source = first if isinstance(first, dict) else document
    for key in ("detail", "message", "title", "code"):
        text = source.get(key)
        if isinstance(text, str) and text.strip():
            return f" ({' '.join(text.split())[:_MAX_DETAIL_CHARS]})"
    return ""


def _authentication_message(where: str, detail: str, api_url: str) -> str:
    if "pod" in detail:
        return (
            f"{where}: 401 Unauthorized{detail}: the token belongs to another Kustomer "
            f"region than api_url {api_url}; use the org host https://<org>.api.kustomerapp.com "
            "or the region's host (EU https://api.prod2.kustomerapp.com, "
            "India https://api.prod4.kustomerapp.com)"
        )
    return f"{where}: 401 Unauthorized{detail}: check api_token (wrong, revoked or expired key)"
