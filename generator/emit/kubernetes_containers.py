"""Kubernetes container specs: probes, resources and the hardened security context."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from generator.emit.targets import KubernetesTarget
from generator.model.pod import Container, EnvSource, EnvVar, Probe, one_shot_name

# Answers spell the source kinds in snake case; the API's fields for each.
_KEY_REF = {"secret": "secretKeyRef", "config_map": "configMapKeyRef"}
_REF = {"secret": "secretRef", "config_map": "configMapRef"}


def security_context(container: Container) -> dict[str, Any]:
    # What checkov, kube-score and Polaris ask of every container, init containers included.
    return {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "privileged": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "runAsUser": container.run_as,
        "runAsGroup": container.group,  # one group for all: shared volumes via fsGroup
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_spec(container: Container, target: KubernetesTarget, native_sidecar: bool) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": container.name, "image": container.image,
                            "imagePullPolicy": "IfNotPresent"}
    if native_sidecar:
        spec["restartPolicy"] = "Always"  # makes an init container a sidecar (KEP-753)
    # kubelet expands $(NAME) in command and args as in env values: every $ doubled stays literal.
    if container.command:
        spec["command"] = [literal(word) for word in container.command]
    if container.args:
        spec["args"] = [literal(word) for word in container.args]
    if container.env:
        spec["env"] = [env_entry(var) for var in container.env]
    if container.env_from:
        spec["envFrom"] = [env_from_entry(source) for source in container.env_from]
    if container.ports:  # a sidecar nothing connects to has none (Vault Agent)
        spec["ports"] = [{"name": p.name, "containerPort": p.number, "protocol": p.protocol}
                         for p in container.ports]
    spec["resources"] = {"requests": dict(container.requests), "limits": dict(container.limits)}
    for key, probe in (("startupProbe", container.startup), ("readinessProbe", container.readiness),
                       ("livenessProbe", container.liveness)):
        if probe:
            spec[key] = _probe(probe)
    if container.pre_stop_sleep and target.prestop_sleep:
        spec["lifecycle"] = {"preStop": {"sleep": {"seconds": container.pre_stop_sleep}}}
    spec["securityContext"] = security_context(container)
    if container.mounts:
        spec["volumeMounts"] = [_mount(m.volume, m.path, m.read_only) for m in container.mounts]
    return spec


def literal(text: str) -> str:
    """kubelet expands $(NAME) in env values, command and args and reduces $$ to $ (Kubernetes
    "Define dependent environment variables"): with every $ doubled the text stays as written,
    as Compose's $$ keeps it there, so a value means the same in both targets."""
    return text.replace("$", "$$")


def env_entry(var: EnvVar) -> dict[str, Any]:
    source = var.source
    if source is None:
        return {"name": var.name, "value": literal(var.value)}
    return {"name": var.name, "valueFrom": {_KEY_REF[source.kind]: {"name": source.name, "key": source.key}}}


def env_from_entry(source: EnvSource) -> dict[str, Any]:
    return {_REF[source.kind]: {"name": source.name}}


def one_shot_spec(container: Container, target: KubernetesTarget) -> dict[str, Any]:
    """A sidecar's first step as a plain init container (below 1.29): its before_app args, its
    mounts and limits, no probes (the API refuses them on a plain init container)."""
    spec = container_spec(replace(container, name=one_shot_name(container.name), args=container.before_app_args,
                                  startup=None, readiness=None, liveness=None, pre_stop_sleep=0),
                          target, native_sidecar=False)
    return spec


def _probe(probe: Probe) -> dict[str, Any]:
    # Numeric ports: named ports on native sidecars were ignored before 1.32 (kubernetes#127958).
    action: dict[str, Any]
    if probe.command:
        action = {"exec": {"command": list(probe.command)}}
    elif probe.path:
        action = {"httpGet": {"path": probe.path, "port": probe.port}}
    else:
        action = {"tcpSocket": {"port": probe.port}}
    action.update(initialDelaySeconds=probe.initial_delay, periodSeconds=probe.period,
                  timeoutSeconds=probe.timeout, failureThreshold=probe.failures)
    return action


def _mount(volume: str, path: str, read_only: bool) -> dict[str, Any]:
    mount: dict[str, Any] = {"name": volume, "mountPath": path}
    if read_only:
        mount["readOnly"] = True
    return mount
