"""The wizard's last screen before writing: the choices in a dozen lines, and the pod's
picture on request (three sidecars draw ~35 lines: with the summary and the question it
would scroll off a 40-row terminal).

Pure (built from parse_spec and build_pod), so a golden file covers it.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from generator import rules
from generator.catalog.loader import Catalog
from generator.emit.picture import draw_pod
from generator.emit.targets import kubernetes_target
from generator.model import overhead
from generator.model.pod import build_pod
from generator.input.spec import parse_spec


def summary(answers: dict[str, Any], catalog: Catalog, allow_unpinned: bool, dest: Path,
            blocked: bool = False) -> str:
    """The answers as the spec reads them. `blocked`: dest holds files and --force was not
    given (the caller looked; this reads no disk)."""
    spec = parse_spec(answers, catalog, allow_unpinned=allow_unpinned)
    app = spec.app
    sidecars = []
    for choice in spec.sidecars:
        template = catalog.get(choice.name)
        changed = [f"{k}={v!r}" for k, v in choice.params if v != template.param(k).default]
        sidecars.append(choice.name + (f" ({', '.join(changed)})" if changed else ""))
    targets = ["compose.yaml"] if "compose" in spec.targets else []
    rows = [("app", f"{app.name}, {app.replicas} replica{'s' if app.replicas != 1 else ''}"),
            ("image", app.image), ("port", f"{app.port}, health {app.health_path}"),
            ("logs", app.log_dir or "stdout only"), ("metrics", app.metrics_path or "none"),
            ("sidecars", ", ".join(sidecars) or "none")]
    if "kubernetes" in spec.targets:
        native = rules.native_sidecars(spec.kubernetes_version)
        targets.append(f"k8s/ for Kubernetes {spec.kubernetes_version} "
                       f"({'native' if native else 'classic'} sidecars)")
    if "helm" in spec.targets:
        targets.append("chart/ (Helm, native sidecars from 1.29)")
    rows.append(("targets", ", ".join(targets)))
    if "compose" in spec.targets:
        rows.append(("compose", f"app healthcheck: {shlex.join(app.health_command)}" if app.health_command
                     else "no app healthcheck (no health command)"))
    if {"kubernetes", "helm"} & set(spec.targets):
        rows.append(("namespace", spec.namespace))
    if spec.sidecars:  # what they cost, before it is paid for
        rows.append(("overhead", overhead.brief(overhead.of_pod(build_pod(spec, catalog)))))
    advanced = advanced_summary(spec)
    if advanced:
        rows.append(("advanced", advanced))
    rows.append(("output", f"{dest}/"))
    if blocked:
        rows.append(("note", f"{dest}/ exists: it is replaced only with --force"))
    lines = ["", "Summary", *(f"  {key:<10} {value}" for key, value in rows)]
    return "\n".join(lines) + "\n"


def pod_picture(answers: dict[str, Any], catalog: Catalog, allow_unpinned: bool) -> str:
    """The pod's containers, ports, volumes and links, as the generated README draws them."""
    spec = parse_spec(answers, catalog, allow_unpinned=allow_unpinned)
    return draw_pod(build_pod(spec, catalog), kubernetes_target(spec.targets, spec.kubernetes_version))


def advanced_summary(spec) -> str:
    """The advanced settings that differ from the defaults, in one line (empty: none)."""
    from generator.input.spec import runtime_answers

    app, parts = spec.app, []
    if app.env or app.env_from:
        refs = sum(1 for _, value in app.env if isinstance(value, rules.EnvSource))
        parts.append(f"env {len(app.env)}" + (f" ({refs} from Secrets/ConfigMaps)" if refs else "")
                     + (f" + every key of {len(app.env_from)}" if app.env_from else ""))
    changed = runtime_answers(app)
    if "resources" in changed:
        requests, limits = dict(app.requests), dict(app.limits)
        parts.append(f"cpu {requests['cpu']}/{limits['cpu']}, memory {requests['memory']}/{limits['memory']}")
    if "user" in changed:
        parts.append(f"user {app.uid}:{app.gid}")
    if app.writable_paths:
        parts.append(f"writes {' '.join(path for path, _ in app.writable_paths)}")
    if app.command or app.args:
        parts.append("own command" if app.command else "own args")
    if spec.image_pull_secrets and "kubernetes" in spec.targets:
        parts.append(f"pull secrets {' '.join(spec.image_pull_secrets)}")
    return "; ".join(parts)
