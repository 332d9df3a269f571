"""The wizard's last screen before writing: the choices in a few lines and the pod's picture.

Pure (built from parse_spec and build_pod), so a golden file covers it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from generator import rules
from generator.catalog import Catalog
from generator.picture import draw_pod
from generator.pod import build_pod
from generator.spec import parse_spec


def summary(answers: dict[str, Any], catalog: Catalog, allow_unpinned: bool, dest: Path,
            force: bool = False) -> str:
    """The answers as the spec reads them, then the picture of the pod."""
    spec = parse_spec(answers, catalog, allow_unpinned=allow_unpinned)
    app = spec.app
    details = [f"port {app.port}", f"health {app.health_path}",
               f"logs {app.log_dir}" if app.log_dir else "logs to stdout",
               f"metrics {app.metrics_path}" if app.metrics_path else "no metrics endpoint",
               f"{app.replicas} replicas"]
    sidecars = []
    for choice in spec.sidecars:
        template = catalog.get(choice.name)
        changed = [f"{k}={v!r}" for k, v in choice.params if v != template.param(k).default]
        sidecars.append(choice.name + (f" ({', '.join(changed)})" if changed else ""))
    targets = []
    if "compose" in spec.targets:
        targets.append("compose.yaml")
    if "kubernetes" in spec.targets:
        native = rules.version_tuple(spec.kubernetes_version) >= rules.NATIVE_SIDECARS_FROM
        targets.append(f"k8s/ for Kubernetes {spec.kubernetes_version} "
                       f"({'native' if native else 'classic'} sidecars), namespace {spec.namespace}")
    lines = ["", "Summary",
             f"  app       {app.name}  {app.image}",
             f"            {', '.join(details)}",
             f"  sidecars  {', '.join(sidecars) or 'none'}",
             f"  targets   {'; '.join(targets)}",
             f"  output    {dest}/"]
    if not force and dest.is_dir() and any(dest.iterdir()):
        lines.append(f"  note      {dest}/ already exists: sidecar-new replaces it only with --force")
    return "\n".join(lines) + "\n\n" + draw_pod(build_pod(spec, catalog))
