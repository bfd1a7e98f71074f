"""Every rendered document is valid: built-in kinds against the Kubernetes API schemas
(kubernetes-validate, strict), custom resources against their required shape. The
broken-manifest tests prove both checks can fail."""

from __future__ import annotations

import copy

from tests.deploy.manifests import Doc, named, of_kind
from tests.deploy.schema import CUSTOM_KINDS, custom_resource_problems, schema_error

EXPECTED_KINDS = {"Namespace", "ServiceAccount", "ConfigMap", "Secret", "Deployment",
                  "Service", "PodDisruptionBudget", "NetworkPolicy", "KafkaTopic"}


def test_every_builtin_resource_passes_the_api_schema(docs: list[Doc]) -> None:
    errors = [schema_error(d) for d in docs if d["kind"] not in CUSTOM_KINDS]
    assert [e for e in errors if e] == []


def test_every_custom_resource_has_its_required_shape(docs: list[Doc]) -> None:
    problems = [p for d in docs if d["kind"] in CUSTOM_KINDS for p in custom_resource_problems(d)]
    assert problems == []


def test_each_overlay_renders_the_whole_system(docs: list[Doc]) -> None:
    assert {d["kind"] for d in docs} >= EXPECTED_KINDS
    assert {d["metadata"]["name"] for d in of_kind(docs, "Deployment")} == {
        f"vigil-{s}" for s in ("ingest", "enrich", "judge", "sink", "analyzer", "notifier",
                               "api", "dashboard")}


def test_only_prod_autoscales(rendered: dict[str, list[Doc]]) -> None:
    assert [d["kind"] for d in rendered["dev"]
            if d["kind"] in ("HorizontalPodAutoscaler", "ScaledObject")] == []
    assert len(of_kind(rendered["prod"], "HorizontalPodAutoscaler")) == 1
    assert len(of_kind(rendered["prod"], "ScaledObject")) == 4


def test_a_broken_deployment_is_reported(rendered: dict[str, list[Doc]]) -> None:
    good = named(rendered["prod"], "Deployment", "vigil-ingest")
    assert schema_error(good) is None

    no_selector = copy.deepcopy(good)
    del no_selector["spec"]["selector"]
    assert "selector" in (schema_error(no_selector) or "")

    wrong_type = copy.deepcopy(good)
    wrong_type["spec"]["replicas"] = "three"
    assert "replicas" in (schema_error(wrong_type) or "")

    misspelt = copy.deepcopy(good)
    container = misspelt["spec"]["template"]["spec"]["containers"][0]
    container["readinesProbe"] = container.pop("readinessProbe")
    assert "readinesProbe" in (schema_error(misspelt) or "")


def test_a_broken_custom_resource_is_reported(rendered: dict[str, list[Doc]]) -> None:
    topic = copy.deepcopy(of_kind(rendered["prod"], "KafkaTopic")[0])
    topic["spec"]["partitions"] = "4"
    del topic["metadata"]["labels"]["strimzi.io/cluster"]
    problems = custom_resource_problems(topic)
    assert any("partitions" in p for p in problems)
    assert any("strimzi.io/cluster" in p for p in problems)

    user = copy.deepcopy(of_kind(rendered["prod"], "KafkaUser")[0])
    user["spec"]["authentication"]["type"] = "password"
    user["spec"]["authorization"]["acls"][0]["operations"] = ["Publish"]
    problems = custom_resource_problems(user)
    assert any("authentication" in p for p in problems)
    assert any("Publish" in p for p in problems)

    scaled = copy.deepcopy(of_kind(rendered["prod"], "ScaledObject")[0])
    del scaled["spec"]["triggers"][0]["metadata"]["consumerGroup"]
    scaled["spec"]["minReplicaCount"] = 9
    problems = custom_resource_problems(scaled)
    assert any("consumerGroup" in p for p in problems)
    assert any("min <= max" in p for p in problems)
