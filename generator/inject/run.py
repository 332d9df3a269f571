"""inject's one entry: text in, text out (pure; the command line reads and writes)."""

from __future__ import annotations

from dataclasses import dataclass

from generator import rules
from generator.catalog.loader import Catalog
from generator.errors import SpecError
from generator.inject import kubernetes
from generator.inject.derive import Ask, Request
from generator.inject.kubernetes import Outcome


@dataclass(frozen=True, slots=True)
class Target:
    """Which part of the file: --workload and --container (Kubernetes), --service (Compose)."""
    workload: str | None = None
    container: str | None = None
    service: str | None = None


def inject_text(text: str, source: str, catalog: Catalog, request: Request, target: Target,
                remove: tuple[str, ...] = (), ask: Ask | None = None) -> Outcome:
    if not request.sidecars and not remove:
        raise SpecError("inject: give --with SIDECAR (to add) or --remove SIDECAR (to take out)")
    for name in request.sidecars:
        catalog.get(name, "--with")  # an unknown name first, before the file is judged
    if request.kubernetes_version is not None:
        try:
            rules.kubernetes_version("--kubernetes-version", request.kubernetes_version)
        except rules.RuleError as exc:
            raise SpecError(exc.with_hint) from None
    if target.service:
        raise SpecError("--service: Compose files are not supported yet; use a Kubernetes workload")
    return kubernetes.inject(text, source, catalog, request, workload=target.workload,
                             container=target.container, remove=remove, ask=ask)
