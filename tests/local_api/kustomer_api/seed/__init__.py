"""Deterministic generator of a Kustomer org: the objects the local API serves.

``OrgSpec`` says what to generate and ``Org.build(spec)`` generates it: ``builder.Builder`` runs
one step per entity (``directory``, ``routing``, ``conversations`` with ``plans``, ``messages``,
``events`` and ``customers``, and ``recent``), all from one seeded ``random.Random``. Shapes
follow the real payloads in ``shared/reference/kustomer-api.md`` §4-5.

A new entity is a module with its step, appended to ``builder.STEPS``, and its stream in
``spec.STREAMS``. The objects of issue 15 (``org_settings``, then ``crm``, both before
``recent``), the audit log of issue 22 (``audit_log``, entries only: ``Org.audit``) and the
typed custom attributes of every object (``custom_data``, last) draw from random streams of
their own; the streams of issue 15 are ``spec.OBJECT_STREAMS``.
"""

from kustomer_api.seed.messages import KNOWN_CHANNELS
from kustomer_api.seed.org import Org
from kustomer_api.seed.spec import (
    MUTABLE_STREAMS,
    OBJECT_STREAMS,
    SEARCH_HORIZON_DAYS,
    STREAMS,
    OrgSpec,
)

__all__ = [
    "KNOWN_CHANNELS",
    "MUTABLE_STREAMS",
    "OBJECT_STREAMS",
    "SEARCH_HORIZON_DAYS",
    "STREAMS",
    "Org",
    "OrgSpec",
]
