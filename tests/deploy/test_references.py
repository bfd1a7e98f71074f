"""Cross-references inside each rendered overlay: what one resource names, another
provides (selectors, ports, ConfigMaps, Secrets and their keys, scale targets), and the
commands and settings the pods are given are ones Vigil really has."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer

from tests.deploy.manifests import (
    K8S,
    Doc,
    config_values,
    containers,
    named,
    of_kind,
    pod_labels,
    probes,
    selects,
)
from vigil.launch.cli import SIGNING_SERVICES, app
from vigil.notify.config import load_notify_config
from vigil.settings import Settings

NOT_SETTINGS = {"VIGIL_API_KEY",  # the dashboard's key (dashboards/api.py)
                "VIGIL_WEBHOOK_SECRET"}  # named by k8s/base/notify.yaml


def deployments_selected(docs: list[Doc], selector: dict[str, str]) -> list[Doc]:
    return [d for d in of_kind(docs, "Deployment") if selects(selector, pod_labels(d))]


def test_every_deployment_selects_its_own_pods(docs: list[Doc]) -> None:
    for deployment in of_kind(docs, "Deployment"):
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert deployments_selected(docs, selector) == [deployment]


def test_every_service_reaches_exactly_one_deployment_on_declared_ports(docs: list[Doc]) -> None:
    for service in of_kind(docs, "Service"):
        targets = deployments_selected(docs, service["spec"]["selector"])
        assert len(targets) == 1, service["metadata"]["name"]
        ports = {p["name"] for c in containers(targets[0]) for p in c.get("ports", [])}
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in ports, (service["metadata"]["name"], port)


def test_disruption_budgets_and_autoscalers_point_at_deployments(docs: list[Doc]) -> None:
    for budget in of_kind(docs, "PodDisruptionBudget"):
        assert len(deployments_selected(docs, budget["spec"]["selector"]["matchLabels"])) == 1
    scaled = of_kind(docs, "HorizontalPodAutoscaler") + of_kind(docs, "ScaledObject")
    for scaler in scaled:
        named(docs, "Deployment", scaler["spec"]["scaleTargetRef"]["name"])
    assert {b["metadata"]["name"] for b in of_kind(docs, "PodDisruptionBudget")} == {
        d["metadata"]["name"] for d in of_kind(docs, "Deployment")}


def test_every_config_map_and_secret_key_referenced_exists(docs: list[Doc]) -> None:
    config_maps = {d["metadata"]["name"]: d.get("data", {}) for d in of_kind(docs, "ConfigMap")}
    secrets = {d["metadata"]["name"]: d.get("data", {}) for d in of_kind(docs, "Secret")}
    for deployment in of_kind(docs, "Deployment"):
        pod = deployment["spec"]["template"]["spec"]
        for volume in pod.get("volumes", []):
            if "configMap" in volume:
                assert volume["configMap"]["name"] in config_maps
        for container in pod["containers"]:
            for source in container.get("envFrom", []):
                assert source["configMapRef"]["name"] in config_maps
            for env in container.get("env", []):
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    assert ref["key"] in secrets[ref["name"]], (deployment["metadata"]["name"],
                                                                ref)


def test_probes_use_ports_the_container_declares(docs: list[Doc]) -> None:
    for deployment in of_kind(docs, "Deployment"):
        for container in containers(deployment):
            declared = {p["name"] for p in container["ports"]} | {
                p["containerPort"] for p in container["ports"]}
            for kind, probe in probes(container):
                handler = next(probe[k] for k in ("grpc", "httpGet", "tcpSocket", "exec")
                               if k in probe)
                if "port" in handler:
                    assert handler["port"] in declared, (deployment["metadata"]["name"], kind)


def test_all_namespaced_resources_share_one_namespace(docs: list[Doc]) -> None:
    namespaces = {d["metadata"].get("namespace") for d in docs if d["kind"] != "Namespace"}
    assert namespaces == {named(docs, "Namespace", "vigil")["metadata"]["name"]}


def test_pods_run_real_vigil_commands(docs: list[Doc]) -> None:
    commands = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    for deployment in of_kind(docs, "Deployment"):
        container = containers(deployment)[0]
        if "command" in container:  # the dashboard
            assert container["command"][:3] == ["streamlit", "run", "/app/dashboards/Home.py"]
            assert (K8S.parent / "dashboards" / "Home.py").exists()
            continue
        name, *args = container["args"]
        assert name in commands, f"vigil has no command {name!r}"
        commands[name].make_context(name, list(args))  # raises on an unknown flag


def test_every_vigil_variable_given_to_a_pod_is_a_setting(docs: list[Doc]) -> None:
    known = {"KAFKA_BOOTSTRAP_SERVERS"} | {f"VIGIL_{f.upper()}" for f in Settings.model_fields}
    given = set(config_values(docs)) | {
        env["name"] for d in of_kind(docs, "Deployment") for c in containers(d)
        for env in c.get("env", [])}
    unknown = {v for v in given if v.startswith("VIGIL_") or v.startswith("KAFKA_")}
    assert unknown - known - NOT_SETTINGS == set()


def test_the_config_map_builds_valid_settings(docs: list[Doc],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in config_values(docs).items():
        monkeypatch.setenv(key, value)
    settings = Settings()
    assert settings.api_url.endswith(":" + settings.api_listen.rpartition(":")[2])
    assert settings.ingest_listen.startswith("0.0.0.0:")  # reachable through the Service


def test_clickhouse_credentials_come_only_from_the_secret(docs: list[Doc]) -> None:
    assert "VIGIL_CLICKHOUSE_URL" not in config_values(docs)  # it carries the password
    for name in ("vigil-sink", "vigil-api"):
        env = {e["name"]: e for e in containers(named(docs, "Deployment", name))[0]["env"]}
        assert env["VIGIL_CLICKHOUSE_URL"]["valueFrom"]["secretKeyRef"]["name"].startswith(
            "vigil-secrets")


def test_the_notifier_config_loads_with_the_secrets_it_names(docs: list[Doc],
                                                             tmp_path: Path) -> None:
    notify = next(d for d in of_kind(docs, "ConfigMap")
                  if d["metadata"]["name"].startswith("vigil-notify"))
    notifier = containers(named(docs, "Deployment", "vigil-notifier"))[0]
    environ = {env["name"]: "x" for env in notifier["env"]}
    path = tmp_path / "notify.yaml"
    path.write_text(notify["data"]["notify.yaml"])
    assert load_notify_config(path, environ).webhooks
    assert config_values(docs)["VIGIL_NOTIFY_CONFIG_FILE"] == "/etc/vigil/notify.yaml"


def test_every_service_on_the_internal_topics_gets_the_internal_secret(docs: list[Doc]) -> None:
    """They sign and check internal records with it and refuse to start without it."""
    for deployment in of_kind(docs, "Deployment"):
        container = containers(deployment)[0]
        if container.get("args", [""])[0] not in SIGNING_SERVICES:
            continue
        env = {e["name"]: e for e in container.get("env", [])}
        ref = env["VIGIL_INTERNAL_TOKEN"]["valueFrom"]["secretKeyRef"]
        assert ref["name"].startswith("vigil-secrets"), deployment["metadata"]["name"]
        assert ref["key"] == "VIGIL_INTERNAL_TOKEN"
