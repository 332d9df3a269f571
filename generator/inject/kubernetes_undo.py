"""Taking an injection out of Kubernetes YAML: from what the record on the workload says was
added, the text as it was before (whole lines deleted, replaced values put back)."""

from __future__ import annotations

from typing import Any

from generator.inject import record as rec
from generator.inject.splice import Edits, Node, compose_all, dig, get, items, named, scalar
from generator.inject.workload import find_workload


def undo(text: str, source: str, ref: str, record: dict[str, Any]) -> str:
    """The text as it was before inject, from what the record says was added."""
    documents = compose_all(text, source)
    workload = find_workload(documents, ref, source)
    pod, edits = workload.pod_spec, Edits(text)
    for key, app_key in (("containers", None), ("volumes", None), ("env", "env"), ("mounts", "volumeMounts")):
        part = record.get(key) or {}
        parent = pod if app_key is None else named(get(pod, "containers"), record.get("container"))
        section = part.get("key", key) if app_key is None else app_key
        if parent is None or get(parent, section) is None:
            continue
        if part.get("created"):
            edits.delete_key(parent, section)
            continue
        for name in part.get("names", []):
            found = named(get(parent, section), name)
            if found is not None:
                edits.delete_item(found)
    own = workload.template is workload.document
    parent, section = ((workload.template, "metadata") if record.get("annotations_at") == "metadata"
                       else (get(workload.template, "metadata"), "annotations"))
    rec.undo_keys(edits, parent, section, record["annotations"])
    if not own and record.get("record"):
        rec.undo_keys(edits, get(workload.document, "metadata"), "annotations", record["record"])
    for service in record.get("services", []):
        document = next((d for d in documents if scalar(get(d, "kind")) == "Service"
                         and scalar(dig(d, "metadata", "name")) == service["name"]), None)
        ports = items(dig(document, "spec", "ports"))
        if service["index"] < len(ports):
            port = ports[service["index"]]
            if service["old"] is None:
                edits.delete_key(port, "targetPort")
            elif get(port, "targetPort") is not None:
                edits.replace(get(port, "targetPort"), service["old"])
    for document in documents:
        if scalar(get(document, "kind")) == "ConfigMap" and scalar(dig(document, "metadata", "name")) in record.get("configmaps", []):
            start = text.rfind("---", 0, document.start_mark.index)
            edits.delete_span(start, _document_end(text, document))
    result = edits.apply()
    return result


def _document_end(text: str, document: Node) -> int:
    found = text.find("\n---", document.start_mark.index)
    return len(text) if found < 0 else found + 1
