"""JSON schemas of the CRM objects and org settings (issue 15), after ``records.flatten``.

Same rules as ``schemas``: timestamps ``date-time``, lists arrays, everything nullable,
``custom`` an open object. Attribute lists come from Kustomer's API reference where it
shows them (business schedules' ``hours``, notes' ``userMentions``, custom attribute
metadata) and from MeltanoLabs' tap-kustomer schemas otherwise (companies, kobjects,
shortcuts, SLAs, attachments); fields neither shows are not invented. A field the API
sends that a schema lacks is dropped and named once in the log (``KustomerStream``).
"""

from __future__ import annotations

from tap_kustomer.schemas import (
    BOOLEAN,
    DATETIME,
    DELETION,
    ID_LIST,
    INTEGER,
    NUMBER,
    OPEN_OBJECT,
    ORG_TIMESTAMPS,
    STRING,
    Schema,
    array,
    obj,
    stream_schema,
)

# A list whose items Kustomer does not describe (an enumeration's values).
ANY_LIST: Schema = {"type": ["array", "null"]}

CONTACT_LISTS: dict[str, Schema] = {
    "emails": array(obj(type=STRING, email=STRING, verified=BOOLEAN)),
    "phones": array(obj(type=STRING, phone=STRING, verified=BOOLEAN)),
    "whatsapps": array(OPEN_OBJECT),
    "socials": array(OPEN_OBJECT),
    "urls": array(OPEN_OBJECT),
    "locations": array(OPEN_OBJECT),
}

COMPANIES = stream_schema(
    **ORG_TIMESTAMPS,
    **DELETION,
    name=STRING,
    external_id=STRING,
    domains=array(),
    **CONTACT_LISTS,
    tags=ID_LIST,
    custom=OPEN_OBJECT,
    rev=INTEGER,
    imported_at=DATETIME,
    role_group_versions=array(OPEN_OBJECT),
    display_color=STRING,
    display_icon=STRING,
    parent_id=STRING,
)

NOTES = stream_schema(
    **ORG_TIMESTAMPS,
    **DELETION,
    body=STRING,
    created_by_teams=ID_LIST,
    # Up to 20 ``{user}`` or ``{team}`` entries (Kustomer's notes reference).
    user_mentions=array(obj(user=STRING, team=STRING)),
    custom=OPEN_OBJECT,
    external_id=STRING,
    imported_at=DATETIME,
    redacted=BOOLEAN,
    redacted_at=DATETIME,
    rev=INTEGER,
    customer_id=STRING,
    conversation_id=STRING,
    attachment_ids=ID_LIST,
)

KOBJECTS = stream_schema(
    **ORG_TIMESTAMPS,
    **DELETION,
    external_id=STRING,
    title=STRING,
    description=STRING,
    icon=STRING,
    images=array(),
    data=OPEN_OBJECT,
    custom=OPEN_OBJECT,
    tags=ID_LIST,
    status=STRING,
    assigned_users=ID_LIST,
    assigned_teams=ID_LIST,
    attribution=OPEN_OBJECT,
    role_group_versions=array(OPEN_OBJECT),
    imported_at=DATETIME,
    rev=INTEGER,
    klass_id=STRING,
    # The klass's name, from the klass list (the tap's; the API relates the id only).
    klass_name=STRING,
    customer_id=STRING,
    company_id=STRING,
)

KLASSES = stream_schema(
    **ORG_TIMESTAMPS,
    **DELETION,
    name=STRING,
    display_name=STRING,
    description=STRING,
    icon=STRING,
    color=STRING,
    # ``metadata.properties`` describes the klass's attributes (as /v1/metadata does).
    metadata=OPEN_OBJECT,
    app=STRING,
    rev=INTEGER,
)

