"""JSON schemas of the records, after ``records.flatten``.

Built in code from a few shapes so every stream types the same things the same way:
timestamps are ``date-time``, lists are arrays, every value and sub-object is
nullable (Kustomer sends ``null``, ``{}`` or partial objects for metrics that have
not happened yet), and org-specific objects (``custom``, ``meta``) stay open.
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

STRING: Schema = {"type": ["string", "null"]}
DATETIME: Schema = {"type": ["string", "null"], "format": "date-time"}
INTEGER: Schema = {"type": ["integer", "null"]}
NUMBER: Schema = {"type": ["number", "null"]}
BOOLEAN: Schema = {"type": ["boolean", "null"]}
OPEN_OBJECT: Schema = {"type": ["object", "null"], "additionalProperties": True}
ID: Schema = {"type": ["string"]}
ADDRESS: Schema = {"type": ["string", "object", "array", "null"]}


def array(items: Schema | None = None) -> Schema:
    """A nullable array; strings unless told otherwise."""
    return {"type": ["array", "null"], "items": items or {"type": ["string"]}}


def obj(**properties: Schema) -> Schema:
    """A nullable object with known properties that also keeps unknown ones."""
    return {"type": ["object", "null"], "properties": properties, "additionalProperties": True}


def stream_schema(**properties: Schema) -> Schema:
    """A record schema: ``id`` first, then the given properties."""
    return {"type": "object", "properties": {"id": ID, **properties}}


ID_LIST = array()
TIMES: Schema = obj(time=NUMBER, businessTime=NUMBER)
ORG_TIMESTAMPS: dict[str, Schema] = {
    "created_at": DATETIME,
    "updated_at": DATETIME,
    "modified_at": DATETIME,
    "org_id": STRING,
    "created_by_id": STRING,
    "modified_by_id": STRING,
}
DELETION: dict[str, Schema] = {"deleted": BOOLEAN, "deleted_at": DATETIME, "deleted_by_id": STRING}

# Who acted and who was assigned, as Kustomer stamps it on message summaries and metrics.
ATTRIBUTION: dict[str, Schema] = {
    "createdAt": DATETIME,
    "createdBy": STRING,
    "createdByTeams": ID_LIST,
    "assignedTeams": ID_LIST,
    "assignedUsers": ID_LIST,
}
MESSAGE_SUMMARY: Schema = obj(
    **ATTRIBUTION,
    id=STRING,
    sentAt=DATETIME,
    channel=STRING,
    directionType=STRING,
    meta=OPEN_OBJECT,
)
RESPONSE_METRIC: Schema = obj(
    **ATTRIBUTION,
    id=STRING,
    sentAt=DATETIME,
    time=NUMBER,
    businessTime=NUMBER,
    responseTime=NUMBER,
)
DONE_METRIC: Schema = obj(
    **ATTRIBUTION,
    time=NUMBER,
    businessTime=NUMBER,
    messageCount=INTEGER,
    noteCount=INTEGER,
    outboundMessageCount=INTEGER,
    messageCountByChannel=OPEN_OBJECT,
    outboundMessageCountByChannel=OPEN_OBJECT,
    lastMessageDirection=STRING,
    lastMessageDirectionType=STRING,
)

CONVERSATIONS = stream_schema(
    **ORG_TIMESTAMPS,
    **DELETION,
    name=STRING,
    preview=STRING,
    channels=array(),
    status=STRING,
    snooze=obj(status=STRING, statusAt=DATETIME, time=DATETIME),
    open=obj(statusAt=DATETIME),
    direction=STRING,
    priority=INTEGER,
    message_count=INTEGER,
    note_count=INTEGER,
    outbound_message_count=INTEGER,
    inbound_message_count=INTEGER,
    satisfaction=NUMBER,
    satisfaction_level=OPEN_OBJECT,
    last_activity_at=DATETIME,
    last_message_at=DATETIME,
    last_message_direction=STRING,
    spam=BOOLEAN,
    ended=BOOLEAN,
    ended_at=DATETIME,
    ended_reason=STRING,
    imported_at=DATETIME,
    tags=ID_LIST,
    suggested_tags=array(OPEN_OBJECT),
    predictions=array(OPEN_OBJECT),
    suggested_shortcuts=array(OPEN_OBJECT),
    assigned_users=ID_LIST,
    assigned_teams=ID_LIST,
    first_message_in=MESSAGE_SUMMARY,
    first_message_out=MESSAGE_SUMMARY,
    last_message_in=MESSAGE_SUMMARY,
    last_message_out=MESSAGE_SUMMARY,
    last_message_unresponded_to=MESSAGE_SUMMARY,
    last_message_unresponded_to_since_last_done=MESSAGE_SUMMARY,
    first_response=RESPONSE_METRIC,
    first_response_since_last_done=RESPONSE_METRIC,
    last_response=RESPONSE_METRIC,
    first_done=DONE_METRIC,
    last_done=DONE_METRIC,
    done_count=INTEGER,
    snooze_count=INTEGER,
    reopen_count=INTEGER,
    reopen_from_done_count=INTEGER,
    total_done=TIMES,
    total_open=OPEN_OBJECT,
    custom=OPEN_OBJECT,
    rev=INTEGER,
    sla=OPEN_OBJECT,
    assistant=OPEN_OBJECT,
    ai_agent=OPEN_OBJECT,
    phase=STRING,
    locale=STRING,
    default_lang=STRING,
    reply_channel=STRING,
    external_id=STRING,
    external_queue=STRING,
    sentiment=OPEN_OBJECT,
    modification_history=OPEN_OBJECT,
    role_group_versions=array(OPEN_OBJECT),
    access_override=array(OPEN_OBJECT),
    linked_conversations=ID_LIST,
    merged_target=BOOLEAN,
    customer_id=STRING,
    queue_id=STRING,
    brand_id=STRING,
    sla_id=STRING,
    sla_version_id=STRING,
    sub_status_id=STRING,
    ended_by_id=STRING,
)

MESSAGES = stream_schema(
    **ORG_TIMESTAMPS,
    channel=STRING,
    app=STRING,
    size=INTEGER,
    direction=STRING,
    direction_type=STRING,
    preview=STRING,
    subject=STRING,
    body=STRING,
    # Channel-specific; the address fields are a string, an object or a list
    # (kustomer-api.md gotcha 10).
    meta=obj(
        subject=STRING,
        placedAt=DATETIME,
        answeredAt=DATETIME,
        endedAt=DATETIME,
        status=STRING,
        attachmentNum=INTEGER,
        **dict.fromkeys(("from", "to", "cc", "bcc", "recipient", "replyTo", "proxy"), ADDRESS),
    ),
    status=STRING,
    error=OPEN_OBJECT,
    error_at=DATETIME,
    assigned_teams=ID_LIST,
    assigned_users=ID_LIST,
    created_by_teams=ID_LIST,
    auto=BOOLEAN,
    sent_at=DATETIME,
    imported_at=DATETIME,
    redacted=BOOLEAN,
    redacted_at=DATETIME,
    rev=INTEGER,
    reactions=array(OPEN_OBJECT),
    response_time=NUMBER,
    response_business_time=NUMBER,
    lang=STRING,
    external_id=STRING,
    source=STRING,
    sentiment=OPEN_OBJECT,
    location=OPEN_OBJECT,
    custom=OPEN_OBJECT,
    first_delivered=OPEN_OBJECT,
    first_read=OPEN_OBJECT,
    intent_detections=array(OPEN_OBJECT),
    customer_id=STRING,
    conversation_id=STRING,
    shortcut_ids=ID_LIST,
    attachment_ids=ID_LIST,
)

CONVERSATION_EVENTS = stream_schema(
    **ORG_TIMESTAMPS,
    name=STRING,
    type=STRING,
    published_at=DATETIME,
    changes=obj(attributes=OPEN_OBJECT, relationships=OPEN_OBJECT),
    location=OPEN_OBJECT,
    meta=OPEN_OBJECT,
    customer_id=STRING,
    conversation_id=STRING,
    conversation_updated_at=DATETIME,
)

CUSTOMERS = stream_schema(
    **ORG_TIMESTAMPS,
    **DELETION,
    name=STRING,
    display_name=STRING,
    preferred_name=STRING,
    display_color=STRING,
    display_icon=STRING,
    external_id=STRING,
    external_ids=array(OPEN_OBJECT),
    emails=array(obj(type=STRING, email=STRING, verified=BOOLEAN)),
    phones=array(obj(type=STRING, phone=STRING, verified=BOOLEAN)),
    whatsapps=array(OPEN_OBJECT),
    socials=array(OPEN_OBJECT),
    urls=array(OPEN_OBJECT),
    locations=array(OPEN_OBJECT),
    locale=STRING,
    time_zone=STRING,
    tags=ID_LIST,
    sentiment=OPEN_OBJECT,
    custom=OPEN_OBJECT,
    conversation_counts=OPEN_OBJECT,
    last_activity_at=DATETIME,
    last_seen_at=DATETIME,
    last_conversation=OPEN_OBJECT,
    last_message_in=MESSAGE_SUMMARY,
    last_message_out=MESSAGE_SUMMARY,
    imported_at=DATETIME,
    rev=INTEGER,
    company_id=STRING,
)

# Time spent in a kind of routing status during a work session, in ms (kustomer-api.md §5.3).
STATUS_TOTAL: Schema = obj(statusAt=DATETIME, time=NUMBER, businessTime=NUMBER)

WORK_SESSIONS = stream_schema(
    **ORG_TIMESTAMPS,
    active=BOOLEAN,
    routable=BOOLEAN,
    status_type=STRING,
    status_at=DATETIME,
    work_item_count=INTEGER,
    paused_work_item_count=INTEGER,
    signed_in_at=DATETIME,
    signed_out_at=DATETIME,
    capacity=array(obj(priority=INTEGER, limit=NUMBER, remaining=NUMBER)),
    capacity_remaining=NUMBER,
    total_capacity=NUMBER,
    capacity_status=STRING,
    handled_item_count=INTEGER,
    handled_conversation_count=INTEGER,
    total_available=STATUS_TOTAL,
    total_available_idle_capacity=STATUS_TOTAL,
    total_available_not_at_capacity=STATUS_TOTAL,
    total_unavailable=STATUS_TOTAL,
    total_unavailable_idle_capacity=STATUS_TOTAL,
    total_unavailable_not_at_capacity=STATUS_TOTAL,
    # Keyed by routing status id (kustomer-api.md §5.3), so no fixed properties.
    total_time_by_status={
        "type": ["object", "null"],
        "additionalProperties": obj(**STATUS_TOTAL["properties"], statusSelectedCount=INTEGER),
    },
    last_assigned_item_at=DATETIME,
    rev=INTEGER,
    last_revision=OPEN_OBJECT,
    user_id=STRING,
    team_id=STRING,
    status_id=STRING,
    routing_settings_id=STRING,
    queue_ids=ID_LIST,
    work_item_ids=ID_LIST,
    pending_item_id=STRING,
    last_revision_id=STRING,
)

ROUTING_STATUSES = stream_schema(
    **ORG_TIMESTAMPS,
    **DELETION,
    name=STRING,
    display_name=STRING,
    description=STRING,
    status_type=STRING,
    system=BOOLEAN,
    icon=STRING,
    color=STRING,
)

QUEUES = stream_schema(
    **ORG_TIMESTAMPS,
    **DELETION,
    name=STRING,
    display_name=STRING,
    description=STRING,
    system=BOOLEAN,
    priority=INTEGER,
    item_size=NUMBER,
    restrict_transfers_by_users=BOOLEAN,
    icon=STRING,
)

ASSISTANTS = stream_schema(
    **ORG_TIMESTAMPS,
    **DELETION,
    name=STRING,
    description=STRING,
    type=STRING,
    machine_user_id=STRING,
    version=INTEGER,
    status=STRING,
)

TAGS = stream_schema(**ORG_TIMESTAMPS, **DELETION, name=STRING, color=STRING)

TEAMS = stream_schema(
    **ORG_TIMESTAMPS,
    **DELETION,
    name=STRING,
    display_name=STRING,
    icon=STRING,
    members=ID_LIST,
    role_groups=ID_LIST,
    external_id=STRING,
    imported_at=DATETIME,
)

USERS = stream_schema(
    **ORG_TIMESTAMPS,
    **DELETION,
    name=STRING,
    display_name=STRING,
    email=STRING,
    mobile=STRING,
    user_type=STRING,
    roles=ID_LIST,
    role_groups=ID_LIST,
    avatar_url=STRING,
    email_signature=STRING,
    # Password policy flags only (MeltanoLabs' users schema); Kustomer sends no secret here.
    password=obj(allowNew=BOOLEAN, forceNew=BOOLEAN, updatedAt=DATETIME),
    email_verified_at=DATETIME,
    first_email_verified_at=DATETIME,
    first_login_at=DATETIME,
    most_recent_login_at=DATETIME,
    is_email_valid=BOOLEAN,
    verified_email_status=STRING,
    assembled_role=STRING,
)

TICKETS = stream_schema(
    channel=STRING,
    kustomer_channel=STRING,
    status=STRING,
    kustomer_status=STRING,
    created_at=DATETIME,
    updated_at=DATETIME,
    first_responded_at=DATETIME,
    first_response_duration=NUMBER,
    customer_id=STRING,
    queue_id=STRING,
    assigned_user_ids=array(),
    assigned_team_ids=array(),
    tag_ids=array(),
    direction=STRING,
    priority=INTEGER,
)

AGENT_STATES: Schema = {
    "type": "object",
    "properties": {
        "user_id": ID,
        "observed_at": {"type": ["string"], "format": "date-time"},
        "work_session_id": STRING,
        "status_id": STRING,
        "status_name": STRING,
        "status_type": STRING,
        "status_since": DATETIME,
        "signed_in_at": DATETIME,
        "team_id": STRING,
        "queue_ids": ID_LIST,
        "queue_names": array(STRING),
        "routable": BOOLEAN,
        "capacity": array(obj(priority=INTEGER, limit=NUMBER, remaining=NUMBER)),
        "capacity_remaining": NUMBER,
        "total_capacity": NUMBER,
        "capacity_status": STRING,
        "work_item_count": INTEGER,
        "last_assigned_item_at": DATETIME,
    },
}

# developer.kustomer.com "Query events associated with your organization": each entry.
AUDIT_LOGS = stream_schema(
    event_name=STRING,
    event_verb=STRING,
    object_type=STRING,
    object_id=STRING,
    user_id=STRING,
    user_type=STRING,
    # The changed fields, as the org's objects have them: open.
    changes=OPEN_OBJECT,
    created_at=DATETIME,
    expires_at=DATETIME,
    org_id=STRING,
)
# One status change of a conversation, from the audit log (``audit.status_change``).
CONVERSATION_STATUS_CHANGES = stream_schema(
    conversation_id=STRING,
    from_status=STRING,
    to_status=STRING,
    changed_at=DATETIME,
    changed_by_id=STRING,
    changed_by_type=STRING,
)
# The Singer delete mark (the SDK's record metadata): set on the records of deleted objects.
DELETED_AT = "_sdc_deleted_at"
