"""Direct-Kafka records (an app's own produce): key, size and validation before decoding."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from google.protobuf import json_format

from tests.support.factories import valid_event
from vigil.access.keyring import KeyRing
from vigil.enrich.stage import JSON_EXPANSION, app_event_batch
from vigil.events.validate import Limits
from vigil.events.wire import PayloadError

KEYS = KeyRing.parse("app-key=shop")
LIMITS = Limits(max_event_bytes=4096, max_future_skew=timedelta(hours=1),
                max_age=timedelta(days=90))
AUTH = {"authorization": "Bearer app-key"}


def test_a_record_within_the_limit_becomes_a_batch_of_the_keys_project() -> None:
    batch = app_event_batch(valid_event(1).SerializeToString(), AUTH, KEYS, LIMITS,
                            datetime.now(UTC))
    assert batch.project_id == "shop" and len(batch.events) == 1


@pytest.mark.parametrize("content_type", ["", "application/json"])
def test_an_oversize_record_is_refused_before_it_is_decoded(content_type: str) -> None:
    limit = LIMITS.max_event_bytes * (JSON_EXPANSION if content_type else 1)
    value = b"\x00" * (limit + 1)  # not even decodable: the size check must come first
    with pytest.raises(PayloadError, match=f"record is {limit + 1} bytes, the limit is {limit}"):
        app_event_batch(value, {**AUTH, "content-type": content_type}, KEYS, LIMITS,
                        datetime.now(UTC))


def test_a_json_record_may_be_larger_than_its_protobuf() -> None:
    event = valid_event(2)
    event.completion = "x" * (LIMITS.max_event_bytes - event.ByteSize() - 10)
    value = json_format.MessageToJson(event).encode()
    assert event.ByteSize() <= LIMITS.max_event_bytes < len(value)
    batch = app_event_batch(value, {**AUTH, "content-type": "application/json"}, KEYS, LIMITS,
                            datetime.now(UTC))
    assert batch.events[0].completion == event.completion


def test_an_unknown_key_is_refused_before_the_size_is_looked_at() -> None:
    with pytest.raises(PayloadError, match="unknown API key"):
        app_event_batch(b"\x00" * 100_000, {"authorization": "Bearer other"}, KEYS, LIMITS,
                        datetime.now(UTC))


@pytest.mark.parametrize("content_type", ["", "application/json"])
def test_a_record_ending_in_the_year_9999_is_refused_naming_end_time(
        content_type: str) -> None:
    event = valid_event(3)
    event.end_time.FromDatetime(datetime(9999, 12, 31, tzinfo=UTC))
    value = (json_format.MessageToJson(event).encode() if content_type
             else event.SerializeToString())
    with pytest.raises(PayloadError, match="invalid event: end_time is more than 3600 s"):
        app_event_batch(value, {**AUTH, "content-type": content_type}, KEYS, LIMITS,
                        datetime.now(UTC))
