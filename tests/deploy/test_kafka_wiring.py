"""The Kafka side of the manifests agrees with the code: Strimzi topics are exactly the
topics topics.py makes, with the configured partitions and replication, and each KEDA
trigger watches the consumer group its stage really joins (settings.group(stage)), and the
apps' Kafka users may write the app topic and nothing else."""

from __future__ import annotations

from tests.deploy.manifests import Doc, config_values, named, of_kind
from vigil.kafka.topics import Topics
from vigil.settings import Settings

CLUSTER = "vigil-kafka"


def settings_of(docs: list[Doc]) -> Settings:
    config = config_values(docs)
    return Settings(topic_prefix=config["VIGIL_TOPIC_PREFIX"],
                    kafka_partitions=int(config["VIGIL_KAFKA_PARTITIONS"]))


def test_config_map_partitions_are_the_settings_default(docs: list[Doc]) -> None:
    default = Settings.model_fields["kafka_partitions"].default
    assert int(config_values(docs)["VIGIL_KAFKA_PARTITIONS"]) == default


def test_a_kafka_topic_for_every_topic_vigil_uses(docs: list[Doc]) -> None:
    topics = Topics.from_settings(settings_of(docs))
    declared = [d["spec"]["topicName"] for d in of_kind(docs, "KafkaTopic")]
    assert sorted(declared) == sorted({*topics.all, topics.analyzer_lease})
    assert {t + ".dlq" for t in topics.consumed} <= set(declared)


def test_partitions_and_replicas_follow_the_config(docs: list[Doc]) -> None:
    settings = settings_of(docs)
    lease = Topics.from_settings(settings).analyzer_lease
    replicas = int(config_values(docs)["VIGIL_KAFKA_REPLICATION_FACTOR"])
    for topic in of_kind(docs, "KafkaTopic"):
        spec = topic["spec"]
        expected = 1 if spec["topicName"] == lease else settings.kafka_partitions
        assert spec["partitions"] == expected, spec["topicName"]
        assert spec["replicas"] == replicas, spec["topicName"]
        assert int(spec["config"]["min.insync.replicas"]) <= replicas, spec["topicName"]
        assert topic["metadata"]["labels"]["strimzi.io/cluster"] == CLUSTER


def test_the_bootstrap_address_is_the_strimzi_clusters(docs: list[Doc]) -> None:
    host = config_values(docs)["KAFKA_BOOTSTRAP_SERVERS"].split(":")[0]
    assert host == f"{CLUSTER}-kafka-bootstrap"


def test_keda_watches_each_stages_own_consumer_group(rendered: dict[str, list[Doc]]) -> None:
    docs = rendered["prod"]
    settings = settings_of(docs)
    consumed = set(Topics.from_settings(settings).consumed)
    bootstrap = config_values(docs)["KAFKA_BOOTSTRAP_SERVERS"]
    for scaled in of_kind(docs, "ScaledObject"):
        target = named(docs, "Deployment", scaled["spec"]["scaleTargetRef"]["name"])
        stage = target["spec"]["template"]["spec"]["containers"][0]["args"][0]
        assert scaled["spec"]["maxReplicaCount"] <= settings.kafka_partitions
        for trigger in scaled["spec"]["triggers"]:
            meta = trigger["metadata"]
            assert meta["consumerGroup"] == settings.group(stage), scaled["metadata"]["name"]
            assert meta["bootstrapServers"] == bootstrap
            assert meta["topic"] in consumed
            assert int(meta["lagThreshold"]) > 0


def test_keda_watches_every_topic_of_enrich_judge_and_notify(
        rendered: dict[str, list[Doc]]) -> None:
    docs = rendered["prod"]
    topics = Topics.from_settings(settings_of(docs))
    watched = {s["metadata"]["name"]: {t["metadata"]["topic"] for t in s["spec"]["triggers"]}
               for s in of_kind(docs, "ScaledObject")}
    assert watched["vigil-enrich"] == {topics.traces_raw, topics.traces_app}
    assert watched["vigil-judge"] == {topics.traces_enriched, topics.feedback}
    assert watched["vigil-notifier"] == {topics.alerts}
    assert watched["vigil-sink"] == {topics.traces_enriched, topics.feedback,
                                     topics.judge_scores, topics.judge_sampling, topics.spans,
                                     topics.call_logs, topics.alerts, topics.tickets,
                                     topics.drift_reports, topics.drift_report_html}


def test_the_analyzer_stays_one_active_and_one_standby(docs: list[Doc]) -> None:
    analyzer = named(docs, "Deployment", "vigil-analyzer")
    assert 1 <= analyzer["spec"]["replicas"] <= 2
    assert all(s["spec"]["scaleTargetRef"]["name"] != "vigil-analyzer"
               for s in of_kind(docs, "ScaledObject"))


def test_apps_kafka_users_may_write_only_the_app_topic(docs: list[Doc]) -> None:
    topics = Topics.from_settings(settings_of(docs))
    users = of_kind(docs, "KafkaUser")
    assert users, "a KafkaUser for the apps that produce to Kafka directly"
    for user in users:
        assert user["metadata"]["labels"]["strimzi.io/cluster"] == CLUSTER
        acls = user["spec"]["authorization"]["acls"]
        granted = {(a["resource"]["type"], a["resource"]["name"],
                    a["resource"].get("patternType", "literal")) for a in acls}
        assert granted == {("topic", topics.traces_app, "literal")}, user["metadata"]["name"]
        assert {op for a in acls for op in a["operations"]} == {"Describe", "Write"}
