"""What an emitter knows about its target beyond the pod, which stays target-neutral: the
Kubernetes version decides native sidecars and the preStop sleep action."""

from __future__ import annotations

from dataclasses import dataclass

from generator import rules


@dataclass(frozen=True, slots=True)
class KubernetesTarget:
    version: str

    @property
    def native_sidecars(self) -> bool:
        return rules.native_sidecars(self.version)

    @property
    def prestop_sleep(self) -> bool:
        """lifecycle.preStop.sleep: refused by the 1.28 schema, on by default from 1.30."""
        return rules.version_tuple(self.version) >= rules.PRESTOP_SLEEP_FROM


def kubernetes_target(targets: tuple[str, ...], version: str) -> KubernetesTarget | None:
    """The Kubernetes target of a render, or None when it has none."""
    return KubernetesTarget(version) if "kubernetes" in targets else None
