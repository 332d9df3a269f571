"""inject into a kustomize folder (GoogleCloudPlatform/microservices-demo's, unmodified): a
patch and configMapGenerator entries, the resources untouched; kustomize builds it, the build
validates, and --remove gives the folder back byte for byte."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import yaml

from conftest import run_cli, tree_of
from generator.tools.check import CONTAINER_RULES, validate_schemas

BASE = Path(__file__).parent / "inject_fixtures" / "microservices-demo-kustomize"


def copy(tmp_path: Path) -> Path:
    folder = tmp_path / "base"
    shutil.copytree(BASE, folder)
    return folder


def inject(folder: Path, *args: str):
    return run_cli("inject", str(folder), "--workload", "Deployment/frontend", *args)


def build(folder: Path) -> list[dict]:
    done = subprocess.run(["kubectl", "kustomize", str(folder)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return [d for d in yaml.safe_load_all(done.stdout) if d]


def test_the_folder_gets_a_patch_and_generators_and_its_resources_stay_as_they_were(tmp_path: Path) -> None:
    folder = copy(tmp_path)
    result = inject(folder, "--with", "envoy", "--with", "metrics", "--in-place")
    assert result.exit_code == 0, result.output
    after = tree_of(folder)
    for name, data in tree_of(BASE).items():
        if name != "kustomization.yaml":
            assert after[name] == data, name  # the resources are not edited
    assert set(after) - set(tree_of(BASE)) == {"sidecar-new-frontend.yaml", "sidecar-new/frontend/envoy/envoy.yaml",
                                               "sidecar-new/frontend/metrics/mapping.yaml"}
    kustomization = after["kustomization.yaml"].decode()
    assert kustomization.startswith((BASE / "kustomization.yaml").read_text().split("# components:")[0])
    documents = build(folder)
    assert list(validate_schemas(documents, "1.33")) == []
    deployment = next(d for d in documents if d["kind"] == "Deployment" and d["metadata"]["name"] == "frontend")
    pod = deployment["spec"]["template"]["spec"]
    sidecars = pod["initContainers"]
    assert [c["name"] for c in sidecars] == ["metrics", "envoy"]
    assert [p for c in sidecars for rule in CONTAINER_RULES.values() for p in rule(c["name"], c)] == []
    generated = {d["metadata"]["name"] for d in documents if d["kind"] == "ConfigMap"}
    mounted = {v["configMap"]["name"] for v in pod["volumes"] if "configMap" in v}
    assert mounted == generated and all(n.startswith(("frontend-envoy-config-", "frontend-metrics-config-"))
                                        for n in mounted)  # kustomize's hashed names: a config change rolls the pods
    services = {d["metadata"]["name"]: d["spec"]["ports"][0]["targetPort"] for d in documents if d["kind"] == "Service"}
    assert services["frontend"] == services["frontend-external"] == 10000 and services["cartservice"] == 7070
    assert {"name": "STATSD_PORT", "value": "9125"} in pod["containers"][0]["env"]


def test_a_second_inject_changes_nothing_and_remove_restores_the_folder(tmp_path: Path) -> None:
    folder = copy(tmp_path)
    assert inject(folder, "--with", "envoy", "--in-place").exit_code == 0
    once = tree_of(folder)
    again = inject(folder, "--with", "envoy", "--in-place")
    assert again.exit_code == 0 and "no changes" in again.stderr and tree_of(folder) == once
    assert inject(folder, "--with", "metrics", "--diff").exit_code == 1 and tree_of(folder) == once
    assert inject(folder, "--with", "metrics", "--in-place").exit_code == 0
    assert inject(folder, "--remove", "envoy", "--remove", "metrics", "--in-place").exit_code == 0
    assert tree_of(folder) == tree_of(BASE)


def test_a_folder_is_not_printed_and_needs_a_kustomization(tmp_path: Path) -> None:
    folder = copy(tmp_path)
    printed = inject(folder, "--with", "envoy")
    assert printed.exit_code == 1 and "use --in-place" in printed.stderr
    (tmp_path / "empty").mkdir()
    empty = run_cli("inject", str(tmp_path / "empty"), "--with", "envoy", "--in-place")
    assert empty.exit_code == 1 and "has no kustomization.yaml" in empty.stderr
    assert tree_of(folder) == tree_of(BASE)
