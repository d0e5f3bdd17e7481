"""The deployment files, checked offline: the Dockerfile (hadolint; its commands are make targets),
the Kubernetes manifests (kubernetes-validate's schemas; their commands are make targets; the
ConfigMap is config.properties; the probes and the Service reach the gateway)."""

import re
import subprocess
import sys
from pathlib import Path

import yaml

from models.catalog import ROOT

KUBERNETES = ROOT / "deploy" / "kubernetes"
BIN = Path(sys.executable).parent


def make_targets() -> set[str]:
    return set(re.findall(r"^([a-z][a-z-]*):", (ROOT / "Makefile").read_text(), re.MULTILINE))


def manifests() -> dict[str, dict]:
    return {path.name: yaml.safe_load(path.read_text()) for path in sorted(KUBERNETES.glob("*.yaml"))
            if path.name != "kustomization.yaml"}


def test_the_dockerfile_passes_hadolint():
    run = subprocess.run([str(BIN / "hadolint"), str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_dockerfile_runs_only_make_targets_as_non_root():
    dockerfile = (ROOT / "Dockerfile").read_text()
    instructions = "\n".join(line for line in dockerfile.splitlines() if not line.startswith("#"))
    used = re.findall(r'(?:RUN |\[)"?make"?,? (?:"-s", )?"?([a-z][a-z-]*)', instructions)
    assert {"archive", "run", "ready"} <= set(used) <= make_targets(), used
    assert re.search(r"^USER 10001$", dockerfile, re.MULTILINE)
    assert re.search(r"^HEALTHCHECK .*make.*ready", dockerfile, re.MULTILINE)


def test_the_manifests_pass_the_kubernetes_schemas():
    files = [str(KUBERNETES / name) for name in manifests()]
    run = subprocess.run([str(BIN / "kubernetes-validate"), "--strict", *files], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    kustomization = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text())
    assert sorted(kustomization["resources"]) == sorted(manifests())


def test_the_configmap_is_config_properties():
    configmap = manifests()["configmap.yaml"]
    assert configmap["data"]["config.properties"].strip() == (ROOT / "config.properties").read_text().strip()


def test_the_pods_run_make_targets_behind_the_gateway():
    deployment, service = manifests()["deployment.yaml"], manifests()["service.yaml"]
    pod = deployment["spec"]["template"]["spec"]
    containers = {c["name"]: c for c in pod["containers"]}
    for container in containers.values():
        target = container["command"][container["command"].index("make") + 1]
        assert target in make_targets(), container["command"]
    assert pod["securityContext"]["runAsNonRoot"] and pod["securityContext"]["runAsUser"] == 10001
    gateway = containers["gateway"]
    assert gateway["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert gateway["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert service["spec"]["ports"][0]["targetPort"] == gateway["ports"][0]["name"]
    assert "ports" not in containers["torchserve"]  # TorchServe stays on loopback inside the pod
