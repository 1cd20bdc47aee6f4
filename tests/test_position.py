"""The tap's STATE position: one typed structure, read back as written."""

import datetime as dt
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tap_kustomer.position import (
    ARCHIVE,
    LISTS,
    HistoryPosition,
    PositionError,
    StreamPosition,
)
from tap_kustomer.search import SearchCheckpoint
from tap_kustomer.streams.history import least_advanced

instants = st.datetimes(
    min_value=dt.datetime(2015, 1, 1),  # noqa: DTZ001 - hypothesis bounds are naive
    max_value=dt.datetime(2030, 1, 1),  # noqa: DTZ001
    timezones=st.just(dt.timezone.utc),
).map(lambda moment: moment.replace(microsecond=moment.microsecond // 1000 * 1000))
checkpoints = st.builds(
    SearchCheckpoint, instants, st.lists(st.text("0123456789abcdef", min_size=24, max_size=24))
)
positions = st.builds(
    StreamPosition,
    search=st.none() | checkpoints,
    history=st.builds(
        HistoryPosition,
        done=st.booleans(),
        source=st.sampled_from([None, ARCHIVE, LISTS]),
        archive=st.none() | checkpoints,
        list_before=st.none() | instants,
        list_page=st.none() | st.integers(min_value=1, max_value=10**6),
    ),
)


@given(positions)
def test_a_position_reads_back_as_written_through_json(position):
    state: dict = {"replication_key_value": "2026-01-01T00:00:00.000000Z"}
    position.write(state)
    assert StreamPosition.read(json.loads(json.dumps(state))) == position
    assert state["replication_key_value"] == "2026-01-01T00:00:00.000000Z"


def test_an_empty_state_is_the_start():
    assert StreamPosition.read({}) == StreamPosition()


@pytest.mark.parametrize(
    ("stored", "message"),
    [
        ([], "position is not an object"),
        ({"history": {"source": "tape"}}, "position.history.source 'tape' is not archive or list"),
        ({"search": {"skip_ids": []}}, "position.search needs resume_from"),
        ({"history": {"archive": {"resume_from": "x"}}}, "position.history.archive.resume_from"),
        ({"history": {"list_page": 0}}, "position.history.list_page 0 is not a page number"),
    ],
)
def test_a_bad_position_is_named(stored, message):
    with pytest.raises(PositionError, match=message.replace(".", r"\.")):
        StreamPosition.read({"position": stored})


def test_a_list_pass_resumes_where_no_stream_of_the_feed_has_passed():
    before = dt.datetime(2024, 12, 1, tzinfo=dt.timezone.utc)
    ahead = HistoryPosition(source=LISTS, list_before=before, list_page=10)
    behind = HistoryPosition(source=LISTS, list_before=before, list_page=4)
    assert least_advanced([ahead, behind]) == behind
    # A stream that has not read a page yet starts the pass from its first page.
    fresh = HistoryPosition(source=LISTS, list_before=before)
    assert least_advanced([ahead, fresh]).list_page is None
    # Different bounds: the pass starts over rather than guess a page for both.
    other = HistoryPosition(source=LISTS, list_before=before - dt.timedelta(days=1), list_page=2)
    assert least_advanced([ahead, other]) == HistoryPosition(source=LISTS)
