"""The local API's audit log (``GET /v1/audit-logs``), its switches, and the live changes that
write to it: hard deletes (gone from every route), status changes and mutations."""

from __future__ import annotations

import re
import time
from collections import Counter

import pytest
import requests
from kustomer_api import LocalKustomer, OrgSpec, cli
from kustomer_api.auth import NO_AUDIT_TOKEN, TICKETS_ONLY_TOKEN
from kustomer_api.config import Config, changed
from kustomer_api.seed.audit_log import SEEDED
from local_api_client import ARCHIVE, HORIZON_S, ISO, SEARCH, epoch, get, ids, session, walk

pytest_plugins = ("local_api_fixtures",)

AUDIT = "/v1/audit-logs"
DAY_S = 86_400
OBJECT_ID = re.compile(r"[0-9a-f]{24}")
ATTRIBUTES = {
    *("eventName", "eventVerb", "objectType", "objectId", "userId", "userType", "changes"),
    *("createdAt", "expiresAt"),
}
NEXT_STATUS = {"open": "snoozed", "snoozed": "done", "done": "open"}
# Stream -> (the list serving its live objects, the objectType of its entries).
LISTS = {
    "customers": ("/v1/customers", "customer"),
    "companies": ("/v1/companies", "company"),
    "notes": ("/v1/notes", "note"),
    "messages": ("/v1/messages", "message"),
    "users": ("/v1/users", "user"),
    "teams": ("/v1/teams", "team"),
    "tags": ("/v1/tags", "tag"),
    "queues": ("/v1/routing/queues", "queue"),
    "routing_statuses": ("/v1/routing/statuses", "routing-status"),
    "assistants": ("/v1/assistants", "assistant"),
    "brands": ("/v1/brands", "brand"),
    "shortcuts": ("/v1/shortcuts", "shortcut"),
    "slas": ("/v1/slas", "sla"),
    "business_schedules": ("/v1/schedules", "schedule"),
    "klasses": ("/v1/klasses", "klass"),
}
# Streams served by search too (their query context), and by a GET of one object.
CONTEXTS = {"customers": "customer", "companies": "company", "notes": "note", "messages": "message"}
BY_ID = {"slas": "/v1/slas/{}", "business_schedules": "/v1/schedules/{}"}


@pytest.fixture
def switch(api):
    """Set switches of the module's server for one test; the defaults come back after."""
    names: set[str] = set()

    def apply(**settings):
        names.update(settings)
        api.configure(**settings)

    yield apply
    api.configure(**{name: getattr(Config(), name) for name in names})


@pytest.fixture
def deleting():
    """A server of its own to delete from: part of it past the search horizon, with files."""
    spec = OrgSpec(seed=19, conversations=120, history_days=900, object_links=True)
    with LocalKustomer(spec, org_rpm=100_000, search_rpm=100_000) as server:
        yield server


def admin(api, method: str, path: str, **kwargs) -> requests.Response:
    return requests.request(method, api.base_url + "/__admin/" + path, timeout=10, **kwargs)


def served(api) -> list[dict]:
    """The entries the audit log serves, oldest first (the admin truth)."""
    response = admin(api, "GET", "truth", params={"stream": "audit_logs"})
    assert response.status_code == 200
    return response.json()


def attributes(entries: list[dict]) -> list[dict]:
    return [e["attributes"] for e in entries]


def findable(api, http, context: str, object_ids: list[str]) -> set[str]:
    """The ids among ``object_ids`` that search or archive search finds."""
    body = {"queryContext": context, "and": [{f"{context}_id": {"in": object_ids}}]}
    found = set()
    for path in (SEARCH, ARCHIVE):
        found |= set(ids(walk(api, http, path, body, pageSize=500)))
    return found


