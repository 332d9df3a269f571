"""Inject into Kubernetes YAML: the rendered sidecars, their volumes and ConfigMaps, the app's
env and shared mounts, the checksum annotation and a Service's targetPort, patched into the
text of the one workload (and its Services); everything else passes through as it was."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from generator import rules
from generator.catalog.loader import Catalog
from generator.errors import SpecError
from generator.inject import record as rec
from generator.inject.derive import Ask, Rendered, Request, app_name, render
from generator.inject.kubernetes_undo import undo
from generator.inject.splice import Edits, Node, compose_all, detect_style, dig, get, items, scalar
from generator.inject.workload import (RUNS_TO_COMPLETION, Workload, all_ports, capability_of, find_container,
                                       find_workload, read_app)
from generator.model.pod import APP_LOGS
from generator.yamlio import dump, load_text


@dataclass(frozen=True, slots=True)
class Outcome:
    text: str
    summary: tuple[str, ...]
    files: dict[str, bytes] = field(default_factory=dict)  # beside the input (Compose config files)
    owned: dict[str, str] = field(default_factory=dict)  # files an earlier inject wrote there: path -> sha256


def inject(text: str, source: str, catalog: Catalog, request: Request, *, workload: str | None = None,
           container: str | None = None, remove: tuple[str, ...] = (), ask: Ask | None = None) -> Outcome:
    """The text with the requested sidecars in it (and those injected before), or without the
    removed ones. A second run with the same request returns the text unchanged."""
    load_text(text, source, SpecError, all_documents=True)  # bounds, duplicate keys
    # Worked on with a final newline (every edit is whole lines); a file without one gets none back.
    bare = not text.endswith("\n")
    outcome = _inject(text + "\n" if bare else text, source, catalog, request, workload, container, remove, ask)
    return Outcome(outcome.text[:-1], outcome.summary) if bare and outcome.text.endswith("\n") else outcome


def _inject(text: str, source: str, catalog: Catalog, request: Request, workload: str | None,
            container: str | None, remove: tuple[str, ...], ask: Ask | None) -> Outcome:
    chosen = find_workload(compose_all(text, source), workload, source)
    old = rec.decode(scalar(dig(chosen.document, "metadata", "annotations", rec.KEY)), chosen.ref)
    original, version = text, request.kubernetes_version
    if old is not None:
        original = undo(text, source, chosen.ref, old)
        container = container or old.get("container")
        version = version or old.get("kubernetes")
    kept, sets = rec.combine(old, request.sidecars, request.sets, remove, chosen.ref)
    if not kept:
        return Outcome(original, (f"{chosen.ref}: removed {', '.join(remove)}; the file is as it was before inject",))
    text, summary = _patch(original, source, catalog, Request(tuple(kept), tuple(sets), version),
                           chosen.ref, container, ask)
    return Outcome(text, tuple(summary))


@dataclass(frozen=True, slots=True)
class Prepared:
    """A workload checked and its sidecars rendered: what inject puts in, before any edit."""
    workload: Workload
    app: Node
    facts: Any
    parts: dict[str, Any]
    native: bool
    version: str
    used: Any  # the app's values the render used (its Spec's app)


def prepare(documents: list[Node | None], source: str, catalog: Catalog, request: Request, ref: str,
            container_name: str | None, ask: Ask | None) -> Prepared:
    workload = find_workload(documents, ref, source)
    if scalar(get(workload.pod_spec, "hostNetwork")) == "true":
        raise SpecError(f"{workload.ref}: hostNetwork: true; sidecars would open their ports on the node "
                        "and share it with every host-network pod, refused")
    app = find_container(workload, container_name, set())
    facts = read_app(workload, app)
    version = request.kubernetes_version or rules.DEFAULT_KUBERNETES_VERSION
    try:
        native = rules.native_sidecars(rules.kubernetes_version("--kubernetes-version", version))
    except rules.RuleError as exc:
        raise SpecError(exc.with_hint) from None
    if workload.kind in RUNS_TO_COMPLETION and not native:
        raise SpecError(f"{workload.ref}: below Kubernetes 1.29 a sidecar is an ordinary container and "
                        "would keep the Job from completing; use --kubernetes-version 1.29 or later")
    rendered = render({"name": app_name(workload.name), "image": facts.image, "port": facts.port,
                       "health_path": facts.health_path}, Request(request.sidecars, request.sets, version),
                      catalog, "kubernetes", ask)
    parts = _parts(rendered, catalog, workload, app, facts.group)
    _refuse_conflicts(workload, app, parts, catalog)
    return Prepared(workload, app, facts, parts, native, version, rendered.spec.app)


def read_from(prepared: Prepared) -> str:
    """The summary's first line: what the render took from the workload."""
    facts, used = prepared.facts, prepared.used
    return (f"{prepared.workload.ref}: app container {facts.container}, port {used.port}"
            f"{'' if facts.port else ' (no containerPort: default)'}, health path {used.health_path}"
            f"{'' if facts.health_path else ' (no httpGet probe: default)'}"
            + (f", group {facts.group}" if facts.group is not None else "")
            + " (--set app.FIELD=VALUE to change)")


