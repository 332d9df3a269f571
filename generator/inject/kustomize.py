"""Inject into a kustomize folder without editing its resources: the sidecars go into a
strategic-merge patch of the workload (and of the Services whose targetPort moves), their
config into configMapGenerator entries (kustomize then rolls the pods on a config change by
the generated names' hash), and kustomization.yaml gets those entries, nothing else."""

from __future__ import annotations

import hashlib
from pathlib import PurePosixPath
from typing import Any

import yaml

from generator.catalog.loader import Catalog
from generator.errors import SpecError
from generator.inject import record as rec
from generator.inject.derive import Ask, Request
from generator.inject.kubernetes import Outcome, Prepared, move_target_ports, prepare, read_from, summary
from generator.inject.splice import Edits, Node, compose_all, dig, get, items, scalar
from generator.inject.workload import POD_PATHS, find_workload
from generator.output.naming import config_key
from generator.yamlio import dump_all, load_text

NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
FILES_DIR = "sidecar-new"


def kustomization_name(names: list[str]) -> str | None:
    return next((n for n in NAMES if n in names), None)


def resources(text: str, source: str) -> list[str]:
    """The kustomization's local resource files (folders and URLs are not read)."""
    data = load_text(text, source, SpecError) or {}
    listed = [str(r) for r in (data.get("resources") or []) if isinstance(r, str)]
    return [r for r in listed if r.endswith((".yaml", ".yml")) and "://" not in r and not PurePosixPath(r).is_absolute()
            and ".." not in PurePosixPath(r).parts]


def inject(text: str, kustomization: str, resource_files: dict[str, str], patches: dict[str, str],
           catalog: Catalog, request: Request, *, workload: str | None = None, container: str | None = None,
           remove: tuple[str, ...] = (), ask: Ask | None = None) -> Outcome:
    """`text`: kustomization.yaml (named `kustomization`); `resource_files`: its resource files
    and `patches`: the sidecar-new-*.yaml files in the folder, by path. The Outcome's text is the
    new kustomization.yaml; its files, the patch and the config files to write beside it."""
    documents = []
    for path, body in resource_files.items():
        load_text(body, path, SpecError, all_documents=True)
        documents += compose_all(body, path)
    chosen = find_workload(documents, workload, kustomization)
    patch_path = f"{FILES_DIR}-{chosen.name}.yaml"
    old = _old_record(patches, patch_path, chosen.ref)
    original, owned, version = text, {}, request.kubernetes_version
    if old is not None:
        original = _undo(text, kustomization, old)
        owned = {patch_path: hashlib.sha256(patches[patch_path].encode()).hexdigest(), **old.get("files", {})}
        container = container or old.get("container")
        version = version or old.get("kubernetes")
    kept, sets = rec.combine(old, request.sidecars, request.sets, remove, chosen.ref)
    if not kept:
        return Outcome(original, (f"{chosen.ref}: removed {', '.join(remove)}; the folder is as it was before inject",),
                       {}, owned)
    request = Request(tuple(kept), tuple(sets), version)
    prepared = prepare(documents, kustomization, catalog, request, chosen.ref, container, ask)
    services, moved = move_target_ports(None, None, documents, prepared.workload, prepared.facts,
                                        prepared.parts["front_port"])
    config = _config_files(prepared, chosen.name)
    generators = [_generator(cm, chosen.name, prepared) for cm in prepared.parts["configmaps"]]
    record = {"sidecars": list(kept), "set": list(sets), "container": prepared.facts.container,
              "kubernetes": prepared.version,
              "files": {p: hashlib.sha256(d).hexdigest() for p, d in config.items()}}
    edits = Edits(original)
    root = compose_all(original, kustomization)[0]
    record["kustomization"] = {"patches": _append(edits, root, "patches", [{"path": patch_path}]),
                               "generators": _append(edits, root, "configMapGenerator", generators),
                               "patch": patch_path, "names": [g["name"] for g in generators]}
    patch = dump_all([_workload_patch(prepared, record), *_service_patches(documents, services, prepared)])
    lines = [read_from(prepared),
             *summary(prepared.workload, prepared.facts.container, prepared.parts,
                      {"configmaps": [], "annotations": {"added": list(prepared.parts["annotations"]), "replaced": {}}},
                      moved, prepared.native),
             f"{kustomization}: patches {patch_path} and configMapGenerator "
             f"{', '.join(record['kustomization']['names']) or 'nothing'} added; the resources are not edited"]
    return Outcome(edits.apply(), tuple(lines), {patch_path: patch.encode(), **config}, owned)


def _old_record(files: dict[str, str], patch_path: str, ref: str) -> dict[str, Any] | None:
    if patch_path not in files:
        return None
    for document in load_text(files[patch_path], patch_path, SpecError, all_documents=True):
        annotation = ((document or {}).get("metadata") or {}).get("annotations", {}).get(rec.KEY)
        if annotation is not None:
            return rec.decode(annotation, f"{patch_path}: {ref}")
    return None


