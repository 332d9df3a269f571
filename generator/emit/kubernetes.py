"""Kubernetes emitter: a kustomize base (one kind a file) from a Pod."""

from __future__ import annotations

from typing import Any

from generator.emit.kubernetes_containers import container_spec, one_shot_spec
from generator.emit.targets import KubernetesTarget
from generator.output.fileset import FileSet
from generator.output.naming import (CHECKSUM_ANNOTATION, MANAGED_BY_LABEL, NAME_LABEL, TOOL, checksum_of,
                                     config_key, config_map_name)
from generator.model.pod import APP_USER, Pod
from generator.yamlio import dump, dump_all


def labels(pod: Pod) -> dict[str, str]:
    return {**selector(pod), "app.kubernetes.io/component": "server",
            MANAGED_BY_LABEL: TOOL}


def selector(pod: Pod) -> dict[str, str]:
    return {NAME_LABEL: pod.name, "app.kubernetes.io/instance": pod.name}


def emit_kubernetes(pod: Pod, target: KubernetesTarget) -> FileSet:
    documents = {
        "k8s/namespace.yaml": [_namespace(pod)] if pod.create_namespace else [],
        "k8s/serviceaccount.yaml": [_service_account(pod)],
        "k8s/configmaps.yaml": _config_maps(pod),
        "k8s/deployment.yaml": [_deployment(pod, target)],
        "k8s/service.yaml": [_service(pod)] if pod.public_ports else [],
        "k8s/networkpolicy.yaml": [_network_policy(pod)],
        "k8s/poddisruptionbudget.yaml": [_disruption_budget(pod)],
    }
    files = {path: dump_all(docs).encode() for path, docs in documents.items() if docs}
    kustomization: dict[str, Any] = {"apiVersion": "kustomize.config.k8s.io/v1beta1",
                                     "kind": "Kustomization"}
    kustomization["namespace"] = pod.namespace
    kustomization["resources"] = [path.removeprefix("k8s/") for path in files]
    files["k8s/kustomization.yaml"] = dump(kustomization).encode()
    return files


def _metadata(pod: Pod, name: str | None = None) -> dict[str, Any]:
    return {"name": name or pod.name, "labels": labels(pod)}


def _namespace(pod: Pod) -> dict[str, Any]:
    # Every container is hardened, so the namespace can enforce the restricted Pod Security
    # Standard: anything added later that is not gets refused at admission.
    security = {f"pod-security.kubernetes.io/{mode}": "restricted" for mode in ("enforce", "warn", "audit")}
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": pod.namespace, "labels": {**labels(pod), **security}}}


def _service_account(pod: Pod) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _metadata(pod),
            "automountServiceAccountToken": False}


def _config_maps(pod: Pod) -> list[dict[str, Any]]:
    maps = []
    for sidecar, files in _files_by_sidecar(pod).items():
        data = {config_key(f.path): f.text for f in files}
        maps.append({"apiVersion": "v1", "kind": "ConfigMap",
                     "metadata": _metadata(pod, config_map_name(pod.name, sidecar)), "data": data})
    return maps


def _files_by_sidecar(pod: Pod) -> dict[str, list]:
    """Config files grouped by sidecar in render order, in one pass (a scan per sidecar or per
    volume made the render quadratic in the number of sidecars)."""
    grouped: dict[str, list] = {}
    for f in pod.config_files:
        grouped.setdefault(f.sidecar, []).append(f)
    return grouped


def config_checksum(pod: Pod) -> str:
    return checksum_of((f.sidecar, f.path, f.text) for f in pod.config_files)


