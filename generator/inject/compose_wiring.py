"""Compose wiring for inject: what the service says about the app, and the rendered holder
and sidecar services renamed for it (`web-netns`, `web-envoy`, `web-app-logs`) and joined to it."""

from __future__ import annotations

import re
from typing import Any

from generator.catalog.loader import Catalog
from generator.inject.derive import Rendered
from generator.model.pod import APP_LOGS, NAMESPACE_HOLDER, build_pod
from generator.output.naming import CONFIG_DIR

FILES_DIR = "sidecar-new"  # beside the compose file: sidecar-new/<service>/<sidecar>/...
# What `network_mode: service:` cannot be combined with: they move to the holder, which owns
# the namespace now (compose-spec 05-services.md, network_mode).
NETWORK_KEYS = ("ports", "expose", "networks", "hostname", "domainname", "dns", "dns_opt", "dns_search",
                "extra_hosts", "mac_address", "links")


def facts_of(app: dict) -> dict[str, Any]:
    """The app's port (its first published or exposed container port) and health path (a URL
    in its healthcheck), as far as the service says."""
    port = None
    for entry in [*(app.get("ports") or []), *(app.get("expose") or [])]:
        port = container_port(entry)
        if port:
            break
    test = app.get("healthcheck", {}).get("test") if isinstance(app.get("healthcheck"), dict) else None
    words = " ".join(test) if isinstance(test, list) else str(test or "")
    url = re.search(r"https?://[^/\s:'\"]+(?::(\d+))?(/[^\s'\"]*)?", words)
    if url and port is None and url.group(1):
        port = int(url.group(1))
    healthy = bool(test) and test != ["NONE"] and not app.get("healthcheck", {}).get("disable")
    return {"port": port, "health_path": url.group(2) if url and url.group(2) else None, "healthy": healthy,
            "user": str(app.get("user") or "")}


def container_port(entry: Any) -> int | None:
    if isinstance(entry, dict):
        target = entry.get("target")
        return int(target) if isinstance(target, int) or str(target).isdigit() else None
    text = str(entry).split("/")[0].rsplit(":", 1)[-1]
    return int(text) if text.isdigit() else None


def _retarget(entry: Any, port: int | None, proxy: int | None) -> Any:
    """A published port of the app, now published by the holder: to the proxy if one fronts it."""
    if proxy is None or container_port(entry) != port:
        return entry
    if isinstance(entry, dict):
        return {**entry, "target": proxy}
    head, _, protocol = str(entry).partition("/")
    parts = head.rsplit(":", 1)
    moved = f"{parts[0]}:{proxy}" if len(parts) == 2 else f"{proxy}"
    return moved + (f"/{protocol}" if protocol else "") if not isinstance(entry, int) else proxy


