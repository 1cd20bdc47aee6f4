"""Directory data: users, teams and tags, deleted ones included."""

from __future__ import annotations

from tap_kustomer import schemas
from tap_kustomer.streams.base import ListStream

# The API hides deleted objects unless asked; both passes together give them all.
_ACTIVE_AND_DELETED: tuple[dict[str, str], ...] = ({}, {"deleted": "true"})


class UsersStream(ListStream):
    """Users, deactivated ones included (with ``deleted: true``)."""

    name = "users"
    path = "/v1/users"
    page_size = 500
    record_schema = schemas.USERS
    passes = _ACTIVE_AND_DELETED


class TeamsStream(ListStream):
    """Teams, deleted ones included."""

    name = "teams"
    path = "/v1/teams"
    page_size = 500
    record_schema = schemas.TEAMS
    passes = _ACTIVE_AND_DELETED


class TagsStream(ListStream):
    """Tags, deleted ones included."""

    name = "tags"
    path = "/v1/tags"
    record_schema = schemas.TAGS
    passes = _ACTIVE_AND_DELETED
