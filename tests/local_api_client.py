"""Calls and checks the local API tests share (``test_local_api_*``); their fixtures are in
``local_api_fixtures``."""

from __future__ import annotations

import re
import time
from datetime import datetime

import pytest
import requests

HORIZON_S = 730 * 86_400
ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")
SEARCH = "/v1/customers/search"
ARCHIVE = "/v1/customers/archive/search"


def epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def session(token: str) -> requests.Session:
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {token}"
    return http


def get(api, http, path, **params) -> requests.Response:
    return http.get(api.base_url + path, params=params, timeout=10)


def search(api, http, body, **params) -> requests.Response:
    return http.post(api.base_url + SEARCH, params=params, json=body, timeout=10)


def archive(api, http, body, **params) -> requests.Response:
    return http.post(api.base_url + ARCHIVE, params=params, json=body, timeout=10)


def walk(api, http, path, body=None, **params) -> list[dict]:
    """Every record of a list or (archive) search, following relative ``links.next``."""
    if body:
        response = http.post(api.base_url + path, params=params, json=body, timeout=10)
    else:
        response = get(api, http, path, **params)
    records = []
    while True:
        assert response.status_code == 200, response.text
        page = response.json()
        records += page["data"]
        nxt = page["links"]["next"]
        if nxt is None:
            return records
        url = api.base_url + nxt
        response = http.post(url, json=body, timeout=10) if body else http.get(url, timeout=10)


def ids(records: list[dict]) -> list[str]:
    return [r["id"] for r in records]


def searchable(truth: list[dict], *, include_deleted: bool = False) -> list[dict]:
    cutoff = time.time() - HORIZON_S
    return [
        o
        for o in truth
        if epoch(o["attributes"]["updatedAt"]) >= cutoff
        and (include_deleted or not o["attributes"].get("deleted"))
    ]


def error(status: int, code: str, title: str, detail: str) -> dict:
    return {"errors": [{"status": str(status), "code": code, "title": title, "detail": detail}]}


def spend_until_429(call) -> requests.Response:
    # A window can roll over mid-loop; the next window's tiny budget is spent again.
    for _ in range(10):
        response = call()
        if response.status_code == 429:
            return response
    pytest.fail("no 429 within 10 requests")
