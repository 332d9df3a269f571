"""The e2e test catalog is an ordinary team catalog: it renders through `--catalog PATH` and
its output passes `sidecar-new check` and `catalog lint`. No engine needed (not marked e2e)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from e2e.stacks import CATALOG, e2e_answers, render


def sidecar_new(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "generator", *args], capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize("version", ["1.33", "1.28"])
def test_the_e2e_catalog_renders_with_catalog_path_and_passes_check(tmp_path: Path, version: str) -> None:
    out = render(e2e_answers("sne2e-render", 18400, kubernetes_version=version), tmp_path)
    checked = sidecar_new("check", str(out))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    recorded = yaml.safe_load((out / ".sidecar-new.yaml").read_text())
    assert "e2e-stand-ins" in yaml.safe_dump(recorded)
    assert sorted(p.name for p in (out / "config").iterdir()) == ["logship", "metrics", "proxy"]


def test_from_kubernetes_1_29_the_stand_ins_are_native_sidecars_in_start_order(tmp_path: Path) -> None:
    # What podman cannot run (see test_podman.py): the ordering is at least rendered right.
    out = render(e2e_answers("sne2e-render", 18400, kubernetes_version="1.33"), tmp_path)
    deployment = yaml.safe_load((out / "k8s" / "deployment.yaml").read_text())
    spec = deployment["spec"]["template"]["spec"]
    assert [c["name"] for c in spec["initContainers"]] == ["logship", "metrics", "proxy"]
    assert all(c["restartPolicy"] == "Always" and "startupProbe" in c for c in spec["initContainers"])
    assert [c["name"] for c in spec["containers"]] == ["sne2e-render"]


def test_the_e2e_catalog_passes_catalog_lint() -> None:
    linted = sidecar_new("catalog", "lint", str(CATALOG))
    assert linted.returncode == 0, linted.stdout + linted.stderr
    assert "4 template(s) ok" in linted.stdout
