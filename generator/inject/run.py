"""inject's one entry: text in, text out (pure; the command line reads and writes)."""

from __future__ import annotations

from dataclasses import dataclass

from generator import rules
from generator.catalog.loader import Catalog
from generator.errors import SpecError
from generator.inject import compose, kubernetes, kustomize
from generator.inject.derive import Ask, Request
from generator.inject.kubernetes import Outcome
from generator.yamlio import load_text


def _check_request(catalog: Catalog, request: Request, remove: tuple[str, ...]) -> None:
    """What the command line asked, checked before any file is judged."""
    if not request.sidecars and not remove:
        raise SpecError("inject: give --with SIDECAR (to add) or --remove SIDECAR (to take out)")
    for name in request.sidecars:
        catalog.get(name, "--with")
    if request.kubernetes_version is not None:
        try:
            rules.kubernetes_version("--kubernetes-version", request.kubernetes_version)
        except rules.RuleError as exc:
            raise SpecError(exc.with_hint) from None


@dataclass(frozen=True, slots=True)
class Target:
    """Which part of the file: --workload and --container (Kubernetes), --service (Compose)."""
    workload: str | None = None
    container: str | None = None
    service: str | None = None


def inject_text(text: str, source: str, catalog: Catalog, request: Request, target: Target,
                remove: tuple[str, ...] = (), ask: Ask | None = None) -> Outcome:
    _check_request(catalog, request, remove)
    documents = load_text(text, source, SpecError, all_documents=True)
    if len(documents) == 1 and compose.is_compose(documents[0]):
        if target.workload or target.container:
            raise SpecError(f"{source} is a Compose file: name the app with --service, not --workload/--container")
        return compose.inject(text, source, catalog, request, service=target.service, remove=remove, ask=ask)
    if target.service:
        raise SpecError(f"--service: {source} is Kubernetes YAML, not a Compose file; use --workload KIND/NAME")
    return kubernetes.inject(text, source, catalog, request, workload=target.workload,
                             container=target.container, remove=remove, ask=ask)


def inject_folder(files: dict[str, str], catalog: Catalog, request: Request, target: Target,
                  remove: tuple[str, ...] = (), ask: Ask | None = None) -> Outcome:
    """A kustomize folder: `files` holds its kustomization, resource files and sidecar-new-*.yaml."""
    _check_request(catalog, request, remove)
    if target.service:
        raise SpecError("--service: a kustomize folder holds Kubernetes YAML; use --workload KIND/NAME")
    name = kustomize.kustomization_name(list(files))
    assert name is not None  # the command line read the folder by it
    resources = {path: files[path] for path in kustomize.resources(files[name], name) if path in files}
    own = {path: text for path, text in files.items() if path.startswith(f"{kustomize.FILES_DIR}-")}
    return kustomize.inject(files[name], name, resources, own, catalog, request, workload=target.workload,
                            container=target.container, remove=remove, ask=ask)
