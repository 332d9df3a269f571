"""Inject into a Compose file: the app service joins a namespace holder (as `new` renders
it), the rendered sidecar services join it too, and the app's own network settings move to
the holder. Names are the service's (`web-netns`, `web-envoy`, `web-app-logs`): one file may
hold several services with sidecars. Recorded under `x-sidecar-new.<service>`."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import yaml

from generator.catalog.loader import Catalog
from generator.errors import SpecError
from generator.inject import record as rec
from generator.inject.compose_wiring import NETWORK_KEYS, container_port, facts_of, wire
from generator.inject.derive import Ask, Request, app_name, render
from generator.inject.kubernetes import Outcome
from generator.inject.splice import Edits, Node, Style, compose_all, detect_style, get, scalar
from generator.yamlio import load_text

EXTENSION = "x-sidecar-new"


def is_compose(data: Any) -> bool:
    return isinstance(data, dict) and isinstance(data.get("services"), dict) and "kind" not in data


def inject(text: str, source: str, catalog: Catalog, request: Request, *, service: str | None = None,
           remove: tuple[str, ...] = (), ask: Ask | None = None) -> Outcome:
    data = load_text(text, source, SpecError)
    bare = not text.endswith("\n")
    outcome = _inject(text + "\n" if bare else text, data, source, catalog, request, service, remove, ask)
    if bare and outcome.text.endswith("\n"):
        return Outcome(outcome.text[:-1], outcome.summary, outcome.files, outcome.owned)
    return outcome


def _inject(text: str, data: dict, source: str, catalog: Catalog, request: Request, service: str | None,
            remove: tuple[str, ...], ask: Ask | None) -> Outcome:
    name = _pick(data, service, source)
    old = rec.decode(((data.get(EXTENSION) or {}) if isinstance(data.get(EXTENSION), dict) else {}).get(name),
                     f"{EXTENSION}.{name}")
    original, owned = text, {}
    if old is not None:
        original, owned = _undo(text, source, name, old), dict(old.get("files", {}))
    kept, sets = rec.combine(old, request.sidecars, request.sets, remove, f"service {name}")
    if not kept:
        return Outcome(original, (f"services.{name}: removed {', '.join(remove)}; the file is as it was before inject",),
                       {}, owned)
    patched, summary, files = _patch(original, source, catalog, Request(tuple(kept), tuple(sets)), name, ask)
    return Outcome(patched, tuple(summary), files, owned)


def _pick(data: dict, wanted: str | None, source: str) -> str:
    services = [s for s in data["services"]]
    if wanted:
        if wanted not in services:
            raise SpecError(f"--service {wanted}: not in {source} (services: {', '.join(services)})")
        return wanted
    joined = [s for s in services if not _is_ours(data, s)]
    if len(joined) != 1:
        raise SpecError(f"{source}: {len(joined)} services ({', '.join(joined)}); pick one with --service NAME")
    return joined[0]


def _is_ours(data: dict, service: str) -> bool:
    """A holder or sidecar service an earlier inject added (not a candidate app)."""
    for raw in (data.get(EXTENSION) or {}).values() if isinstance(data.get(EXTENSION), dict) else ():
        try:
            if service in json.loads(raw).get("services", []):
                return True
        except (ValueError, AttributeError):
            continue
    return False


def _patch(text: str, source: str, catalog: Catalog, request: Request, name: str, ask: Ask | None
           ) -> tuple[str, list[str], dict[str, bytes]]:
    data = load_text(text, source, SpecError)
    app = data["services"][name] or {}
    if not isinstance(app, dict):
        raise SpecError(f"services.{name}: is not a mapping")
    if app.get("network_mode"):
        raise SpecError(f"services.{name}: network_mode: {app['network_mode']}; sidecars join the app's "
                        "network namespace through a holder service, so the app cannot have one of its own")
    for other, spec in data["services"].items():
        if isinstance(spec, dict) and spec.get("network_mode") in (f"service:{name}", f"container:{name}"):
            raise SpecError(f"services.{other}: already joins {name}'s network namespace "
                            f"(network_mode: {spec['network_mode']}); inject would move it")
    facts = facts_of(app)
    rendered = render({"name": app_name(name), "image": app.get("image"), "port": facts["port"],
                       "health_path": facts["health_path"]}, request, catalog, "compose", ask)
    parts = wire(rendered, catalog, name, app, facts)
    _refuse_conflicts(data, name, app, parts)
    nodes = compose_all(text, source)[0]
    services_node = get(nodes, "services")
    app_node = get(services_node, name)
    if not isinstance(app_node, yaml.MappingNode) or any(scalar(k) == "<<" for k, _ in app_node.value):
        raise SpecError(f"services.{name}: uses a YAML merge key (<<); inject edits the service's own "
                        "lines: write the merged keys out first")
    edits = Edits(text)
    edits.style = _style(edits, services_node)
    # The app: its network settings go to the holder; it joins the holder's namespace.
    for key in NETWORK_KEYS:
        if key in app:
            edits.delete_key(app_node, key)
    edits.add_key(app_node, "network_mode", f"service:{parts['holder_name']}")
    _add_to(edits, app_node, app, "depends_on", {parts["holder_name"]: {"condition": "service_started"}})
    if parts["env"]:
        _add_to(edits, app_node, app, "environment", parts["env"])
    if parts["app_mounts"]:
        _add_to(edits, app_node, app, "volumes", parts["app_mounts"])
    for service_name, service in parts["services"].items():
        edits.add_key(services_node, service_name, service)
    volumes_created = False
    if parts["volumes"]:
        volumes_node = get(nodes, "volumes")
        if volumes_node is None:
            edits.add_key(nodes, "volumes", parts["volumes"])
            volumes_created = True
        elif isinstance(volumes_node, yaml.MappingNode) and volumes_node.value:
            for volume, spec in parts["volumes"].items():
                edits.add_key(volumes_node, volume, spec)
        else:
            raise SpecError(f"line {volumes_node.start_mark.line + 1}: volumes: is empty or not a block "
                            "mapping; write it as one (or remove the line) to inject")
    span = _span(edits, app_node)
    patched = edits.apply()
    # The app as inject leaves it, hashed: --remove puts the old lines back only over these.
    injected_app = load_text(patched, source, SpecError)["services"][name]
    record = {"sidecars": list(request.sidecars), "set": list(request.sets),
              "services": list(parts["services"]), "app_text": text[span[0]:span[1]],
              "app_hash": _hash(injected_app),
              "volumes": {"names": list(parts["volumes"]), "created": volumes_created},
              "files": {path: hashlib.sha256(data).hexdigest() for path, data in parts["files"].items()}}
    root = compose_all(patched, source)[0]
    edits = Edits(patched)
    edits.style = _style(edits, get(root, "services"))
    extension = get(root, EXTENSION)
    if extension is None:
        edits.add_key(root, EXTENSION, {name: rec.encode(record)})
    else:
        edits.add_key(extension, name, rec.encode(record))
    return edits.apply(), _summary(name, app, parts, facts), parts["files"]


def _refuse_conflicts(data: dict, name: str, app: dict, parts: dict[str, Any]) -> None:
    for service in parts["services"]:
        if service in data["services"]:
            raise SpecError(f"services.{service}: the name is taken (inject would add a service of that name)")
    for volume in parts["volumes"]:
        if volume in (data.get("volumes") or {}):
            raise SpecError(f"volumes.{volume}: the name is taken (inject would add a volume of that name)")
    used = {container_port(p) for p in [*(app.get("ports") or []), *(app.get("expose") or [])]} - {None}
    for number, owner in parts["sidecar_ports"].items():
        if number in used and number != parts["port"]:
            raise SpecError(f"services.{name}: port {number} of {owner} is in use by the app; pick another "
                            f"with --set sidecars.{owner.removeprefix(name + '-')}.PARAM=PORT")
    environment = app.get("environment") or {}
    present = (set(environment) if isinstance(environment, dict)
               else {str(e).split("=", 1)[0] for e in environment})
    for key in parts["env"]:
        if key in present:
            raise SpecError(f"services.{name}: already sets {key}; the sidecar needs it set to {parts['env'][key]!r}")


def _add_to(edits: Edits, node: Node, app: dict, key: str, additions: Any) -> None:
    """Entries added to one of the app's lists or mappings in the form it is written in."""
    current = app.get(key)
    target = get(node, key)
    if target is None:
        edits.add_key(node, key, additions)
        return
    if isinstance(current, list):
        if isinstance(additions, dict):
            additions = ([f"{k}={v}" for k, v in additions.items()] if key == "environment"
                         else list(additions))  # depends_on's short form: names
        for item in additions:
            edits.append_item(target, item)
    elif isinstance(current, dict) and isinstance(target, yaml.MappingNode) and target.value:
        for k, v in additions.items():
            edits.add_key(target, k, v)
    else:
        raise SpecError(f"line {target.start_mark.line + 1}: {key}: empty or in flow style; "
                        "write it in block style to inject")


