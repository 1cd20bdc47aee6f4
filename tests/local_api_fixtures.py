"""The local API servers of the local API tests (``pytest_plugins`` of ``test_local_api_*``)."""

from __future__ import annotations

import pytest
from kustomer_api import LocalKustomer, OrgSpec
from local_api_client import session

# history_days > 730 puts part of the org beyond the search horizon.
SPEC = OrgSpec(seed=11, conversations=300, history_days=900, tie_size=120)


@pytest.fixture(scope="module")
def api():
    # Budgets are high so that the module's own traffic never trips them by accident.
    with LocalKustomer(SPEC, org_rpm=100_000, search_rpm=100_000) as server:
        yield server


@pytest.fixture
def fresh():
    """A small server of its own, for tests that mutate data or inject faults."""
    with LocalKustomer(OrgSpec(seed=3, conversations=60), org_rpm=100_000) as server:
        yield server


@pytest.fixture
def http(api):
    with session(api.token) as client:
        yield client
