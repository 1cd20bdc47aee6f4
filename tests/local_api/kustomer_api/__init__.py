"""A local, deterministic stand-in for the Kustomer REST API, for tap-kustomer's tests and benchmark.

``OrgSpec`` says what to generate, ``Org`` holds the generated objects (``Org.build(spec)``), and
``LocalKustomer`` serves them over real HTTP with Kustomer's envelopes, auth, rate limits and faults;
``kustomer-local-api`` (``cli``, ``process``) runs it as a process.

Layout: ``server`` (sockets, ``LocalKustomer``), ``app`` (dispatch), ``auth``, ``budgets``,
``faults``, ``counters``, ``config`` and ``admin`` (one concern each), ``protocol`` and ``paging``
(what handlers share), ``handlers/`` (the /v1 endpoints, one module per entity), ``search`` (search
bodies) and ``seed/`` (the org, one module per entity). A new entity is a ``seed`` module with its
step and a ``handlers`` module with its ``ROUTES``, each added in one line.
"""

from kustomer_api.seed import Org, OrgSpec
from kustomer_api.server import LocalKustomer

__all__ = ["LocalKustomer", "Org", "OrgSpec"]
