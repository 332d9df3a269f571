"""Kubernetes workloads in someone else's YAML: which document and container to inject into,
and what the app's own fields say about it (port, health endpoint, user and group)."""

from __future__ import annotations

from dataclasses import dataclass

import yaml

from generator.errors import SpecError
from generator.inject.splice import Node, dig, get, items, scalar

# kind -> the keys from the document to the pod spec and to the pod template's metadata.
POD_PATHS = {
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
    "Pod": (),
}
# Kinds people try that cannot take a sidecar this way, with the reason given.
REFUSED = {
    "ReplicationController": "is superseded by Deployment; convert it first",
    "Service": "selects pods but does not define them; name the workload behind it",
}
RUNS_TO_COMPLETION = ("Job", "CronJob")


@dataclass(frozen=True, slots=True)
class Workload:
    index: int  # the document's position in the stream
    kind: str
    name: str
    namespace: str | None
    document: Node
    template: Node  # the pod template (or the Pod itself): metadata + spec

    @property
    def ref(self) -> str:
        return f"{self.kind}/{self.name}"

    @property
    def pod_spec(self) -> Node:
        return get(self.template, "spec")

    def containers(self, key: str = "containers") -> list[Node]:
        return items(get(self.pod_spec, key))


def find_workload(documents: list[Node | None], wanted: str | None, source: str) -> Workload:
    """The one workload to inject into: `--workload KIND/NAME`, or the only candidate."""
    found, others = [], []
    for index, document in enumerate(documents):
        kind, name = scalar(get(document, "kind")), scalar(dig(document, "metadata", "name"))
        if kind in POD_PATHS and name:
            template = dig(document, *POD_PATHS[kind]) if POD_PATHS[kind] else document
            if not isinstance(get(template, "spec"), yaml.MappingNode):
                raise SpecError(f"{source}: {kind}/{name} has no pod spec at {'.'.join((*POD_PATHS[kind], 'spec'))}")
            found.append(Workload(index, kind, name, scalar(dig(document, "metadata", "namespace")),
                                  document, template))
        elif kind and name:
            others.append(f"{kind}/{name}")
    if wanted:
        kind, _, name = wanted.partition("/")
        if kind in REFUSED:
            raise SpecError(f"--workload {wanted}: a {kind} cannot take sidecars: it {REFUSED[kind]}")
        match = [w for w in found if w.ref == wanted or (not name and w.name == kind)]
        if len(match) != 1:
            known = ", ".join(w.ref for w in found) or "none"
            raise SpecError(f"--workload {wanted}: not in {source} (workloads there: {known})")
        return match[0]
    if not found:
        refused = [o for o in others if o.split("/")[0] in REFUSED]
        reason = (f"; a {refused[0].split('/')[0]} {REFUSED[refused[0].split('/')[0]]}" if refused else "")
        raise SpecError(f"{source}: no workload that can take sidecars ({', '.join(POD_PATHS)}) "
                        f"among {', '.join(others) or 'no Kubernetes objects'}{reason}")
    if len(found) > 1:
        raise SpecError(f"{source}: {len(found)} workloads ({', '.join(w.ref for w in found)}); "
                        "pick one with --workload KIND/NAME")
    return found[0]


def find_container(workload: Workload, wanted: str | None, skip: set[str]) -> Node:
    """The app container: `--container NAME`, or the only one (injected sidecars aside)."""
    containers = [c for c in workload.containers() if scalar(get(c, "name")) not in skip]
    names = [scalar(get(c, "name")) for c in containers]
    if wanted:
        if wanted not in names:
            raise SpecError(f"--container {wanted}: {workload.ref} has no such container "
                            f"(containers: {', '.join(map(str, names)) or 'none'})")
        return containers[names.index(wanted)]
    if len(containers) != 1:
        raise SpecError(f"{workload.ref}: {len(containers)} containers ({', '.join(map(str, names))}); "
                        "name the app with --container NAME")
    return containers[0]


@dataclass(frozen=True, slots=True)
class AppFacts:
    """What the workload says about the app; None where it says nothing."""
    container: str
    image: str | None
    port: int | None
    port_name: str | None  # a Service may target the port by this name
    health_path: str | None
    group: int | None  # the group the app's files get: shared volumes are read by it


def read_app(workload: Workload, container: Node) -> AppFacts:
    port = port_name = None
    for entry in items(get(container, "ports")):
        number = _int(scalar(get(entry, "containerPort")))
        if number and (scalar(get(entry, "protocol")) or "TCP") == "TCP":
            port, port_name = number, scalar(get(entry, "name"))
            break
    health = None
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        health = scalar(dig(container, probe, "httpGet", "path"))
        if health:
            break
    pod_context, own = get(workload.pod_spec, "securityContext"), get(container, "securityContext")
    group = next((g for g in (_int(scalar(get(own, "runAsGroup"))), _int(scalar(get(pod_context, "runAsGroup"))),
                              _int(scalar(get(pod_context, "fsGroup")))) if g is not None), None)
    return AppFacts(container=scalar(get(container, "name")) or "", image=scalar(get(container, "image")),
                    port=port, port_name=port_name, health_path=health, group=group)


def all_ports(workload: Workload) -> dict[int, str]:
    """Every containerPort of the pod -> the container that declares it."""
    found = {}
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for container in workload.containers(key):
            for entry in items(get(container, "ports")):
                number = _int(scalar(get(entry, "containerPort")))
                if number:
                    found.setdefault(number, scalar(get(container, "name")) or "?")
    return found


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


# Sidecars people already run, by image: a second one of a capability (two proxies in front of
# one app, two log shippers on one folder) is refused. Catalog images count as well.
KNOWN_SIDECARS = {"envoyproxy/envoy": "proxy", "istio/proxyv2": "proxy", "linkerd/proxy": "proxy",
                  "fluentd": "logging", "fluent-bit": "logging", "filebeat": "logging", "promtail": "logging",
                  "timberio/vector": "logging", "statsd-exporter": "metrics",
                  "opentelemetry-collector": "telemetry"}


def capability_of(image: str | None, catalog_images: dict[str, str]) -> str | None:
    """The capability of an existing container, judged by its image (None: not a known sidecar)."""
    if not image:
        return None
    repository = image.split("@")[0]
    if ":" in repository.rsplit("/", 1)[-1]:
        repository = repository.rsplit(":", 1)[0]
    if repository in catalog_images:
        return catalog_images[repository]
    return next((cap for name, cap in KNOWN_SIDECARS.items() if name in repository), None)
