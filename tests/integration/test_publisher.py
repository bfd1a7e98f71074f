"""The ingest publisher on the real broker: a connection reset by another call's failed
send, between this call's connect and its first record, is a retryable UNAVAILABLE
(KafkaUnavailable), never a crash. Under load this once answered UNKNOWN
(ZeroDivisionError: integer modulo by zero, the partition count read as 0)."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from tests.conftest import INTERNAL_TOKEN, Broker
from tests.support.factories import valid_event
from vigil.ingest.publisher import KafkaUnavailable, TracePublisher
from vigil.settings import Settings

pytestmark = pytest.mark.integration


def test_a_connection_reset_between_connect_and_send_is_retryable(broker: Broker) -> None:
    settings = Settings(kafka_bootstrap_servers=broker.bootstrap,
                        topic_prefix=f"t{uuid.uuid4().hex[:8]}.", internal_token=INTERNAL_TOKEN,
                        kafka_partitions=2,
                        # the test is about which error a lost connection gives, not about
                        # the timeout: on a loaded machine the first connect (topics, then
                        # the producer) can take longer than the 5 s default
                        ack_timeout_s=60)

    async def scenario() -> None:
        publisher = TracePublisher(settings)
        connect = publisher.connect

        async def connect_then_lose_it() -> None:  # another call's send failed meanwhile
            await connect()
            await publisher._reset()

        publisher.connect = connect_then_lose_it  # type: ignore[method-assign]
        with pytest.raises(KafkaUnavailable, match="retry with the same ids"):
            await publisher.publish("project-a", [valid_event(1)])
        assert publisher.admission.pending == 0  # nothing taken for the refused call
        publisher.connect = connect  # type: ignore[method-assign]
        await publisher.publish("project-a", [valid_event(2)])  # the retry goes through
        await publisher._reset()

    asyncio.run(asyncio.wait_for(scenario(), 120))