def wire(rendered: Rendered, catalog: Catalog, name: str, app: dict, facts: dict[str, Any]) -> dict[str, Any]:
    """The rendered services renamed for this service and wired to it."""
    document = rendered.document("compose.yaml")
    spec = rendered.spec
    rendered_app = document["services"][spec.app.name]
    holder_name = f"{name}-{NAMESPACE_HOLDER}"
    names = {c.name: f"{name}-{c.name}" for c in spec.sidecars}
    volume_names = {v: f"{name}-{v}" for v in document.get("volumes", {})}
    shared = _existing_log_source(app, spec.app.log_dir)
    config_prefix = f"./{CONFIG_DIR}/"
    proxy = None
    holder = dict(document["services"][NAMESPACE_HOLDER])
    published = [p for p in holder.pop("ports", [])]
    public = [int(str(p).split(":")[-1].split("/")[0]) for p in published]
    if public and spec.app.port not in public:
        proxy = public[0]
    for key in NETWORK_KEYS:
        if key in app:
            holder[key] = app[key]
    holder["networks"] = _aliased(app.get("networks"), name)
    if "ports" in holder:
        holder["ports"] = [_retarget(p, spec.app.port, proxy) for p in holder["ports"]]
    if "expose" in holder:
        holder["expose"] = [_retarget(p, spec.app.port, proxy) for p in holder["expose"]]
    services = {holder_name: _with_profiles(holder, app)}
    for sidecar in spec.sidecars:
        service = dict(document["services"][sidecar.name])
        service["network_mode"] = f"service:{holder_name}"
        condition = "service_healthy" if facts["healthy"] else "service_started"
        service["depends_on"] = {holder_name: {"condition": "service_started"}, name: {"condition": condition}}
        mounts = []
        for mount in service.get("volumes", []):
            mount = dict(mount)
            if mount["type"] == "bind" and mount["source"].startswith(config_prefix):
                mount["source"] = f"./{FILES_DIR}/{name}/" + mount["source"].removeprefix(config_prefix)
            elif mount["source"] == APP_LOGS and shared:
                mount.update(shared)
            else:
                mount["source"] = volume_names[mount["source"]]
            mounts.append(mount)
        if mounts:
            service["volumes"] = mounts
        services[names[sidecar.name]] = _with_profiles(service, app)
    used = {m["source"] for s in services.values() for m in s.get("volumes", []) if isinstance(m, dict)}
    volumes = {volume_names[v]: spec_ for v, spec_ in document.get("volumes", {}).items()
               if volume_names[v] in used}  # not the app's own scratch space (`new`'s /tmp)
    uid = facts["user"].split(":")[0]
    if f"{name}-{APP_LOGS}" in volumes and uid.isdigit():  # the app writes its logs as its own user
        options = volumes[f"{name}-{APP_LOGS}"]["driver_opts"]
        options["o"] = re.sub(r"uid=\d+", f"uid={uid}", options["o"])
    app_mounts = [] if shared else [{**m, "source": volume_names[m["source"]]} for m in rendered_app.get("volumes", [])
                                    if m["source"] == APP_LOGS]
    files = {f"{FILES_DIR}/{name}/" + path.removeprefix(f"{CONFIG_DIR}/"): data
             for path, data in rendered.files.items() if path.startswith(f"{CONFIG_DIR}/")}
    return {"holder_name": holder_name, "services": services, "volumes": volumes, "files": files,
            "env": rendered_app.get("environment", {}), "app_mounts": app_mounts, "proxy": proxy,
            "port": spec.app.port,
            # the ports the model gives each sidecar (Compose services joined to a namespace list none)
            "sidecar_ports": {p.number: names[c.name] for c in build_pod(spec, catalog).sidecars for p in c.ports}}


def _with_profiles(service: dict, app: dict) -> dict:
    # A holder or sidecar outside the app's profiles would start without it (or refuse to).
    return {**service, "profiles": list(app["profiles"])} if app.get("profiles") else service


def _aliased(networks: Any, name: str) -> dict[str, Any]:
    """The app's networks on the holder, each with the app's name as an alias, so the other
    services still reach it by name (now through the holder's namespace)."""
    if not networks:
        return {"default": {"aliases": [name]}}
    if isinstance(networks, list):
        return {n: {"aliases": [name]} for n in networks}
    result = {}
    for network, settings in networks.items():
        settings = dict(settings or {})
        settings["aliases"] = list(dict.fromkeys([*(settings.get("aliases") or []), name]))
        result[network] = settings
    return result


def _existing_log_source(app: dict, log_dir: str | None) -> dict[str, Any] | None:
    """The app already mounts something at its log folder: the log shipper reads that."""
    for mount in app.get("volumes") or []:
        if isinstance(mount, dict) and mount.get("target") == log_dir and mount.get("source"):
            return {"type": mount.get("type", "volume"), "source": mount["source"]}
        if isinstance(mount, str) and log_dir and mount.split(":")[1:2] == [log_dir]:
            source = mount.split(":")[0]
            return {"type": "bind" if source.startswith((".", "/", "~")) else "volume", "source": source}
    return None