def pod_volume(pod: Pod, volume, files_by_sidecar: dict[str, list]) -> dict[str, Any]:
    if volume.secret is not None:
        return {"name": volume.name, "secret": {
            "secretName": volume.secret.name, "defaultMode": volume.secret.mode,
            # Only the keys the sidecar reads; a missing key fails the pod's start with its name.
            "items": [{"key": key, "path": key} for key in volume.secret.keys]}}
    if volume.token is not None:
        # A token for one audience, rotated by kubelet, in one container: the pod-wide automount
        # stays off, so no other container holds an API credential.
        return {"name": volume.name, "projected": {"defaultMode": 0o440, "sources": [{"serviceAccountToken": {
            "audience": volume.token.audience, "expirationSeconds": volume.token.expiration,
            "path": volume.token.file}}]}}
    if volume.config_of is None:
        empty_dir = {"medium": "Memory", "sizeLimit": volume.size} if volume.in_memory else {"sizeLimit": volume.size}
        return {"name": volume.name, "emptyDir": empty_dir}
    items = [{"key": config_key(f.path), "path": f.path} for f in files_by_sidecar.get(volume.config_of, [])]
    source: dict[str, Any] = {"name": config_map_name(pod.name, volume.config_of)}
    if any("/" in item["path"] for item in items):
        source["items"] = items
    return {"name": volume.name, "configMap": source}


def _annotations(pod: Pod) -> dict[str, str]:
    annotations = {CHECKSUM_ANNOTATION: config_checksum(pod)}
    scraped = next((p for c in pod.containers for p in c.ports if p.scrape_path), None)
    if scraped:  # the common prometheus.io convention can name one port per pod
        annotations.update({"prometheus.io/scrape": "true", "prometheus.io/port": str(scraped.number),
                            "prometheus.io/path": scraped.scrape_path})
    return annotations


def _deployment(pod: Pod, target: KubernetesTarget) -> dict[str, Any]:
    native = target.native_sidecars
    sidecars = [container_spec(c, target, native_sidecar=native) for c in pod.sidecars]
    # Below 1.29 a sidecar's first step (before_app) runs as a plain init container that must
    # finish before the app starts; 1.29+ waits on the native sidecar's startup probe instead.
    first_steps = [] if native else [one_shot_spec(c, target) for c in pod.sidecars if c.before_app_args]
    template_spec: dict[str, Any] = {
        "serviceAccountName": pod.name,
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": {"runAsNonRoot": True, "runAsUser": APP_USER, "runAsGroup": APP_USER,
                            "fsGroup": APP_USER, "seccompProfile": {"type": "RuntimeDefault"}},
        "terminationGracePeriodSeconds": pod.termination_grace,
    }
    if native and sidecars:
        template_spec["initContainers"] = sidecars
    elif first_steps:
        template_spec["initContainers"] = first_steps
    template_spec["containers"] = [container_spec(pod.app, target, native_sidecar=False)]
    if not native:
        template_spec["containers"] += sidecars
    files_by_sidecar = _files_by_sidecar(pod)
    template_spec["volumes"] = [pod_volume(pod, v, files_by_sidecar) for v in pod.volumes]
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": _metadata(pod),
        "spec": {
            "replicas": pod.replicas,
            "revisionHistoryLimit": 5,
            "selector": {"matchLabels": selector(pod)},
            # Surge first: a rollout never drops below the wanted number of ready pods.
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {"metadata": {"labels": labels(pod), "annotations": _annotations(pod)},
                         "spec": template_spec},
        },
    }


def _service(pod: Pod) -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Service", "metadata": _metadata(pod),
        "spec": {"type": "ClusterIP", "selector": selector(pod),
                 "ports": [{"name": p.name, "port": p.number, "targetPort": p.number,
                            "protocol": p.protocol} for p in pod.public_ports]},
    }


def _network_policy(pod: Pod) -> dict[str, Any]:
    # Only the way in (public ports) and metrics scraping; admin and app ports stay closed.
    allowed = [p for c in pod.containers for p in c.ports if p.public or p.scrape_path]
    spec: dict[str, Any] = {"podSelector": {"matchLabels": selector(pod)}, "policyTypes": ["Ingress"]}
    spec["ingress"] = ([{"ports": [{"port": p.number, "protocol": p.protocol} for p in allowed]}]
                       if allowed else [])
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": _metadata(pod),
            "spec": spec}


def _disruption_budget(pod: Pod) -> dict[str, Any]:
    # maxUnavailable rather than minAvailable: a single replica must not block node drains.
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": _metadata(pod),
            "spec": {"maxUnavailable": 1, "selector": {"matchLabels": selector(pod)}}}