def _patch(text: str, source: str, catalog: Catalog, request: Request, ref: str, container_name: str | None,
           ask: Ask | None) -> tuple[str, list[str]]:
    prepared = prepare(compose_all(text, source), source, catalog, request, ref, container_name, ask)
    workload, app, facts, parts, native, version = (prepared.workload, prepared.app, prepared.facts,
                                                    prepared.parts, prepared.native, prepared.version)
    pod = workload.pod_spec
    edits = Edits(text)
    edits.style = detect_style(edits, pod)
    key = "initContainers" if native else "containers"
    record: dict[str, Any] = {"sidecars": list(request.sidecars), "set": list(request.sets),
                              "container": facts.container, "kubernetes": version}
    record["containers"] = {"key": key, **_add_items(edits, pod, key, parts["sidecars"])}
    record["volumes"] = _add_items(edits, pod, "volumes", parts["volumes"])
    record["env"] = _add_items(edits, app, "env", parts["env"])
    record["mounts"] = _add_items(edits, app, "volumeMounts", parts["mounts"])
    record["services"], moved = move_target_ports(edits, text, compose_all(text, source), workload, facts,
                                                  parts["front_port"])
    record["configmaps"] = [cm["metadata"]["name"] for cm in parts["configmaps"]]
    if parts["configmaps"]:
        edits.append_text("".join(f"---\n{dump(cm)}" for cm in parts["configmaps"]))
    annotations = parts["annotations"]
    own = workload.template is workload.document  # a Pod: one metadata for both
    metadata = get(workload.template, "metadata")
    record["annotations_at"] = "annotations" if metadata is not None else "metadata"  # a Job's bare template
    record["annotations"] = (rec.plan_keys(text, metadata, "annotations", _with_record(annotations, own))
                             if metadata is not None else
                             {"created": True, "added": list(annotations), "replaced": {}})
    if not own:
        record["record"] = rec.plan_keys(text, get(workload.document, "metadata"), "annotations", {rec.KEY: ""})
    encoded = rec.encode(record)
    _apply_annotations(edits, workload, annotations, record, encoded, own)
    return edits.apply(), [read_from(prepared), *summary(workload, facts.container, parts, record, moved, native)]


def _with_record(annotations: dict[str, str], own: bool) -> dict[str, Any]:
    return {**annotations, rec.KEY: ""} if own else annotations


def _apply_annotations(edits: Edits, workload: Workload, annotations: dict[str, str], record: dict[str, Any],
                       encoded: str, own: bool) -> None:
    metadata = get(workload.template, "metadata")
    values = {**annotations, rec.KEY: encoded} if own else annotations
    if metadata is None:
        edits.add_key(workload.template, "metadata", {"annotations": values})
    else:
        rec.apply_keys(edits, metadata, "annotations", values, record["annotations"])
    if not own:
        rec.apply_keys(edits, get(workload.document, "metadata"), "annotations", {rec.KEY: encoded}, record["record"])


