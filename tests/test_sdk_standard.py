"""The Singer SDK's standard tap tests, offline against the local Kustomer API."""

from __future__ import annotations

import atexit

import pytest
from conftest import unlimited_api
from kustomer_api import OrgSpec
from singer_sdk.testing import SuiteConfig, get_tap_test_class

from tap_kustomer.tap import TapKustomer

pytestmark = pytest.mark.slow

# The SDK builds the test class from a config at import time, so the server starts here.
# object_links: files on some messages, so the attachments stream has records too.
_API = unlimited_api(OrgSpec(seed=51, conversations=60, history_days=300, object_links=True))
_API.start()
atexit.register(_API.stop)

TestTapKustomer = get_tap_test_class(
    tap_class=TapKustomer,
    config={
        "api_token": _API.token,
        "api_url": _API.base_url,
        "start_date": "2020-01-01T00:00:00Z",
        "max_requests_per_minute": 2000,
        "max_search_requests_per_minute": 100,
    },
    suite_config=SuiteConfig(max_records_limit=40),
)
