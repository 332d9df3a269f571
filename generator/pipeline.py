"""The one pure pipeline: Spec + Catalog -> Pod -> emitters -> FileSet. No prompts, no I/O."""

from __future__ import annotations

import hashlib
from typing import Any

from generator import __version__
from generator.catalog.loader import Catalog
from generator.emit.compose import emit_compose
from generator.emit.kubernetes import emit_kubernetes
from generator.emit.kubernetes_overlays import emit_overlay
from generator.emit.readme import emit_readme
from generator.emit.targets import kubernetes_target
from generator.output.fileset import FileSet, merge
from generator.output.naming import RECORD, config_file, kubernetes_base
from generator.model.pod import Pod, build_pod
from generator.input.environments import applied
from generator.input.spec import Spec, to_answers
from generator.yamlio import dump

def build(spec: Spec, catalog: Catalog) -> FileSet:
    return render(spec, catalog)[1]


def render(spec: Spec, catalog: Catalog) -> tuple[Pod, FileSet]:
    """The pod (what the CLI reports on: the sidecars' overhead) and the files."""
    pod = build_pod(spec, catalog)
    kubernetes = kubernetes_target(spec.targets, spec.kubernetes_version)
    # Each environment's pod is built like the base's, from the request as it sees it.
    environments = tuple((e.name, build_pod(applied(spec, e), catalog)) for e in spec.environments)
    parts = [emit_config_files(pod),
             emit_readme(pod, spec.targets, f"{catalog.name} {catalog.version}", kubernetes, environments)]
    if "compose" in spec.targets:
        parts.append(emit_compose(pod, environments))
    if kubernetes is not None:
        parts.append(emit_kubernetes(pod, kubernetes, kubernetes_base(bool(environments))))
        parts += [emit_overlay(pod, env_pod, name, kubernetes) for name, env_pod in environments]
    if "helm" in spec.targets:
        # Only a chart needs the chart model and its emitter (~20 ms of imports a render saves).
        from generator.emit.helm import emit_helm
        from generator.model.chart import build_chart

        parts.append(emit_helm(build_chart(spec, catalog, pod)))
    files = merge(*parts)
    return pod, merge(files, {RECORD: dump(record(spec, catalog, files)).encode()})


def emit_config_files(pod: Pod) -> FileSet:
    return {config_file(f.sidecar, f.path): f.text.encode() for f in pod.config_files}


def record(spec: Spec, catalog: Catalog, files: FileSet) -> dict[str, Any]:
    """The answers used, where the templates came from, and a hash of each generated file
    (so a re-run can tell a file the user edited from one it may replace)."""
    return {
        **to_answers(spec),
        "generated_by": {"tool": "sidecar-new", "version": __version__,
                         "catalog": catalog.provenance,
                         # `check` judges the sidecars' overhead by the catalog's own budget.
                         **({"overhead_budget": dict(catalog.overhead_budget)} if catalog.overhead_budget else {})},
        "files": {path: hashlib.sha256(data).hexdigest() for path, data in files.items()},
    }
