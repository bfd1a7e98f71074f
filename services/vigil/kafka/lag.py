"""How far a consumer group is behind the end of its topics."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition


def group_lag(bootstrap: str, group: str, topics: Iterable[str]) -> int:
    """Records in `topics` that `group` has not committed (a partition never committed counts
    whole)."""
    servers = bootstrap.split(",")
    admin = KafkaAdminClient(bootstrap_servers=servers, client_id="vigil-lag",
                             bootstrap_timeout_ms=10_000)
    consumer = KafkaConsumer(bootstrap_servers=servers, client_id="vigil-lag")
    try:
        partitions = [TopicPartition(topic, p) for topic in topics
                      for p in sorted(consumer.partitions_for_topic(topic) or ())]
        committed = admin.list_group_offsets({group: partitions}).get(group, {})
        ends = consumer.end_offsets(partitions)
        lag = 0
        for tp in partitions:
            done = committed.get(tp)
            lag += ends[tp] - (done.offset if done is not None and done.offset >= 0 else 0)
        return lag
    finally:
        consumer.close()
        admin.close()


class _Admin(KafkaAdminClient):
    """kafka-python 3.0.12 fails decoding the authorized-operations bits some brokers
    (Tansu) answer DescribeGroups with; Vigil does not need them."""

    def _process_acl_operations(self, obj: dict[str, Any]) -> dict[str, Any]:
        obj.pop("authorized_operations", None)
        return obj


def group_members(bootstrap: str, group: str) -> list[str]:
    """The member ids of a consumer group once it is stable (empty while it rebalances)."""
    admin = _Admin(bootstrap_servers=bootstrap.split(","), client_id="vigil-lag",
                   bootstrap_timeout_ms=10_000)
    try:
        info = admin.describe_groups([group])[group]
    finally:
        admin.close()
    if info["group_state"] != "Stable":
        return []
    return sorted(m["member_id"] for m in info["members"])
