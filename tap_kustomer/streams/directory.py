"""Directory data: users, teams and tags, deleted ones included."""

from __future__ import annotations

from typing import Any

from tap_kustomer import schemas
from tap_kustomer.mapping import assembled_role
from tap_kustomer.records import flatten
from tap_kustomer.streams.base import ListStream

# The API hides deleted objects unless asked; both passes together give them all.
_ACTIVE_AND_DELETED: tuple[dict[str, str], ...] = ({}, {"deleted": "true"})
# Kustomer documents `deleted` on GET /v1/users only: on teams and tags it is asked for
# all the same, and its pass dropped if refused (what it does there is [?]).
_DELETED_UNDOCUMENTED = frozenset({"deleted"})


class UsersStream(ListStream):
    """Users, deactivated ones included (with ``deleted: true``)."""

    name = "users"
    deleted_as = ("user",)
    path = "/v1/users"
    page_size = 500
    record_schema = schemas.USERS
    passes = _ACTIVE_AND_DELETED

    def to_record(self, obj: dict[str, Any]) -> dict[str, Any]:
        """A user with its Assembled role."""
        record = flatten(obj)
        record["assembled_role"] = assembled_role(record.get("user_type"))
        return record


class TeamsStream(ListStream):
    """Teams, deleted ones included where the API gives them."""

    name = "teams"
    deleted_as = ("team",)
    path = "/v1/teams"
    page_size = 500
    record_schema = schemas.TEAMS
    passes = _ACTIVE_AND_DELETED
    undocumented = _DELETED_UNDOCUMENTED


class TagsStream(ListStream):
    """Tags, deleted ones included where the API gives them."""

    name = "tags"
    deleted_as = ("tag",)
    path = "/v1/tags"
    record_schema = schemas.TAGS
    passes = _ACTIVE_AND_DELETED
    undocumented = _DELETED_UNDOCUMENTED
