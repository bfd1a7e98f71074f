"""Schema checks: kubernetes-validate for the built-in kinds, small shape checks for the
custom resources (Strimzi KafkaTopic, KEDA ScaledObject), whose schemas it lacks."""

from __future__ import annotations

import re

import kubernetes_validate

from tests.deploy.manifests import KUBERNETES_VERSION, Doc

CUSTOM_KINDS = {"KafkaTopic": "kafka.strimzi.io/v1beta2", "ScaledObject": "keda.sh/v1alpha1"}
DNS_LABEL_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
KAFKA_TOPIC_NAME = re.compile(r"^[a-zA-Z0-9._-]{1,249}$")


def schema_error(doc: Doc) -> str | None:
    """What is wrong with a built-in resource, or None (strict: unknown fields count)."""
    try:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        path = "/".join(str(p) for p in exc.path)
        return f"{doc['kind']}/{doc['metadata'].get('name')}: {path}: {exc.message}"
    return None


def custom_resource_problems(doc: Doc) -> list[str]:
    kind = doc.get("kind", "")
    if doc.get("apiVersion") != CUSTOM_KINDS.get(kind):
        return [f"{kind}: apiVersion {doc.get('apiVersion')!r} is not {CUSTOM_KINDS.get(kind)!r}"]
    name = doc.get("metadata", {}).get("name", "")
    problems = [] if DNS_LABEL_NAME.match(name) else [f"{kind}: bad metadata.name {name!r}"]
    spec = doc.get("spec")
    if not isinstance(spec, dict):
        return [*problems, f"{kind}/{name}: no spec"]
    check = kafka_topic_problems if kind == "KafkaTopic" else scaled_object_problems
    return problems + [f"{kind}/{name}: {p}" for p in check(doc, spec)]


def kafka_topic_problems(doc: Doc, spec: Doc) -> list[str]:
    problems = []
    if "strimzi.io/cluster" not in doc["metadata"].get("labels", {}):
        problems.append("no strimzi.io/cluster label (no topic operator would own it)")
    if not KAFKA_TOPIC_NAME.match(str(spec.get("topicName", ""))):
        problems.append(f"bad spec.topicName {spec.get('topicName')!r}")
    for field in ("partitions", "replicas"):
        if not isinstance(spec.get(field), int) or spec[field] < 1:
            problems.append(f"spec.{field} must be a positive integer, got {spec.get(field)!r}")
    config = spec.get("config", {})
    if not all(isinstance(v, str | int | bool) for v in config.values()):
        problems.append("spec.config values must be scalars")
    return problems


def scaled_object_problems(doc: Doc, spec: Doc) -> list[str]:
    problems = []
    if not spec.get("scaleTargetRef", {}).get("name"):
        problems.append("spec.scaleTargetRef.name is required")
    low, high = spec.get("minReplicaCount", 0), spec.get("maxReplicaCount", 100)
    if not (isinstance(low, int) and isinstance(high, int) and 0 <= low <= high):
        problems.append(f"replica counts {low!r}..{high!r} are not 0 <= min <= max")
    triggers = spec.get("triggers")
    if not isinstance(triggers, list) or not triggers:
        return [*problems, "spec.triggers must be a non-empty list"]
    for i, trigger in enumerate(triggers):
        meta = trigger.get("metadata", {})
        if trigger.get("type") != "kafka":
            problems.append(f"triggers[{i}].type {trigger.get('type')!r} is not kafka")
        for key in ("bootstrapServers", "consumerGroup", "topic", "lagThreshold"):
            if not isinstance(meta.get(key), str) or not meta[key]:
                problems.append(f"triggers[{i}].metadata.{key} must be a non-empty string")
    return problems
