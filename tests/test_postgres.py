"""End to end into a real PostgreSQL server (meltanolabs-target-postgres), offline."""

from __future__ import annotations

import pytest
from conftest import ENDPOINT_STREAMS, meltano_env, run_meltano
from kustomer_api import LocalKustomer, OrgSpec
from loaders import postgres_counts, psql

# Runs Meltano in this project: one such module at a time (conftest.meltano_lock).
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("meltano_lock")]


def test_meltano_run_into_postgres_loads_every_row_with_keys_and_types(postgres, tmp_path):
    with LocalKustomer(OrgSpec(seed=37, conversations=120, history_days=600)) as api:
        env = meltano_env(
            api,
            tmp_path,
            TARGET_POSTGRES_PORT=str(postgres),
            TARGET_POSTGRES_PASSWORD="unused-with-trust-auth",
        )

        installed = run_meltano(env, "install", "--plugin-type", "loader", "target-postgres")
        assert installed.returncode == 0, installed.stderr[-2000:]
        loaded = run_meltano(env, "run", "tap-kustomer", "target-postgres")
        assert loaded.returncode == 0, loaded.stderr[-3000:]
        exact = postgres_counts(postgres, "kustomer")
        for stream in ENDPOINT_STREAMS:
            assert exact[stream] == len(api.org.truth(stream)), stream
        assert exact["tickets"] == len(api.org.truth("conversations"))
        keys = dict(
            psql(
                postgres,
                "select tc.table_name, string_agg(kcu.column_name, ',' order by kcu.ordinal_position) "
                "from information_schema.table_constraints tc join information_schema.key_column_usage kcu "
                "using (constraint_schema, constraint_name) where tc.table_schema = 'kustomer' "
                "and tc.constraint_type = 'PRIMARY KEY' group by tc.table_name",
            )
        )
        assert keys["conversations"] == "id"
        assert keys["agent_states"] == "user_id,observed_at"
        types = {
            (table, column): kind
            for table, column, kind in psql(
                postgres,
                "select table_name, column_name, data_type from information_schema.columns where table_schema = 'kustomer'",
            )
        }
        assert types[("conversations", "created_at")].startswith("timestamp")
        assert types[("conversations", "tags")] in {"ARRAY", "jsonb", "json"}
        assert types[("tickets", "first_response_duration")] in {
            "numeric",
            "double precision",
            "decimal",
        }
        assert types[("conversations", "message_count")] in {"bigint", "integer"}
