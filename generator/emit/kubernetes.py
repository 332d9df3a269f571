"""Kubernetes emitter: a kustomize base (one kind a file) from a Pod."""

from __future__ import annotations

from typing import Any

from generator.emit.kubernetes_containers import container_spec, one_shot_spec
from generator.emit.kubernetes_exposure import autoscaler, ingress_objects, network_policy_rules
from generator.emit.targets import KubernetesTarget
from generator.output.fileset import FileSet
from generator.output.naming import (K8S, CHECKSUM_ANNOTATION, MANAGED_BY_LABEL, NAME_LABEL, TOOL, checksum_of,
                                     config_key, config_map_name)
from generator.model.pod import Pod
from generator.yamlio import dump, dump_all


def labels(pod: Pod) -> dict[str, str]:
    return {**selector(pod), "app.kubernetes.io/component": "server",
            MANAGED_BY_LABEL: TOOL}


def selector(pod: Pod) -> dict[str, str]:
    return {NAME_LABEL: pod.name, "app.kubernetes.io/instance": pod.name}


def emit_kubernetes(pod: Pod, target: KubernetesTarget, base: str = K8S) -> FileSet:
    """The kustomize base, in `base` (k8s/, or k8s/base/ when overlays sit beside it: kustomize
    refuses an overlay inside its base, and k8s/kustomization.yaml then points at the base)."""
    documents = {
        "namespace.yaml": [_namespace(pod)] if pod.create_namespace else [],
        "serviceaccount.yaml": [_service_account(pod)],
        "configmaps.yaml": _config_maps(pod),
        "deployment.yaml": [_deployment(pod, target)],
        "service.yaml": [_service(pod)] if pod.public_ports else [],
        "networkpolicy.yaml": [_network_policy(pod)],
        "poddisruptionbudget.yaml": [_disruption_budget(pod)],
        "horizontalpodautoscaler.yaml": autoscaler(pod, _metadata(pod)),
        **ingress_objects(pod, _metadata(pod)),
    }
    files = {f"{base}/{name}": dump_all(docs).encode() for name, docs in documents.items() if docs}
    kustomization: dict[str, Any] = {"apiVersion": "kustomize.config.k8s.io/v1beta1",
                                     "kind": "Kustomization"}
    kustomization["namespace"] = pod.namespace
    kustomization["resources"] = [name for name, docs in documents.items() if docs]
    files[f"{base}/kustomization.yaml"] = dump(kustomization).encode()
    if base != K8S:
        files[f"{K8S}/kustomization.yaml"] = dump({
            "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
            "resources": [base.removeprefix(f"{K8S}/")]}).encode()
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
        "securityContext": {"runAsNonRoot": True, "runAsUser": pod.app.run_as, "runAsGroup": pod.app.group,
                            "fsGroup": pod.app.group, "seccompProfile": {"type": "RuntimeDefault"}},
        "terminationGracePeriodSeconds": pod.termination_grace,
    }
    if pod.image_pull_secrets:
        template_spec["imagePullSecrets"] = [{"name": name} for name in pod.image_pull_secrets]
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
            # With an HPA the replica count is its: a replicas field here would reset the
            # count on every `kubectl apply` (Kubernetes' HPA docs, "Migrating Deployments").
            **({} if pod.autoscaling else {"replicas": pod.replicas}),
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
    spec: dict[str, Any] = {"podSelector": {"matchLabels": selector(pod)}, "policyTypes": ["Ingress"]}
    spec["ingress"] = network_policy_rules(pod)
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": _metadata(pod),
            "spec": spec}


def _disruption_budget(pod: Pod) -> dict[str, Any]:
    # maxUnavailable rather than minAvailable: a single replica must not block node drains, and
    # with an HPA it follows the replica count (a minAvailable equal to the HPA's minimum would
    # block every eviction while it runs at the minimum; Kubernetes' "Specifying a Disruption
    # Budget": maxUnavailable suits workloads whose replica count changes).
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": _metadata(pod),
            "spec": {"maxUnavailable": 1, "selector": {"matchLabels": selector(pod)}}}
