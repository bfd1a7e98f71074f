"""Whether Kafka was configured is a question for the settings object, not os.environ:
`vigil up` starts the embedded broker only when neither variable names brokers."""

from __future__ import annotations

import pytest

from vigil.settings import EMBEDDED_BROKER, Settings


@pytest.mark.parametrize("variable", ["KAFKA_BOOTSTRAP_SERVERS",
                                      "VIGIL_KAFKA_BOOTSTRAP_SERVERS"])
def test_brokers_named_by_either_variable_are_external(
        variable: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.delenv("VIGIL_KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.setenv(variable, "kafka-0:9092")
    settings = Settings()
    assert settings.external_kafka
    assert settings.kafka_bootstrap_servers == "kafka-0:9092"


def test_no_brokers_named_means_the_embedded_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.delenv("VIGIL_KAFKA_BOOTSTRAP_SERVERS", raising=False)
    settings = Settings()
    assert not settings.external_kafka
    assert settings.kafka_bootstrap_servers == EMBEDDED_BROKER
    assert Settings(kafka_bootstrap_servers="k:1").external_kafka  # set in code counts too
