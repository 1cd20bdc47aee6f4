"""The Meltano Hub definition: generated from --about, valid, and installable offline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
from conftest import ROOT

pytestmark = pytest.mark.slow

DEFINITION = ROOT / "hub" / "tap-kustomer" / "wfm-labs.yml"
MELTANO = Path(sys.executable).parent / "meltano"


def test_the_definition_is_generated_from_about_and_not_stale():
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "hub_definition.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_the_definition_validates_against_the_hub_schema():
    schema = json.loads((ROOT / "tests" / "hub_extractor.schema.json").read_text())
    definition = yaml.safe_load(DEFINITION.read_text())
    jsonschema.validate(definition, schema, format_checker=jsonschema.FormatChecker())
    settings = {s["name"]: s for s in definition["settings"]}
    assert settings["api_token"]["sensitive"] is True
    assert {
        "api_url",
        "start_date",
        "max_requests_per_minute",
        "page_size",
        "pii_mode",
    } <= settings.keys()
    assert "batch" not in definition["capabilities"]


def test_meltano_adds_it_offline_from_the_file(tmp_path):
    env = {**os.environ, "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false"}

    def meltano(*args, cwd):
        return subprocess.run(
            [str(MELTANO), *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )

    init = meltano("init", "project", "--no_usage_stats", cwd=tmp_path)
    assert init.returncode == 0, init.stderr[-2000:]
    project = tmp_path / "project"
    # Until the package is on PyPI, install the same definition from this checkout.
    local = yaml.safe_load(DEFINITION.read_text())
    local["pip_url"] = str(ROOT)
    reference = tmp_path / "wfm-labs.yml"
    reference.write_text(yaml.safe_dump(local, sort_keys=False))
    added = meltano(
        "add",
        "--plugin-type",
        "extractor",
        "tap-kustomer",
        "--from-ref",
        str(reference),
        cwd=project,
    )
    assert added.returncode == 0, added.stderr[-2000:]
    about = subprocess.run(
        [
            str(project / ".meltano/extractors/tap-kustomer/venv/bin/tap-kustomer"),
            "--about",
            "--format=json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(about.stdout)["name"] == "tap-kustomer"
    declared = yaml.safe_load((project / "meltano.yml").read_text())["plugins"]["extractors"][0]
    assert (declared["name"], declared["variant"]) == ("tap-kustomer", "wfm-labs")
    listed = meltano("config", "list", "tap-kustomer", cwd=project)
    assert listed.returncode == 0, listed.stderr[-2000:]
    assert "api_token" in listed.stdout
