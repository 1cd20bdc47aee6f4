"""Write the Meltano Hub definition of this tap from ``tap-kustomer --about --format=json``.

The Hub builds its listings the same way (hub-utils runs ``--about``), so the file
cannot drift from the settings the tap really has. Usage:

    python scripts/hub_definition.py            # rewrite hub/tap-kustomer/wfm-labs.yml
    python scripts/hub_definition.py --check    # exit 1 if the committed file is stale
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
VARIANT = "wfm-labs"
OUTPUT = ROOT / "hub" / "tap-kustomer" / f"{VARIANT}.yml"
# The SDK's built-in settings worth listing, last; BATCH and faker are not offered.
BUILT_INS = ("stream_maps", "stream_map_config", "flattening_enabled", "flattening_max_depth")
NOT_OFFERED = ("faker_config", "batch_config", "flattening_max_key_length", "flattening_separator")
KINDS = {
    "integer": "integer",
    "number": "decimal",
    "boolean": "boolean",
    "object": "object",
    "array": "array",
}
HEADER = {
    "name": "tap-kustomer",
    "variant": VARIANT,
    "namespace": "tap_kustomer",
    "label": "Kustomer",
    "description": "Contact-center conversations, messages, routing and agent states",
    "pip_url": "wfm-labs-tap-kustomer",
    "executable": "tap-kustomer",
    "repo": "https://github.com/wfm-labs/tap-kustomer",
    "docs": "https://github.com/wfm-labs/tap-kustomer#readme",
    "domain_url": "https://www.kustomer.com",
    "logo_url": "/assets/logos/extractors/kustomer.png",
    "keywords": ["meltano_sdk", "api", "customer-service", "workforce-management"],
    "maintenance_status": "active",
    "quality": "silver",
}


def setting(name: str, schema: dict[str, Any], required: bool) -> dict[str, Any]:  # noqa: FBT001
    """One Hub setting from a JSON-schema property of the tap's config."""
    types = schema.get("type", [])
    types = [types] if isinstance(types, str) else types
    entry: dict[str, Any] = {"name": name, "label": schema.get("title") or name}
    if schema.get("secret"):
        entry.update(kind="password", sensitive=True)
    elif "enum" in schema:
        entry.update(kind="options", options=[{"label": v, "value": v} for v in schema["enum"]])
    elif schema.get("format") == "date-time":
        entry["kind"] = "date_iso8601"
    else:
        entry["kind"] = next((KINDS[t] for t in types if t in KINDS), "string")
    # The user agent's default names the installed version: not a Hub default.
    if "default" in schema and name != "user_agent":
        entry["value"] = schema["default"]
    if schema.get("description"):
        entry["description"] = schema["description"]
    if required:
        entry["description"] = "Required. " + entry.get("description", "")
    return entry


def definition() -> dict[str, Any]:
    """The Hub definition, from the installed tap's ``--about``."""
    about = json.loads(
        subprocess.run(  # noqa: S603 - the tap's own console script
            [str(Path(sys.executable).parent / "tap-kustomer"), "--about", "--format=json"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    properties = about["settings"]["properties"]
    required = set(about["settings"].get("required", []))
    skipped = {*BUILT_INS, *NOT_OFFERED}
    own = [name for name in properties if name not in skipped and "." not in name]
    names = own + [name for name in BUILT_INS if name in properties]
    return {
        **HEADER,
        "capabilities": about["capabilities"],
        "settings_group_validation": [sorted(required)],
        "settings": [setting(n, properties[n], n in required) for n in names],
    }


def render() -> str:
    """The YAML text of the definition."""
    return yaml.safe_dump(definition(), sort_keys=False, allow_unicode=True, width=100)


def main() -> None:
    """Write the file, or with --check compare it."""
    text = render()
    if "--check" in sys.argv[1:]:
        if not OUTPUT.exists() or OUTPUT.read_text() != text:
            sys.exit(f"{OUTPUT.relative_to(ROOT)} is stale: run python scripts/hub_definition.py")
        return
    OUTPUT.write_text(text)
    print(f"wrote {OUTPUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