def test_entries_have_kustomers_shape_and_the_walk_serves_each_once(api, http):
    page = get(api, http, AUDIT).json()
    assert page["meta"] == {"pageSize": 100}
    assert page["links"]["self"] == AUDIT
    assert page["links"]["next"].startswith(AUDIT + "?")
    entries = walk(api, http, AUDIT)
    assert entries == served(api)[::-1]  # newest first by default
    users = set(ids(api.org.truth("users")))
    klasses = {k["attributes"]["name"] for k in api.org.truth("klasses")}
    kinds = Counter()
    for entry in entries:
        assert entry["type"] == "audit_log"
        assert OBJECT_ID.fullmatch(entry["id"])
        attrs = entry["attributes"]
        assert set(attrs) == ATTRIBUTES
        kind, _, klass = attrs["objectType"].partition(".")
        assert klass in klasses if kind == "kobject" else not klass
        assert attrs["eventName"] == f"kustomer.{kind}.{attrs['eventVerb']}"
        assert attrs["userType"] == ("system" if attrs["userId"] is None else "user")
        assert attrs["userId"] is None or attrs["userId"] in users
        assert ISO.fullmatch(attrs["createdAt"])
        assert int(entry["id"][:8], 16) == int(epoch(attrs["createdAt"]))
        assert epoch(attrs["expiresAt"]) - epoch(attrs["createdAt"]) == 90 * DAY_S
        assert all(set(c) == {"before", "after"} for c in attrs["changes"]["attributes"].values())
        kinds[kind, attrs["eventVerb"], attrs["userType"]] += 1
    assert {verb for _, verb, _ in kinds} == {"create", "update", "delete"}
    assert {who for _, _, who in kinds} == {"user", "system"}
    assert {kind for kind, _, _ in kinds} == set(SEEDED.values())


def test_page_size_is_clamped_and_bad_parameters_refused(api, http):
    page = get(api, http, AUDIT, pageSize=500).json()
    assert page["meta"] == {"pageSize": 100}
    assert len(page["data"]) == 100
    assert "pageSize=100" in page["links"]["next"]
    for params in ({"pageSize": 0}, {"cursor": "not-a-cursor"}, {"after": "nope"}):
        assert get(api, http, AUDIT, **params).status_code == 400, params


@pytest.mark.parametrize("order", ["newest_first", "oldest_first"])
def test_links_next_pages_without_gap_or_duplicate_while_entries_arrive(order):
    spec = OrgSpec(seed=3, conversations=60)
    with LocalKustomer(spec, org_rpm=100_000, audit_order=order) as api, session(api.token) as http:
        before = api.audit_log()
        response = get(api, http, AUDIT, pageSize=23)
        walked = []
        while True:
            page = response.json()
            walked += page["data"]
            assert len(page["data"]) <= 23
            api.mutate("conversations", 2)  # two new entries after every page
            if page["links"]["next"] is None:
                break
            assert "pageSize=23" in page["links"]["next"]
            response = http.get(api.base_url + page["links"]["next"], timeout=10)
        assert len(set(ids(walked))) == len(walked) > 100
        if order == "newest_first":
            # The walk goes back in time: what arrives meanwhile is newer than its start.
            assert walked == before[::-1]
        else:
            # The walk goes forward: it reaches what arrived, up to its last page.
            assert walked == api.audit_log()[:-2]
            assert len(walked) > len(before)


def test_after_and_before_bound_the_log_by_entry_order(api, http, switch):
    switch(audit_order="oldest_first")
    truth = served(api)
    every = ids(truth)
    k, j = len(every) // 3, 2 * len(every) // 3
    assert ids(walk(api, http, AUDIT, after=every[k])) == every[k + 1 :]
    assert ids(walk(api, http, AUDIT, before=every[j])) == every[:j]
    assert (
        ids(walk(api, http, AUDIT, after=every[k], before=every[j], pageSize=7)) == every[k + 1 : j]
    )
    # Any id bounds the log at the time it holds, entry or not.
    second = int(epoch(truth[k]["attributes"]["createdAt"]))
    made = f"{second:08x}" + "0" * 16
    newer = [e["id"] for e in truth if epoch(e["attributes"]["createdAt"]) >= second]
    assert ids(walk(api, http, AUDIT, after=made)) == newer
    switch(audit_order="newest_first")
    assert ids(walk(api, http, AUDIT, before=every[j], pageSize=9)) == every[:j][::-1]


def test_after_an_expired_entry_serves_everything_kept_after_it(api, http, switch):
    switch(audit_retention_days=120)
    old = next(
        e for e in served(api) if epoch(e["attributes"]["createdAt"]) < time.time() - 95 * DAY_S
    )
    switch(audit_retention_days=90)
    kept = served(api)
    assert old["id"] not in ids(kept)
    assert ids(walk(api, http, AUDIT, after=old["id"])) == ids(kept)[::-1]


def test_after_and_before_can_be_ignored(api, http, switch):
    switch(audit_after="ignored")
    every = ids(served(api))
    assert ids(walk(api, http, AUDIT, after=every[-5], before=every[3], pageSize=50)) == every[::-1]
    assert get(api, http, AUDIT, after="nope").status_code == 200