def _parts(rendered: Rendered, catalog: Catalog, workload: Workload, app: Node, group: int | None) -> dict[str, Any]:
    """The rendered pieces that go into the workload: the sidecar containers as `new` renders
    them, the volumes they use, what the app container gets (env, shared mounts), the pod
    template's annotations, the ConfigMaps, and the port a fronting proxy takes traffic on."""
    spec = rendered.spec
    template = rendered.document("k8s/deployment.yaml")["spec"]["template"]
    pod = template["spec"]
    names = {c.name for c in spec.sidecars}
    sidecars = [c for c in [*pod.get("initContainers", []), *pod["containers"]] if c["name"] in names]
    rendered_app = next(c for c in pod["containers"] if c["name"] == spec.app.name)
    # The app already mounts a volume at its log folder: the log shipper reads that one.
    shared = next((scalar(get(m, "name")) for m in items(get(app, "volumeMounts"))
                   if spec.app.log_dir and scalar(get(m, "mountPath")) == spec.app.log_dir), None)
    for sidecar in sidecars:
        for mount in sidecar.get("volumeMounts", []):
            if shared and mount["name"] == APP_LOGS:
                mount["name"] = shared
        if group is not None:  # files the app writes into shared volumes carry its group
            sidecar["securityContext"]["runAsGroup"] = group
    used = {m["name"] for c in sidecars for m in c.get("volumeMounts", [])}
    volumes = [v for v in pod["volumes"] if v["name"] in used]
    added = {v["name"] for v in volumes}
    service = rendered.document("k8s/service.yaml")
    public = [p["targetPort"] for p in (service or {}).get("spec", {}).get("ports", [])]
    configmaps = rendered.documents("k8s/configmaps.yaml")
    for cm in configmaps:
        if workload.namespace:
            cm["metadata"] = {"name": cm["metadata"]["name"], "namespace": workload.namespace,
                              "labels": cm["metadata"]["labels"]}
    return {
        "sidecars": sidecars, "volumes": volumes,
        "env": rendered_app.get("env", []),
        "mounts": [m for m in rendered_app.get("volumeMounts", []) if m["name"] in added],
        "annotations": template["metadata"]["annotations"],
        "configmaps": configmaps,
        "front_port": public[0] if public and spec.app.port not in public else None,
        "capabilities": {c.name: catalog.get(c.name).capability for c in spec.sidecars},
    }


def _refuse_conflicts(workload: Workload, app: Node, parts: dict[str, Any], catalog: Catalog) -> None:
    ref = workload.ref
    existing = [c for key in ("initContainers", "containers", "ephemeralContainers") for c in workload.containers(key)]
    taken = {scalar(get(c, "name")) for c in existing}
    for sidecar in parts["sidecars"]:
        if sidecar["name"] in taken:
            raise SpecError(f"{ref}: container name {sidecar['name']!r} is taken")
    volumes = {scalar(get(v, "name")) for v in items(get(workload.pod_spec, "volumes"))}
    volumes |= {scalar(dig(v, "metadata", "name")) for v in items(dig(workload.document, "spec", "volumeClaimTemplates"))}
    for volume in parts["volumes"]:
        if volume["name"] in volumes:
            raise SpecError(f"{ref}: volume name {volume['name']!r} is taken")
    ports = all_ports(workload)
    for sidecar in parts["sidecars"]:
        for port in sidecar.get("ports", []):
            if port["containerPort"] in ports:
                raise SpecError(f"{ref}: port {port['containerPort']} of sidecar {sidecar['name']!r} is in use "
                                f"by container {ports[port['containerPort']]!r}; pick another with "
                                f"--set sidecars.{sidecar['name']}.PARAM=PORT")
    images = {t.image.rsplit(":", 1)[0].split("@")[0]: t.capability for t in catalog.templates}
    for container in existing:
        capability = capability_of(scalar(get(container, "image")), images)
        for name, wanted in parts["capabilities"].items():
            if capability == wanted and container is not app:
                raise SpecError(f"{ref}: container {scalar(get(container, 'name'))!r} is already a {wanted} "
                                f"sidecar; {name!r} would be a second one")
    env = {scalar(get(e, "name")): e for e in items(get(app, "env"))}
    for entry in parts["env"]:
        if entry["name"] in env:
            raise SpecError(f"{ref}: container {scalar(get(app, 'name'))!r} already sets {entry['name']}; "
                            "the sidecar needs it set to " + repr(entry["value"]))