def _hash(app: dict) -> str:
    return hashlib.sha256(json.dumps(app, sort_keys=True, default=str).encode()).hexdigest()


def _span(edits: Edits, node: Node) -> tuple[int, int]:
    """The app service's lines: its first key's line to its last value's line."""
    return edits.line_span(node)


def _style(edits: Edits, services: Node) -> Style:
    """The file's list indentation, read from its first service's first block list."""
    first = services.value[0][1] if isinstance(services, yaml.MappingNode) and services.value else None
    return detect_style(edits, first, None)


def _undo(text: str, source: str, name: str, record: dict[str, Any]) -> str:
    root = compose_all(text, source)[0]
    services = get(root, "services")
    app_node = get(services, name)
    edits = Edits(text)
    current = load_text(text, source, SpecError)["services"].get(name) or {}
    if _hash(current) != record.get("app_hash"):
        raise SpecError(f"services.{name}: changed since inject added its sidecars; inject cannot tell "
                        "your change from its own: take them out by hand")
    start, end = _span(edits, app_node)
    edits.replace_span(start, end, record["app_text"])
    for service in record.get("services", []):
        if get(services, service) is not None:
            edits.delete_key(services, service)
    volumes = record.get("volumes") or {}
    if volumes.get("created"):
        edits.delete_key(root, "volumes")
    else:
        for volume in volumes.get("names", []):
            if get(get(root, "volumes"), volume) is not None:
                edits.delete_key(get(root, "volumes"), volume)
    extension = get(root, EXTENSION)
    if extension is not None and [scalar(k) for k, _ in extension.value] == [name]:
        edits.delete_key(root, EXTENSION)
    elif extension is not None:
        edits.delete_key(extension, name)
    return edits.apply()