def test_entries_older_than_the_retention_are_gone(api, http, switch):
    counts = []
    for days in (30, 90, 120):
        switch(audit_retention_days=days)
        entries = attributes(walk(api, http, AUDIT))
        now = time.time()
        ages = [now - epoch(a["createdAt"]) for a in entries]
        assert max(ages) <= days * DAY_S + 60  # served at most a minute ago
        # The seeded log goes back 120 days: every retention cuts it, or nearly reaches its end.
        assert max(ages) > (days - 10) * DAY_S
        assert all(epoch(a["expiresAt"]) - epoch(a["createdAt"]) == days * DAY_S for a in entries)
        counts.append(len(entries))
    assert counts == sorted(counts)
    assert len(set(counts)) == 3
    assert counts[-1] < 3000  # a modest log for 300 conversations


def test_the_route_needs_an_audit_log_role_and_can_be_refused(api, switch):
    api.add_token("audit-role", roles=["org.permission.audit_logs.read"])
    api.add_token("legacy-audit-role", roles=["org.admin.audit_logs.read"])
    expected = {
        api.token: 200,
        "audit-role": 200,
        "legacy-audit-role": 200,
        NO_AUDIT_TOKEN: 403,
        TICKETS_ONLY_TOKEN: 403,
    }
    for token, status in expected.items():
        with session(token) as http:
            assert get(api, http, AUDIT).status_code == status, token
    with session(NO_AUDIT_TOKEN) as http:
        assert get(api, http, "/v1/conversations").status_code == 200
    with session(api.token) as http:
        switch(audit_logs_route="forbidden")
        assert get(api, http, AUDIT).status_code == 403
        switch(audit_logs_route="on", missing_routes=("GET /v1/audit-logs",))
        assert get(api, http, AUDIT).status_code == 404


def test_the_seeded_log_matches_the_org(api, switch):
    switch(audit_retention_days=120)
    entries = attributes(served(api))
    convs = {c["id"]: c["attributes"] for c in api.org.truth("conversations")}
    # Each conversation's last status change ends at its current status.
    last: dict[str, str] = {}
    for attrs in entries:
        status = attrs["changes"]["attributes"].get("status")
        if attrs["objectType"] == "conversation" and status:
            last[attrs["objectId"]] = status["after"]
    assert len(last) > 20
    assert all(convs[cid].get("status") == status for cid, status in last.items())
    # Every object created within the window has its create entry; every one updated in it
    # (after its creation) an entry at its updatedAt.
    start = api.org.now_ms / 1000 - 119 * DAY_S
    logged = {(a["objectId"], a["eventVerb"], a["createdAt"]) for a in entries}
    creates = {a["objectId"] for a in entries if a["eventVerb"] == "create"}
    for stream in SEEDED:
        objects = [o["attributes"] | {"id": o["id"]} for o in api.org.truth(stream)]
        assert {o["id"] for o in objects if epoch(o["createdAt"]) >= start} <= creates, stream
        updated = [
            o
            for o in objects
            if epoch(o["updatedAt"]) >= start and epoch(o["updatedAt"]) - epoch(o["createdAt"]) >= 1
        ]
        assert all((o["id"], "update", o["updatedAt"]) in logged for o in updated), stream
    # The seeded deletes name objects no route serves, listed among the deleted ids.
    streams = {kind: stream for stream, kind in SEEDED.items()}
    deletes = [a for a in entries if a["eventVerb"] == "delete"]
    assert len(deletes) >= 12
    for attrs in deletes:
        assert api.org.get(attrs["objectId"]) is None
        stream = streams[attrs["objectType"].partition(".")[0]]
        deleted = admin(api, "GET", "deleted", params={"stream": stream}).json()
        assert attrs["objectId"] in deleted


def test_kobject_entries_name_their_klass_unless_plain(api, http, switch):
    switch(audit_retention_days=120)
    klass_names = {k["id"]: k["attributes"]["name"] for k in api.org.truth("klasses")}
    klass_of = {
        o["id"]: klass_names[o["relationships"]["klass"]["data"]["id"]]
        for o in api.org.truth("kobjects")
    }
    entries = [
        a
        for a in attributes(walk(api, http, AUDIT))
        if a["eventName"].startswith("kustomer.kobject.")
    ]
    assert entries
    for attrs in entries:
        klass = klass_of.get(attrs["objectId"])  # None: deleted
        assert (
            attrs["objectType"] == f"kobject.{klass}"
            if klass
            else attrs["objectType"].startswith("kobject.")
        )
    switch(audit_kobject_type="plain")
    plain = [
        a
        for a in attributes(walk(api, http, AUDIT))
        if a["eventName"].startswith("kustomer.kobject.")
    ]
    assert {a["objectType"] for a in plain} == {"kobject"}
    assert len(plain) == len(entries)


