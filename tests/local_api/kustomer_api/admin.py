"""``/__admin``: counters, settings, mutations and the ground truth, for tests and the benchmark.

Not Kustomer's endpoints: no token, no budget, not counted, and one error shape whatever
``error_shape`` says. Besides ``mutate``: ``delete`` ({"stream", "count"} or {"stream", "ids"})
deletes objects for good, ``change-status`` ({"count"}) moves conversations to their next
status, ``truth?stream=audit_logs`` gives the entries the audit log serves (oldest first) and
``deleted?stream=`` the ids of the objects of a stream deleted for good.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from kustomer_api.config import SETTINGS
from kustomer_api.handlers import audit_logs
from kustomer_api.protocol import Reply, dumps, error

if TYPE_CHECKING:
    from collections.abc import Callable

    from kustomer_api.app import App


def handle(app: App, method: str, path: str, params: dict[str, str], body: bytes) -> Reply:
    actions: dict[tuple[str, str], Callable[[dict[str, Any]], Any]] = {
        ("GET", "/__admin/stats"): lambda _payload: app.counters.snapshot(),
        ("GET", "/__admin/request-times"): lambda _payload: app.counters.times(),
        ("POST", "/__admin/reset-stats"): lambda _payload: app.counters.reset() or {"ok": True},
        ("POST", "/__admin/configure"): lambda payload: _configure(app, payload),
        ("POST", "/__admin/mutate"): lambda payload: {
            "ids": app.org.mutate(payload.get("stream", ""), int(payload.get("count", 1)))
        },
        ("POST", "/__admin/delete"): lambda payload: {"ids": _delete(app, payload)},
        ("POST", "/__admin/change-status"): lambda payload: {
            "ids": app.org.change_status(int(payload.get("count", 1)))
        },
        ("GET", "/__admin/truth"): lambda _payload: _truth(app, params.get("stream", "")),
        ("GET", "/__admin/deleted"): lambda _payload: app.org.deleted_ids(params.get("stream", "")),
    }
    action = actions.get((method, path))
    if action is None:
        return error(404, f"No admin route for {method} {path}")
    try:
        payload = json.loads(body) if body else {}
        return Reply(200, dumps(action(payload)))
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        return error(400, str(exc))


def _delete(app: App, payload: dict[str, Any]) -> list[str]:
    ids = payload.get("ids")
    if ids is not None and (not isinstance(ids, list) or not all(isinstance(i, str) for i in ids)):
        msg = "ids must be a list of object ids"
        raise TypeError(msg)
    return app.org.delete(payload.get("stream", ""), int(payload.get("count", 1)), ids)


def _truth(app: App, stream: str) -> list[dict]:
    if stream == "audit_logs":
        return audit_logs.served(app.org, app.config)
    return app.org.truth_index(stream)


def _configure(app: App, payload: dict[str, Any]) -> dict[str, Any]:
    app.configure(payload)
    return {name: getattr(app.config, name) for name in SETTINGS}
