"""The demo's local org (scripts/demo) gives every table it loads some rows."""

from __future__ import annotations

import shlex
from dataclasses import fields

from kustomer_api import OrgSpec
from kustomer_api.seed import Org
from kustomer_api.seed.spec import OBJECT_STREAMS, STREAMS
from loaders import ROOT


def demo_spec() -> OrgSpec:
    """The OrgSpec of the demo's kustomer-local-api command (its flags name the fields)."""
    script = (ROOT / "scripts" / "demo").read_text().replace("\\\n", " ")
    (command,) = [line for line in script.splitlines() if "kustomer-local-api --" in line]
    words = shlex.split(command.split(">")[0])
    defaults = OrgSpec()
    settings = {}
    for index, word in enumerate(words):
        name = word.removeprefix("--").replace("-", "_")
        if not word.startswith("--") or name not in {f.name for f in fields(OrgSpec)}:
            continue
        value = getattr(defaults, name)
        # A flag without a value is a switch.
        settings[name] = True if isinstance(value, bool) else type(value)(words[index + 1])
    return OrgSpec(**settings)


def test_every_stream_of_the_demo_org_has_objects():
    spec = demo_spec()
    assert spec.conversations == 400
    org = Org.build(spec)
    # tickets come from conversations, custom_attributes from the metadata, agent_states
    # from the sessions still open, each Klass's stream from its KObjects.
    empty = [store for store in (*STREAMS, *OBJECT_STREAMS, "metadata") if not org.truth(store)]
    assert not empty, f"the demo's tables {empty} would be empty"
    assert any(s["attributes"]["active"] for s in org.truth("work_sessions")), "agent_states"
    klasses = {k["id"] for k in org.truth("klasses")}
    with_objects = {o["relationships"]["klass"]["data"]["id"] for o in org.truth("kobjects")}
    assert klasses == with_objects, "a Klass without KObjects"
