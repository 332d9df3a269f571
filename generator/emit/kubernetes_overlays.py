"""Kustomize overlays, one per environment: k8s/overlays/<env>/ with JSON patches (RFC 6902) on
the base for what that environment changes (replicas, the app's resources and environment,
the ingress host). Each patch is what the environment's own pod says, taken from the same
container_spec the base is written with, so base and overlay cannot disagree on a shape."""

from __future__ import annotations

from typing import Any

from generator.emit.kubernetes_containers import container_spec
from generator.emit.targets import KubernetesTarget
from generator.model.pod import Pod
from generator.output.fileset import FileSet
from generator.output.naming import K8S_BASE, overlay_dir
from generator.yamlio import dump

APP = "/spec/template/spec/containers/0"  # the app is always the first container


def emit_overlay(base: Pod, pod: Pod, environment: str, target: KubernetesTarget) -> FileSet:
    folder = overlay_dir(environment)
    patches = []
    files: FileSet = {}
    deployment = _deployment_ops(base, pod, target)
    if deployment:
        files[f"{folder}/deployment-patch.yaml"] = dump(deployment).encode()
        patches.append({"path": "deployment-patch.yaml", "target": {"kind": "Deployment", "name": base.name}})
    ingress = _ingress_ops(base, pod)
    if ingress:
        kind = "HTTPRoute" if pod.ingress.kind == "httproute" else "Ingress"
        files[f"{folder}/{kind.lower()}-patch.yaml"] = dump(ingress).encode()
        patches.append({"path": f"{kind.lower()}-patch.yaml", "target": {"kind": kind, "name": base.name}})
    # k8s/overlays/<env>/ -> k8s/base/
    kustomization: dict[str, Any] = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
                                     "resources": [f"../../{K8S_BASE.removeprefix('k8s/')}"]}
    if patches:
        kustomization["patches"] = patches
    files[f"{folder}/kustomization.yaml"] = dump(kustomization).encode()
    return files


def _deployment_ops(base: Pod, pod: Pod, target: KubernetesTarget) -> list[dict[str, Any]]:
    # "add" replaces a member that exists and creates one that does not (RFC 6902 4.1).
    ops = []
    if pod.replicas != base.replicas and pod.autoscaling is None:
        ops.append({"op": "add", "path": "/spec/replicas", "value": pod.replicas})
    before = container_spec(base.app, target, native_sidecar=False)
    after = container_spec(pod.app, target, native_sidecar=False)
    for key in ("resources", "env"):
        if after.get(key) != before.get(key):
            ops.append({"op": "add", "path": f"{APP}/{key}", "value": after.get(key, [])})
    return ops


def _ingress_ops(base: Pod, pod: Pod) -> list[dict[str, Any]]:
    if pod.ingress is None or base.ingress is None or pod.ingress.host == base.ingress.host:
        return []
    host = pod.ingress.host
    if pod.ingress.kind == "httproute":
        return [{"op": "replace", "path": "/spec/hostnames/0", "value": host}]
    ops = [{"op": "replace", "path": "/spec/rules/0/host", "value": host}]
    if pod.ingress.tls_secret:
        ops.append({"op": "replace", "path": "/spec/tls/0/hosts/0", "value": host})
    return ops
