"""Schema checks: kubernetes-validate for the built-in kinds, small shape checks for the
custom resources (Strimzi KafkaTopic and KafkaUser, KEDA ScaledObject), whose schemas it
lacks."""

from __future__ import annotations

import re

import kubernetes_validate

from tests.deploy.manifests import KUBERNETES_VERSION, Doc

CUSTOM_KINDS = {"KafkaTopic": "kafka.strimzi.io/v1beta2", "KafkaUser": "kafka.strimzi.io/v1beta2",
                "ScaledObject": "keda.sh/v1alpha1"}
# Strimzi's simple authorization: resource types and the operations an ACL may name.
ACL_RESOURCES = {"topic", "group", "cluster", "transactionalId"}
ACL_OPERATIONS = {"Read", "Write", "Create", "Delete", "Alter", "Describe", "ClusterAction",
                  "AlterConfigs", "DescribeConfigs", "IdempotentWrite", "All"}
USER_AUTHENTICATION = {"tls", "tls-external", "scram-sha-512"}
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
    check = {"KafkaTopic": kafka_topic_problems, "KafkaUser": kafka_user_problems,
             "ScaledObject": scaled_object_problems}[kind]
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


def kafka_user_problems(doc: Doc, spec: Doc) -> list[str]:
    problems = []
    if "strimzi.io/cluster" not in doc["metadata"].get("labels", {}):
        problems.append("no strimzi.io/cluster label (no user operator would own it)")
    if spec.get("authentication", {}).get("type") not in USER_AUTHENTICATION:
        problems.append(f"spec.authentication.type must be one of {sorted(USER_AUTHENTICATION)}")
    authorization = spec.get("authorization", {})
    if authorization.get("type") != "simple":
        problems.append("spec.authorization.type must be simple")
    acls = authorization.get("acls")
    if not isinstance(acls, list) or not acls:
        return [*problems, "spec.authorization.acls must be a non-empty list"]
    for i, acl in enumerate(acls):
        problems.extend(f"acls[{i}]: {p}" for p in _acl_problems(acl))
    return problems


def _acl_problems(acl: Doc) -> list[str]:
    problems = []
    resource = acl.get("resource", {})
    if resource.get("type") not in ACL_RESOURCES:
        problems.append(f"resource.type {resource.get('type')!r} is not one of "
                        f"{sorted(ACL_RESOURCES)}")
    if resource.get("type") != "cluster" and not resource.get("name"):
        problems.append("resource.name is required")
    if resource.get("patternType", "literal") not in ("literal", "prefix"):
        problems.append(f"resource.patternType {resource.get('patternType')!r}")
    operations = acl.get("operations")
    if not isinstance(operations, list) or not operations or \
            not set(operations) <= ACL_OPERATIONS:
        problems.append(f"operations {operations!r} must be a non-empty list of "
                        f"{sorted(ACL_OPERATIONS)}")
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
