"""`sidecar-new check`: budgets that must add up at run time (ephemeral storage against the
emptyDirs, tmpfs against its writer's memory, Fluentd's buffer below its volume), so a hand
edit or a team template cannot get a pod evicted or a sidecar OOM-killed. Wrong shapes are
skipped: the real tools report them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterator

from generator import rules
from generator.errors import CheckError
from generator.output.naming import kubernetes_base_of
from generator.tools.check_configs import dig, documents, Problems, file_buffers, mapping, mappings
from generator.yamlio import load_file




_DOCKER_SIZE = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*([bkmg]?)b?", re.I)


def _docker_bytes(value: Any) -> float | None:
    """Docker's memory and tmpfs sizes: bytes, or b, k, m, g (binary units)."""
    match = _DOCKER_SIZE.fullmatch(str(value).strip())
    return float(match[1]) * 1024 ** "bkmg".find(match[2].lower() or "b") if match else None


def _tmpfs_sizes(document: Any) -> dict[str, float]:
    sizes = {}
    for name, volume in mapping(dig(document, "volumes")).items():
        options = mapping(mapping(volume).get("driver_opts"))
        if options.get("type") == "tmpfs":
            size = dict(part.split("=", 1) for part in str(options.get("o", "")).split(",") if "=" in part).get("size")
            if _docker_bytes(size) is not None:
                sizes[str(name)] = _docker_bytes(size)
    return sizes


def lint_tmpfs_memory(document: Any) -> Iterator[str]:
    """A tmpfs volume is charged to the memory cgroup of the container that writes it (the
    first service that mounts it read-write, as the emitter counts it): with its memory
    reservation it must fit under its memory limit, or it is OOM-killed as the volume fills."""
    services = mapping(dig(document, "services"))
    for name, service in services.items():
        if isinstance(service, dict):
            yield from _tmpfs_memory(document, str(name), service)


def _tmpfs_memory(document: Any, name: str, service: dict[str, Any]) -> Iterator[str]:
    sizes, first = _tmpfs_sizes(document), {}
    for other, other_service in mapping(dig(document, "services")).items():
        for mount in mappings(mapping(other_service).get("volumes")):
            source = mount.get("source")
            if mount.get("type") == "volume" and not mount.get("read_only") and isinstance(source, str) and source in sizes:
                first.setdefault(source, other)
    written = sum(size for volume, size in sizes.items() if first.get(volume) == name)
    resources = mapping(dig(service, "deploy", "resources"))
    limit = _docker_bytes(mapping(resources.get("limits")).get("memory"))
    reserved = _docker_bytes(mapping(resources.get("reservations")).get("memory", 0)) or 0
    if written and limit is not None and written + reserved > limit:
        yield (f"service {name}: the tmpfs volumes it writes ({written / 2**20:g}m) and its memory "
               f"reservation ({reserved / 2**20:g}m) exceed its memory limit ({limit / 2**20:g}m): tmpfs is "
               "charged to its memory, so it is OOM-killed as they fill")


def check_fluentd_budget(folder: Path) -> Problems:
    """A Fluentd file buffer must be capped (total_limit_size) below the volume it lives on:
    a full emptyDir gets the pod evicted, a full tmpfs the container OOM-killed."""
    problems = []
    for conf in sorted(folder.glob("config/*/fluent.conf")):
        try:
            buffers = file_buffers(conf.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            continue  # check_fluentd reports it
        volumes = _volumes_of(folder, conf.parent.name)
        for buffer in buffers:
            if buffer.total_limit_size is None:
                problems.append(f"{conf}:{buffer.line}: file buffer without total_limit_size: Fluentd's "
                                "default is 64GB, far past its volume; cap it below the volume's size")
                continue
            where = max((path for path in volumes if buffer.path and
                         (buffer.path + "/").startswith(path.rstrip("/") + "/")), key=len, default=None)
            if where is not None and buffer.total_limit_size >= volumes[where][1]:
                problems.append(f"{conf}:{buffer.line}: buffer total_limit_size {buffer.total_limit_size} is not "
                                f"below its volume ({volumes[where][0]}, {volumes[where][1]:.0f} bytes at {where}): "
                                "it fills the volume and the pod is evicted (Kubernetes) or OOM-killed (Compose)")
    return problems


def _volumes_of(folder: Path, container: str) -> dict[str, tuple[str, float]]:
    """mount path -> (what, bytes) for the sized scratch volumes the container mounts, from the
    Deployment (emptyDir sizeLimit) and compose.yaml (tmpfs size), the smaller of the two."""
    found: dict[str, tuple[str, float]] = {}

    def keep(path: Any, what: str, size: float | None) -> None:
        if isinstance(path, str) and size is not None and (path not in found or size < found[path][1]):
            found[path] = (what, size)

    for deployment in documents(kubernetes_base_of(folder) / "deployment.yaml"):
        spec = mapping(dig(deployment, "spec", "template", "spec"))
        sizes = {v["name"]: rules.quantity_value(mapping(v.get("emptyDir")).get("sizeLimit"))
                 for v in mappings(spec.get("volumes")) if "emptyDir" in v and isinstance(v.get("name"), str)}
        for item in [*mappings(spec.get("initContainers")), *mappings(spec.get("containers"))]:
            if item.get("name") == container:
                for mount in mappings(item.get("volumeMounts")):
                    name = mount.get("name")
                    keep(mount.get("mountPath"), f"emptyDir {name}", sizes.get(name) if isinstance(name, str) else None)
    compose = folder / "compose.yaml"
    if compose.is_file():
        try:
            document = load_file(compose, CheckError)
        except CheckError:
            document = None
        sizes = _tmpfs_sizes(document)
        service = mapping(mapping(dig(document, "services")).get(container))
        for mount in mappings(service.get("volumes")):
            source = mount.get("source")
            keep(mount.get("target"), f"tmpfs {source}", sizes.get(source) if isinstance(source, str) else None)
    return found


def lint_ephemeral_storage(pod_spec: dict[str, Any]) -> Iterator[str]:
    """kubelet evicts a pod whose emptyDirs plus writable layers and logs pass the sum of its
    containers' ephemeral-storage limits: that sum must exceed the emptyDirs' sizeLimits."""
    # Plain init containers run before the rest, one at a time: kubelet sums the long-running
    # ones (native sidecars and containers). Memory-backed emptyDirs are charged to memory.
    containers = [*(c for c in mappings(pod_spec.get("initContainers")) if c.get("restartPolicy") == "Always"),
                  *mappings(pod_spec.get("containers"))]
    limits = [rules.quantity_value(dig(c, "resources", "limits", "ephemeral-storage")) for c in containers]
    sizes = [rules.quantity_value(mapping(v.get("emptyDir")).get("sizeLimit"))
             for v in mappings(pod_spec.get("volumes"))
             if "emptyDir" in v and mapping(v.get("emptyDir")).get("medium") != "Memory"]
    if not containers or None in limits or None in sizes or not sizes:
        return  # without a limit on every container kubelet sets no pod-level limit
    if sum(limits) <= sum(sizes):
        yield (f"the containers' ephemeral-storage limits add up to {sum(limits) / 2**20:g}Mi, no more than the emptyDirs' "
               f"sizeLimits ({sum(sizes) / 2**20:g}Mi): kubelet evicts the pod before its volumes are full; "
               "add each emptyDir's size to the limit of the container that writes it")
