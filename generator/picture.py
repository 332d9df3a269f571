"""A plain-text picture of the pod: the way in, the containers as boxes, shared volumes."""

from __future__ import annotations

from generator.pod import Container, Pod

WIDTH = 62


def draw_pod(pod: Pod) -> str:
    lines = [f"pod {pod.name}  (x{pod.replicas})"]
    way_in = ", ".join(f":{p.number}" + ("/udp" if p.protocol == "UDP" else "") for p in pod.public_ports)
    if way_in:
        lines.append(f"traffic in -> {way_in}")
    order = list(pod.sidecars) if pod.native_sidecars else []
    containers = [*order, pod.app] if pod.native_sidecars else [pod.app, *pod.sidecars]
    for container in containers:
        lines += _box(container, pod)
    shared = _shared_volumes(pod)
    if shared:
        lines.append("shared volumes:")
        lines += [f"  {name}: {users}" for name, users in shared]
    lines.append("all containers share localhost (one network namespace)")
    return "\n".join(lines) + "\n"


def _box(container: Container, pod: Pod) -> list[str]:
    role = "app" if container is pod.app else container.capability
    if container is not pod.app:
        role += ", native sidecar" if pod.native_sidecars else ", sidecar"
    rows = [f"{container.name} ({role})", container.image]
    ports = []
    for port in container.ports:
        flags = [f for f, on in (("public", port.public), ("scraped", port.scrape_path)) if on]
        ports.append(f"{port.name} :{port.number}" + ("/udp" if port.protocol == "UDP" else "")
                     + (f" [{', '.join(flags)}]" if flags else ""))
    if ports:
        rows.append("ports: " + ", ".join(ports))
    for mount in container.mounts:
        mode = "ro" if mount.read_only else "rw"
        rows.append(f"{mount.volume} -> {mount.path} ({mode})")
    inner = max(WIDTH - 4, *(len(r) for r in rows))
    border = "+" + "-" * (inner + 2) + "+"
    return [border, *(f"| {row.ljust(inner)} |" for row in rows), border]


def _shared_volumes(pod: Pod) -> list[tuple[str, str]]:
    shared = []
    for volume in pod.volumes:
        users = [f"{c.name} ({'ro' if m.read_only else 'rw'})"
                 for c in pod.containers for m in c.mounts if m.volume == volume.name]
        if len(users) > 1:
            shared.append((volume.name, " + ".join(users)))
    return shared
