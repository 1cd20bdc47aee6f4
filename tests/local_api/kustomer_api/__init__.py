"""A local, deterministic stand-in for the Kustomer REST API, for tap-kustomer's tests and benchmark.

``OrgSpec`` says what to generate, ``Org`` holds the generated objects (``Org.build(spec)``), and
``LocalKustomer`` serves them over real HTTP with Kustomer's envelopes, auth, rate limits and faults.
"""

from kustomer_api.seed import Org, OrgSpec
from kustomer_api.server import LocalKustomer

__all__ = ["LocalKustomer", "Org", "OrgSpec"]
