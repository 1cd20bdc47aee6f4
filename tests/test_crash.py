"""Crash safety: kill -9 at random moments of a sync of every stream, ten times in a row."""

from __future__ import annotations

import random

from conftest import ALL_STREAMS, cli_config, run_killed_repeatedly, selected_catalog
from kustomer_api import LocalKustomer, OrgSpec
from test_faults import visible_truth


def test_ten_kills_in_a_row_lose_no_record_of_any_stream(tmp_path):
    spec = OrgSpec(seed=19, conversations=90, history_days=1000)
    with LocalKustomer(spec) as api:
        config_path = cli_config(api, tmp_path, start_date="2020-01-01T00:00:00Z")
        catalog_path = selected_catalog(tmp_path, config_path, ALL_STREAMS)
        delays = [random.Random(19).uniform(0.8, 5.0) for _ in range(10)]
        records = run_killed_repeatedly(tmp_path, config_path, catalog_path, delays)
        for stream in ALL_STREAMS:
            if stream == "agent_states":
                continue
            missing = set(visible_truth(api, stream)) - records.get(stream, set())
            assert not missing, f"{stream}: {len(missing)} missing after kills at {delays}"
        assert records["agent_states"], "the final run's snapshot"
