"""A plain-text picture of the pod: the way in, the containers as boxes, and what links them
(shared volumes, localhost ports). Shown by the wizard and written into the README."""

from __future__ import annotations

import re

from generator.emit.targets import KubernetesTarget
from generator.model import overhead
from generator.model.pod import Container, Pod

WIDTH = 76  # the boxes' outer width; a longer row widens every box


def draw_pod(pod: Pod, kubernetes: KubernetesTarget | None) -> str:
    """`kubernetes`: say how that target runs the sidecars (native or not); None for Compose only."""
    app = pod.app
    native = kubernetes is not None and kubernetes.native_sidecars
    # A sidecar with a public port while the app has none stands in front of it (a proxy).
    fronting = [] if any(p.public for p in app.ports) else [
        c for c in pod.sidecars if any(p.public for p in c.ports)]
    behind = [c for c in pod.sidecars if c not in fronting]
    inner = max(WIDTH - 4, *(len(row) for c in pod.containers for row in _rows(c)),
                *(len(_title(c, pod, native)) + len(c.name) + 8 for c in pod.containers))
    scaling = pod.autoscaling
    count = (f"{scaling.min} to {scaling.max} replicas (HPA at {scaling.cpu_percent}% CPU)" if scaling
             else f"{pod.replicas} replica{'s' if pod.replicas != 1 else ''}")
    lines = [f"pod {pod.name}, {count}; the containers share one network namespace (localhost)"]
    if native and pod.sidecars:
        lines.append("Kubernetes starts the sidecars first, in this order: "
                     + ", ".join(c.name for c in pod.sidecars))
    way_in = ", ".join(f"{_port(p)} {c.name}" for c in (*fronting, app) for p in c.ports if p.public)
    lines.append("")
    if way_in and pod.ingress and pod.way_in:
        kind = "HTTPRoute" if pod.ingress.kind == "httproute" else "Ingress"
        lines.append(_link(f"{pod.ingress.host}{pod.ingress.path} ({kind}) -> port {pod.way_in.number}"))
    if way_in:
        lines.append(_link(f"traffic in -> {way_in}"))
    for container in fronting:
        lines += _box(container, pod, native, inner)
        lines.append(_link(f"{container.name} -> {app.name} on localhost:{app.ports[0].number}"
                           if app.ports else f"{container.name} -> {app.name}"))
    lines += _box(app, pod, native, inner)
    for container in behind:
        lines.append(_link(_relation(app, container)))
        lines += _box(container, pod, native, inner)
    others = _shared_without_app(pod)
    if others:
        lines.append("shared volumes between sidecars:")
        lines += [f"  {name}: {users}" for name, users in others]
    if pod.sidecars:  # what they cost (model/overhead.py): seen before it is paid for
        lines += ["", *overhead.table(overhead.of_pod(pod))]
    return "\n".join(lines) + "\n"


def _title(container: Container, pod: Pod, native: bool) -> str:
    if container is pod.app:
        return "app"
    return f"{container.capability}, {'native sidecar' if native else 'sidecar'}"


def _rows(container: Container) -> list[str]:
    # A full digest would make every box 90 columns wide; 12 hex digits identify it.
    rows = [re.sub(r"(@sha256:[a-f0-9]{12})[a-f0-9]{52}", r"\1...", container.image)]
    for port in container.ports:
        notes = [n for n, on in (("public", port.public),
                                 (f"scraped at {port.scrape_path}", port.scrape_path)) if on]
        rows.append(f"port    {_port(port)} {port.name}" + (f" ({', '.join(notes)})" if notes else ""))
    for mount in container.mounts:
        rows.append(f"volume  {mount.path} <- {mount.volume} ({'ro' if mount.read_only else 'rw'})")
    return rows


def _box(container: Container, pod: Pod, native: bool, inner: int) -> list[str]:
    name, role = f"+- {container.name} ", f" {_title(container, pod, native)} -+"
    top = name + "-" * (inner + 4 - len(name) - len(role)) + role
    return [top, *(f"| {row.ljust(inner)} |" for row in _rows(container)), "+" + "-" * (inner + 2) + "+"]


def _link(label: str) -> str:
    return f"    |  {label}"


def _port(port) -> str:
    return f":{port.number}" + ("/udp" if port.protocol == "UDP" else "")


def _relation(app: Container, sidecar: Container) -> str:
    """What the app and a sidecar share: volumes (with both paths), else localhost ports."""
    shared = []
    app_mounts = {m.volume: m for m in reversed(app.mounts)}  # the first mount of a volume wins, as next() did
    for mount in sidecar.mounts:
        mine = app_mounts.get(mount.volume)
        if mine:
            shared.append(f"volume {mount.volume} ({mine.path} {'ro' if mine.read_only else 'rw'}"
                          f" -> {mount.path} {'ro' if mount.read_only else 'rw'})")
    if shared:
        return f"{app.name} -> {sidecar.name}: " + ", ".join(shared)
    ports = ", ".join(_port(p) for p in sidecar.ports)
    return f"{app.name} <-> {sidecar.name} on localhost" + (f" {ports}" if ports else "")


def _shared_without_app(pod: Pod) -> list[tuple[str, str]]:
    # Mounts grouped by volume in one pass: a scan of every mount per volume was quadratic.
    users: dict[str, list[str]] = {}
    for c in pod.sidecars:
        for m in c.mounts:
            users.setdefault(m.volume, []).append(f"{c.name} ({'ro' if m.read_only else 'rw'})")
    app_volumes = {m.volume for m in pod.app.mounts}
    shared = []
    for volume in pod.volumes:
        mounted = users.get(volume.name, [])
        if len(mounted) > 1 and volume.name not in app_volumes:
            shared.append((volume.name, " + ".join(mounted)))
    return shared