def test_a_deleted_conversation_is_gone_from_every_route(deleting):
    api, org = deleting, deleting.org
    horizon = time.time() - HORIZON_S
    convs = [
        c
        for c in org.truth("conversations")
        if not c["attributes"]["deleted"] and org.events_by_conversation.get(c["id"])
    ]
    recent = next(c["id"] for c in convs if epoch(c["attributes"]["updatedAt"]) > horizon + DAY_S)
    old = next(c["id"] for c in convs if epoch(c["attributes"]["updatedAt"]) < horizon - DAY_S)
    with_files = next(
        c["id"]
        for c in convs
        if any(
            org.attachments_by_message.get(m["id"])
            for m in org.messages_by_conversation.get(c["id"], [])
        )
    )
    chosen = list(dict.fromkeys([recent, old, with_files]))
    messages_of = {cid: ids(org.messages_by_conversation.get(cid, [])) for cid in chosen}
    messages = [mid for cid in chosen for mid in messages_of[cid]]
    files = [(mid, a["id"]) for mid in messages for a in org.attachments_by_message.get(mid, [])]
    assert messages
    assert files
    log_before = api.audit_log()
    with session(api.token) as http:

        def seen() -> dict[str, bool]:
            listed = set(ids(walk(api, http, "/v1/conversations")))
            listed_messages = set(ids(walk(api, http, "/v1/messages")))
            return {
                "list": any(cid in listed for cid in chosen),
                "get": any(get(api, http, f"/v1/conversations/{c}").ok for c in chosen),
                "search": bool(findable(api, http, "conversation", chosen)),
                "messages route": any(
                    get(api, http, f"/v1/conversations/{c}/messages").ok for c in chosen
                ),
                "events route": any(
                    get(api, http, f"/v1/conversations/{c}/events").ok for c in chosen
                ),
                "message list": any(mid in listed_messages for mid in messages),
                "message search": bool(findable(api, http, "message", messages)),
                "files": any(
                    get(api, http, f"/v1/messages/{m}/attachments/{a}").ok for m, a in files
                ),
            }

        assert all(seen().values())
        response = admin(api, "POST", "delete", json={"stream": "conversations", "ids": chosen})
        assert response.json() == {"ids": chosen}
        assert not any(seen().values()), seen()
    assert not set(chosen) & set(ids(org.truth("conversations")))
    assert not set(messages) & set(ids(org.truth("messages")))
    assert set(chosen) <= set(
        admin(api, "GET", "deleted", params={"stream": "conversations"}).json()
    )
    assert set(messages) <= set(org.deleted_ids("messages"))
    # One delete entry per conversation, then one per message of it, by one agent, in order.
    new = attributes(api.audit_log()[len(log_before) :])
    assert [(a["objectType"], a["objectId"]) for a in new] == [
        pair
        for cid in chosen
        for pair in [("conversation", cid), *(("message", mid) for mid in messages_of[cid])]
    ]
    assert {(a["eventVerb"], a["userType"]) for a in new} == {("delete", "user")}
    assert len({a["userId"] for a in new}) == 1
    assert new[0]["userId"] in set(ids(org.truth("users")))
    stamps = [epoch(a["createdAt"]) for a in new]
    assert stamps == sorted(set(stamps))  # strictly increasing
    assert stamps[0] > epoch(log_before[-1]["attributes"]["createdAt"])


