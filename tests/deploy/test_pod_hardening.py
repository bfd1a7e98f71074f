"""Every Deployment is hardened and sized: probes, requests and limits, non-root with a
read-only root filesystem, no capabilities, RuntimeDefault seccomp, no API token, a
least-privilege service account, and default-deny network policies around it."""

from __future__ import annotations

from tests.deploy.manifests import Doc, containers, named, of_kind, pod_labels, selects


def test_every_container_has_probes_and_resources(docs: list[Doc]) -> None:
    for deployment in of_kind(docs, "Deployment"):
        for container in containers(deployment):
            assert {"readinessProbe", "livenessProbe"} <= container.keys()
            resources = container["resources"]
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= resources[bound].keys(), deployment["metadata"]


def test_ingest_is_probed_over_grpc_health_and_the_api_over_http(docs: list[Doc]) -> None:
    ingest = containers(named(docs, "Deployment", "vigil-ingest"))[0]
    assert ingest["readinessProbe"]["grpc"]["port"] == 50051
    api = containers(named(docs, "Deployment", "vigil-api"))[0]
    assert api["readinessProbe"]["httpGet"]["path"] == "/health"


def test_every_pod_is_locked_down(docs: list[Doc]) -> None:
    for deployment in of_kind(docs, "Deployment"):
        pod = deployment["spec"]["template"]["spec"]
        assert pod["automountServiceAccountToken"] is False
        assert pod["serviceAccountName"] == "vigil"
        assert pod["enableServiceLinks"] is False
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] >= 10000
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        assert not pod.get("hostNetwork") and not pod.get("hostPID") and not pod.get("hostIPC")
        tmp = {v["name"] for v in pod["volumes"] if "emptyDir" in v}
        for container in pod["containers"]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True
            assert context["allowPrivilegeEscalation"] is False
            assert context["capabilities"] == {"drop": ["ALL"]}
            assert not context.get("privileged")
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            assert mounts.get("/tmp") in tmp
            assert mounts.get(container["workingDir"]) in tmp


def test_the_service_account_has_no_token_and_no_role(docs: list[Doc]) -> None:
    account = named(docs, "ServiceAccount", "vigil")
    assert account["automountServiceAccountToken"] is False
    assert not {"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"} & {
        d["kind"] for d in docs}


def test_traffic_is_denied_unless_a_policy_allows_it(docs: list[Doc]) -> None:
    policies = of_kind(docs, "NetworkPolicy")
    deny = named(docs, "NetworkPolicy", "vigil-default-deny")["spec"]
    assert deny["podSelector"] == {} and set(deny["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in deny and "egress" not in deny

    def allowed(deployment: Doc, direction: str) -> list[Doc]:
        labels = pod_labels(deployment)
        return [p for p in policies if direction in p["spec"]
                and selects(p["spec"]["podSelector"].get("matchLabels", {}), labels)]

    for deployment in of_kind(docs, "Deployment"):
        egress = {p["metadata"]["name"] for p in allowed(deployment, "egress")}
        assert "vigil-allow-dns" in egress, deployment["metadata"]["name"]
    kafka = [d["metadata"]["name"] for d in of_kind(docs, "Deployment")
             if "vigil-allow-kafka" in {p["metadata"]["name"] for p in allowed(d, "egress")}]
    assert sorted(kafka) == [f"vigil-{s}" for s in ("analyzer", "enrich", "ingest", "judge",
                                                     "notifier", "sink")]
    for name in ("vigil-ingest", "vigil-api", "vigil-dashboard"):
        ports = {port["port"] for p in allowed(named(docs, "Deployment", name), "ingress")
                 for rule in p["spec"]["ingress"] for port in rule["ports"]}
        service = named(docs, "Service", name)
        assert {p["port"] for p in service["spec"]["ports"] if p["name"] != "metrics"} <= ports