SHORTCUTS = stream_schema(
    **ORG_TIMESTAMPS,
    **DELETION,
    name=STRING,
    draft=obj(text=STRING),
    payload=OPEN_OBJECT,
    conversation=OPEN_OBJECT,
    is_private=BOOLEAN,
    app_disabled=BOOLEAN,
    rev=INTEGER,
    parent_id=STRING,
    category_ids=ID_LIST,
    access_user_ids=ID_LIST,
    access_team_ids=ID_LIST,
    attachment_ids=ID_LIST,
)

SLAS = stream_schema(
    **ORG_TIMESTAMPS,
    **DELETION,
    name=STRING,
    description=STRING,
    enabled=BOOLEAN,
    order=NUMBER,
    current_version=INTEGER,
    version_ids=ID_LIST,
)

SLA_VERSIONS = stream_schema(
    **ORG_TIMESTAMPS,
    name=STRING,
    description=STRING,
    version=INTEGER,
    # MeltanoLabs types it a string; which hours it names ([?]) is not documented.
    hours=STRING,
    metrics=OPEN_OBJECT,
    criteria=OPEN_OBJECT,
    sla_id=STRING,
    schedule_id=STRING,
)

BRANDS = stream_schema(
    **ORG_TIMESTAMPS,
    **DELETION,
    name=STRING,
    display_name=STRING,
    icon_url=STRING,
    default=BOOLEAN,
    color=STRING,
)

# One weekday of ``hours``: null (closed) or sorted [start, end] minutes after local midnight.
_DAY: Schema = {
    "type": ["array", "null"],
    "items": {"type": ["array"], "items": {"type": ["integer", "number"]}},
}
# A holiday as Kustomer's OpenAPI shows the ``holiday`` objects of GET /v1/schedules/{id}
# (name, description, startDate, endDate, enabled, timestamps); whether the dates are dates
# or date-times is [?], so they stay strings.
HOLIDAY: Schema = obj(
    id=STRING,
    name=STRING,
    description=STRING,
    startDate=STRING,
    endDate=STRING,
    enabled=BOOLEAN,
    createdAt=DATETIME,
    modifiedAt=DATETIME,
    updatedAt=DATETIME,
)

BUSINESS_SCHEDULES = stream_schema(
    **ORG_TIMESTAMPS,
    **DELETION,
    name=STRING,
    description=STRING,
    timezone=STRING,
    default=BOOLEAN,
    # Keys "0" (Sunday) to "6" (Saturday), as Kustomer's business schedule reference shows.
    hours=obj(**{str(day): _DAY for day in range(7)}),
    holidays=array(HOLIDAY),
    holiday_ids=ID_LIST,
)

ATTACHMENTS = stream_schema(
    **ORG_TIMESTAMPS,
    name=STRING,
    content_type=STRING,
    content_length=INTEGER,
    redacted=BOOLEAN,
    redacted_at=DATETIME,
    uploaded=BOOLEAN,
    message_id=STRING,
    conversation_id=STRING,
    # The replication key: the updatedAt of the message that carries the attachment.
    message_updated_at=DATETIME,
)

CUSTOM_ATTRIBUTES = stream_schema(
    # The resource ("customer", "conversation", "kobject.<klass>") and the attribute's name;
    # ``id`` is "<resource>.<name>".
    resource=STRING,
    name=STRING,
    display_name=STRING,
    type=STRING,
    description=STRING,
    array=BOOLEAN,
    multi=BOOLEAN,
    enumeration=BOOLEAN,
    values=ANY_LIST,
    # The tree of a ``...Tree`` attribute: nested ``children`` of values.
    tree=OPEN_OBJECT,
    target=STRING,
    has_sensitive_attributes=BOOLEAN,
    sensitive=BOOLEAN,
    hidden=BOOLEAN,
    deleted=BOOLEAN,
    deleted_at=DATETIME,
    deleted_by=STRING,
    modified_at=DATETIME,
    modified_by=STRING,
    # When the resource's metadata document last changed, where the API says.
    metadata_updated_at=DATETIME,
)