def _summary(name: str, app: dict, parts: dict[str, Any], facts: dict[str, Any]) -> list[str]:
    lines = [f"services.{name}: app port {parts['port']}"
             f"{'' if facts['port'] else ' (no ports or expose: default)'} (--set app.FIELD=VALUE to change)",
             f"added services {', '.join(parts['services'])}"]
    if parts["volumes"]:
        lines.append(f"added volumes {', '.join(parts['volumes'])}")
    if parts["files"]:
        lines.append(f"config files beside the compose file: {', '.join(parts['files'])}")
    lines.append("changes to the app's own fields:")
    moved = [k for k in NETWORK_KEYS if k in app]
    lines.append(f"  services.{name}: network_mode: service:{parts['holder_name']} added "
                 "(the holder owns the network namespace; it never restarts)")
    if moved:
        lines.append(f"  services.{name}: {', '.join(moved)} moved to {parts['holder_name']} "
                     f"(with the alias {name} on its networks)")
    if parts["proxy"]:
        lines.append(f"  published port {parts['port']} now goes to the proxy's {parts['proxy']}")
    lines.append(f"  services.{name}: depends_on {parts['holder_name']} added")
    for key, value in parts["env"].items():
        lines.append(f"  services.{name}: environment {key}={value} added")
    for mount in parts["app_mounts"]:
        lines.append(f"  services.{name}: volume {mount['source']} at {mount['target']} added")
    lines.append(f"  {EXTENSION}.{name} records what was added (for --remove and re-runs)")
    return lines