def _undo(text: str, source: str, record: dict[str, Any]) -> str:
    """kustomization.yaml as it was: the entries inject added taken out."""
    root = compose_all(text, source)[0]
    edits = Edits(text)
    added = record.get("kustomization") or {}
    for key, part, match in (("patches", added.get("patches") or {}, lambda i: scalar(get(i, "path")) == added.get("patch")),
                             ("configMapGenerator", added.get("generators") or {},
                              lambda i: scalar(get(i, "name")) in added.get("names", []))):
        node = get(root, key)
        if node is None:
            continue
        if part.get("created"):
            edits.delete_key(root, key)
            continue
        for item in items(node):
            if match(item):
                edits.delete_item(item)
    return edits.apply()


def _append(edits: Edits, root: Node, key: str, values: list[dict[str, Any]]) -> dict[str, Any]:
    if not values:
        return {"created": False}
    node = get(root, key)
    if node is None:
        edits.add_key(root, key, values)
        return {"created": True}
    if not isinstance(node, yaml.SequenceNode) or not node.value:
        raise SpecError(f"line {node.start_mark.line + 1}: {key}: is empty or not a list; write it as a block "
                        "list (or remove the line) to inject")
    for value in values:
        edits.append_item(node, value)
    return {"created": False}


def _config_files(prepared: Prepared, workload: str) -> dict[str, bytes]:
    files = {}
    for cm in prepared.parts["configmaps"]:
        sidecar = _sidecar_of(cm, workload)
        for key, text in cm["data"].items():
            files[f"{FILES_DIR}/{workload}/{sidecar}/{key}"] = text.encode()
    return files


def _sidecar_of(cm: dict[str, Any], workload: str) -> str:
    from generator.output.naming import config_map_sidecar

    return config_map_sidecar(cm["metadata"]["labels"]["app.kubernetes.io/name"], cm["metadata"]["name"]) or "config"


def _generator(cm: dict[str, Any], workload: str, prepared: Prepared) -> dict[str, Any]:
    sidecar = _sidecar_of(cm, workload)
    entry: dict[str, Any] = {"name": cm["metadata"]["name"]}
    if prepared.workload.namespace:
        entry["namespace"] = prepared.workload.namespace
    entry["files"] = [f"{config_key(key)}={FILES_DIR}/{workload}/{sidecar}/{key}" for key in cm["data"]]
    return entry


def _workload_patch(prepared: Prepared, record: dict[str, Any]) -> dict[str, Any]:
    """A strategic-merge patch: lists of containers, volumes, env and mounts merge by name."""
    workload, parts = prepared.workload, prepared.parts
    pod: dict[str, Any] = {}
    app: dict[str, Any] = {"name": prepared.facts.container}
    if parts["env"]:
        app["env"] = parts["env"]
    if parts["mounts"]:
        app["volumeMounts"] = parts["mounts"]
    key = "initContainers" if prepared.native else "containers"
    pod[key] = parts["sidecars"]
    if len(app) > 1:
        pod["containers"] = [app, *pod.get("containers", [])]
    if parts["volumes"]:
        pod["volumes"] = parts["volumes"]
    template: dict[str, Any] = {"metadata": {"annotations": dict(parts["annotations"])}, "spec": pod}
    metadata: dict[str, Any] = {"name": workload.name}
    if workload.namespace:
        metadata["namespace"] = workload.namespace
    metadata["annotations"] = {rec.KEY: rec.encode(record)}
    document: dict[str, Any] = {"apiVersion": scalar(get(workload.document, "apiVersion")), "kind": workload.kind,
                                "metadata": metadata}
    if workload.kind == "Pod":
        metadata["annotations"].update(template["metadata"]["annotations"])
        document["spec"] = pod
        return document
    node = document
    path = POD_PATHS[workload.kind]
    for step in path[:-1]:
        node = node.setdefault(step, {})
    node[path[-1]] = template
    return document


def _service_patches(documents: list[Node | None], services: list[dict[str, Any]], prepared: Prepared
                     ) -> list[dict[str, Any]]:
    patches = []
    for service in services:
        document = next(d for d in documents if scalar(get(d, "kind")) == "Service"
                        and scalar(dig(d, "metadata", "name")) == service["name"])
        metadata = {"name": service["name"]}
        if scalar(dig(document, "metadata", "namespace")):
            metadata["namespace"] = scalar(dig(document, "metadata", "namespace"))
        patches.append({"apiVersion": "v1", "kind": "Service", "metadata": metadata,
                        "spec": {"ports": [{"port": service["port"], "targetPort": prepared.parts["front_port"]}]}})
    return patches
