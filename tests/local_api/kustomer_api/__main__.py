"""``python -m kustomer_api``: the same command as ``kustomer-local-api``."""

from kustomer_api.cli import main

main()