def _add_items(edits: Edits, parent: Node, key: str, values: list[Any]) -> dict[str, Any]:
    names = [v["name"] for v in values]
    if not values:
        return {"names": [], "created": False}
    node = get(parent, key)
    if node is None:
        edits.add_key(parent, key, values)
        return {"names": names, "created": True}
    if not isinstance(node, yaml.SequenceNode) or not node.value:
        raise SpecError(f"line {node.start_mark.line + 1}: {key}: is empty or not a list; write it as "
                        "a block list (or remove the line) to inject")
    for value in values:
        edits.append_item(node, value)
    return {"names": names, "created": False}


def move_target_ports(edits: Edits | None, text: str | None, documents: list[Node | None], workload: Workload,
                      facts, front: int | None) -> tuple[list[dict[str, Any]], list[str]]:
    """Services in the input that send the app's traffic to the app itself now send it to the
    proxy in front of it (numeric: named targetPorts on native sidecars were ignored before
    1.32, kubernetes#127958)."""
    if front is None:
        return [], []
    labels = _pairs(dig(workload.template, "metadata", "labels"))
    targets = {str(facts.port), facts.port_name} - {None}
    changed, moved = [], []
    for document in documents:
        if scalar(get(document, "kind")) != "Service" or scalar(dig(document, "metadata", "namespace")) != workload.namespace:
            continue
        pairs = _pairs(dig(document, "spec", "selector"))
        if not pairs or any(labels.get(k) != v for k, v in pairs.items()):
            continue
        name = scalar(dig(document, "metadata", "name"))
        for index, port in enumerate(items(dig(document, "spec", "ports"))):
            target = get(port, "targetPort")
            if scalar(target if target is not None else get(port, "port")) not in targets:
                continue
            old = text[target.start_mark.index:target.end_mark.index] if target is not None and text else None
            if edits is None:
                pass  # a kustomize patch says it instead (inject/kustomize.py)
            elif target is None:
                edits.add_key(port, "targetPort", front)
            else:
                edits.replace(target, str(front))
            changed.append({"name": name, "index": index, "old": old, "port": _int_or_text(scalar(get(port, "port")))})
            moved.append(f"Service/{name}: port {scalar(get(port, 'port'))} targetPort "
                         f"{scalar(target) if target is not None else '(unset)'} -> {front}")
    return changed, moved


def _int_or_text(value: str | None) -> Any:
    return int(value) if value is not None and value.isdigit() else value


def _pairs(node: Node | None) -> dict[str | None, str | None]:
    return {scalar(k): scalar(v) for k, v in node.value} if isinstance(node, yaml.MappingNode) else {}


def summary(workload: Workload, app: str, parts: dict[str, Any], record: dict[str, Any], moved: list[str],
             native: bool) -> list[str]:
    where = "initContainers, native sidecars" if native else "containers, classic sidecars"
    lines = [f"{workload.ref}: added {', '.join(s['name'] for s in parts['sidecars'])} ({where})"]
    if parts["volumes"]:
        lines.append(f"{workload.ref}: added volumes {', '.join(v['name'] for v in parts['volumes'])}")
    if record["configmaps"]:
        lines.append("added ConfigMaps " + ", ".join(record["configmaps"]) + " (new documents at the end)")
    lines.append("changes to the app's own fields:")
    for entry in parts["env"]:
        lines.append(f"  container {app}: env {entry['name']}={entry['value']} added")
    for mount in parts["mounts"]:
        lines.append(f"  container {app}: volumeMount {mount['name']} at {mount['mountPath']} added")
    plan = record["annotations"]
    for key in plan["added"]:
        if key != rec.KEY:
            lines.append(f"  pod template: annotation {key} added")
    for key in plan["replaced"]:
        lines.append(f"  pod template: annotation {key} replaced")
    lines += [f"  {line}" for line in moved]
    lines.append(f"  {workload.ref}: annotation {rec.KEY} records what was added (for --remove and re-runs)")
    return lines
