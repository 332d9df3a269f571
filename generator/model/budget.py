"""The pod's budgets, by construction: disk (ephemeral storage), memory and CPU workers.

Kubernetes: kubelet evicts a pod when its emptyDirs plus the containers' writable layers and
logs pass the sum of the containers' ephemeral-storage limits, and a container when its own
usage passes its limit ("Ephemeral storage consumption management",
https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/#local-ephemeral-storage).
So a template's ephemeral-storage limit is what the container itself writes (layer, logs),
and each emptyDir's sizeLimit is added to the limit of the container that writes it.

Compose: a tmpfs volume is charged to the memory cgroup of the container that writes it, so
the writer's memory limit there is its own limit plus the tmpfs it writes (a disk-backed
volume would not do: Docker creates it root-owned, and the sidecars run as other users).
"""

from __future__ import annotations

import math
from typing import Iterable

from generator import rules

MiB = 1024 * 1024


def size_bytes(quantity: str) -> int:
    """A Kubernetes quantity of bytes (64Mi, 1Gi, 500M, 1048576) as a whole number."""
    value = rules.quantity_value(quantity)
    if value is None:
        raise ValueError(f"{quantity!r} is not a size (bytes, Ki, Mi, Gi)")
    return math.ceil(value)


def quantity(size: int) -> str:
    """Bytes as the plainest Kubernetes quantity: Mi when whole, else bytes."""
    return f"{size // MiB}Mi" if size % MiB == 0 else str(size)


def cpu_workers(cpu_limit: str) -> int:
    """Worker threads for a CPU limit: whole CPUs, rounded up, at least one (500m -> 1,
    1500m -> 2, 4 -> 4). More workers than CPUs only queue behind the CFS quota."""
    value = rules.quantity_value(cpu_limit)
    if value is None or value <= 0:
        raise ValueError(f"{cpu_limit!r} is not a CPU quantity")
    return max(1, math.ceil(value - 1e-9))


def writers(volume: str, mounts: Iterable[tuple[str, str, bool]]) -> list[str]:
    """Containers that mount `volume` read-write, in pod order; mounts: (container, volume, read_only)."""
    return [container for container, name, read_only in mounts if name == volume and not read_only]


def ephemeral_limit(own: str, written: Iterable[int]) -> str:
    """A container's ephemeral-storage limit: its own writable layer and logs, plus every
    emptyDir it is charged with."""
    return quantity(size_bytes(own) + sum(written))


def memory_limit_with_tmpfs(limit: str, written: Iterable[int]) -> int:
    """A container's memory limit in Compose, where the tmpfs volumes it writes are charged
    to it: its own limit plus their sizes, so a full volume cannot OOM-kill it."""
    return size_bytes(limit) + sum(written)


def first_writers(volumes: dict[str, int], mounts: list[tuple[str, str, bool]]) -> dict[str, dict[str, int]]:
    """container -> {volume: bytes} for each scratch volume, charged to its first writer."""
    charged: dict[str, dict[str, int]] = {}
    for name, size in volumes.items():
        found = writers(name, mounts)
        if found:
            charged.setdefault(found[0], {})[name] = size
    return charged