def test_every_stream_deletes_for_good(deleting):
    api, org = deleting, deleting.org
    with session(api.token) as http:
        for stream, (path, kind) in LISTS.items():
            listed = ids(walk(api, http, path))
            victim = listed[len(listed) // 2]
            context = CONTEXTS.get(stream)
            assert context is None or findable(api, http, context, [victim]) == {victim}
            assert stream not in BY_ID or get(api, http, BY_ID[stream].format(victim)).ok
            count = len(api.audit_log())
            response = admin(api, "POST", "delete", json={"stream": stream, "ids": [victim]})
            assert response.json() == {"ids": [victim]}, stream
            assert victim not in ids(walk(api, http, path)), stream
            assert context is None or not findable(api, http, context, [victim])
            assert (
                stream not in BY_ID
                or get(api, http, BY_ID[stream].format(victim)).status_code == 404
            )
            truth = admin(api, "GET", "truth", params={"stream": stream}).json()
            assert victim not in ids(truth)
            assert victim in admin(api, "GET", "deleted", params={"stream": stream}).json()
            # The object's entry first, then those of what goes with it (a Klass's KObjects).
            first = api.audit_log()[count]["attributes"]
            assert first["eventName"] == f"kustomer.{kind}.delete"
            assert (first["objectType"], first["objectId"], first["userType"]) == (
                kind,
                victim,
                "user",
            )
    # By count, and refused for an unknown stream or id.
    assert len(set(api.delete("tags", count=2))) == 2
    for payload in (
        {"stream": "work_sessions", "count": 1},
        {"stream": "tags", "ids": ["0" * 24]},
        {"stream": "tags", "ids": "not a list"},
    ):
        assert admin(api, "POST", "delete", json=payload).status_code == 400, payload
    assert org.deleted_ids("tags")[-2:] == [
        e["attributes"]["objectId"] for e in api.audit_log()[-2:]
    ]


def test_deleting_a_klass_takes_its_kobjects_and_metadata(deleting):
    api, org = deleting, deleting.org
    klass = org.truth("klasses")[0]
    name = klass["attributes"]["name"]
    with session(api.token) as http:
        kobjects = ids(walk(api, http, f"/v1/klasses/{name}"))
        assert kobjects
        assert findable(api, http, "kobject", kobjects) == set(kobjects)
        assert get(api, http, f"/v1/metadata/kobject.{name}").ok
        count = len(api.audit_log())
        assert api.delete("klasses", ids=[klass["id"]]) == [klass["id"]]
        assert get(api, http, f"/v1/klasses/{name}").status_code == 404
        assert get(api, http, f"/v1/metadata/kobject.{name}").status_code == 404
        assert not findable(api, http, "kobject", kobjects)
        assert klass["id"] not in ids(walk(api, http, "/v1/klasses"))
    new = attributes(api.audit_log()[count:])
    assert [(a["objectType"], a["objectId"]) for a in new] == [
        ("klass", klass["id"]),
        *((f"kobject.{name}", k) for k in kobjects),
    ]
    assert set(kobjects) <= set(org.deleted_ids("kobjects"))


def test_change_status_moves_conversations_on_and_logs_each_change(fresh):
    before = {c["id"]: c["attributes"] for c in fresh.org.truth("conversations")}
    count = len(fresh.audit_log())
    changed_ids = admin(fresh, "POST", "change-status", json={"count": 5}).json()["ids"]
    assert len(set(changed_ids)) == 5
    new = attributes(fresh.audit_log()[count:])
    assert [a["objectId"] for a in new] == changed_ids
    with session(fresh.token) as http:
        for cid, attrs in zip(changed_ids, new, strict=True):
            now = get(fresh, http, f"/v1/conversations/{cid}").json()["data"]["attributes"]
            old = before[cid]
            assert now["status"] == NEXT_STATUS.get(old.get("status"), "open")
            assert now["rev"] == old["rev"] + 1
            assert attrs["changes"] == {
                "attributes": {
                    "status": {"before": old.get("status"), "after": now["status"]},
                    "updatedAt": {"before": old["updatedAt"], "after": now["updatedAt"]},
                }
            }
            assert (attrs["eventName"], attrs["userType"]) == (
                "kustomer.conversation.update",
                "user",
            )
            assert attrs["createdAt"] == now["updatedAt"]


def test_mutations_log_an_update_of_updated_at(fresh):
    before = {m["id"]: m["attributes"]["updatedAt"] for m in fresh.org.truth("messages")}
    count = len(fresh.audit_log())
    mutated = fresh.mutate("messages", 3)
    after = {m["id"]: m["attributes"]["updatedAt"] for m in fresh.org.truth("messages")}
    new = attributes(fresh.audit_log()[count:])
    assert [a["objectId"] for a in new] == mutated
    for mid, attrs in zip(mutated, new, strict=True):
        assert attrs["eventName"] == "kustomer.message.update"
        assert attrs["changes"] == {
            "attributes": {"updatedAt": {"before": before[mid], "after": after[mid]}}
        }
        assert attrs["createdAt"] == after[mid]


def test_switches_are_validated_and_set_from_the_command_line():
    flags = {
        "order": "oldest_first",
        "after": "ignored",
        "retention-days": "30",
        "kobject-type": "plain",
        "logs-route": "forbidden",
    }
    argv = [arg for flag, value in flags.items() for arg in (f"--audit-{flag}", value)]
    config = changed(
        Config(),
        {k: v for k, v in vars(cli._parser().parse_args(argv)).items() if k.startswith("audit_")},
    )
    assert {f: str(getattr(config, "audit_" + f.replace("-", "_"))) for f in flags} == flags
    for bad in (
        {"audit_order": "sideways"},
        {"audit_after": "sometimes"},
        {"audit_retention_days": -1},
        {"audit_retention_days": 1.5},
        {"audit_kobject_type": "klass_name"},
        {"audit_logs_route": "missing"},
    ):
        with pytest.raises((TypeError, ValueError)):
            changed(Config(), bad)
