"""Kubernetes objects for the way in and for scaling: an Ingress or a Gateway API HTTPRoute
to the pod's public port, the NetworkPolicy rules that go with them, and an HPA."""

from __future__ import annotations

from typing import Any

from generator.model.pod import Pod

NAMESPACE_LABEL = "kubernetes.io/metadata.name"  # set by the API server on every namespace (1.22+)


def ingress_objects(pod: Pod, metadata: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """{file name in the base: [object]} for the answers' ingress (none without one)."""
    ingress, port = pod.ingress, pod.way_in
    if ingress is None or port is None:
        return {}
    if ingress.kind == "httproute":
        return {"httproute.yaml": [_http_route(pod, metadata, port.number)]}
    return {"ingress.yaml": [_ingress(pod, metadata, port.number)]}


def _ingress(pod: Pod, metadata: dict[str, Any], port: int) -> dict[str, Any]:
    ingress = pod.ingress
    # Prefix: /api also serves /api/orders, as most people expect of a path.
    path = {"path": ingress.path, "pathType": "Prefix",
            "backend": {"service": {"name": pod.name, "port": {"number": port}}}}
    spec: dict[str, Any] = {}
    if ingress.class_name:
        spec["ingressClassName"] = ingress.class_name
    if ingress.tls_secret:
        spec["tls"] = [{"hosts": [ingress.host], "secretName": ingress.tls_secret}]
    spec["rules"] = [{"host": ingress.host, "http": {"paths": [path]}}]
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": metadata, "spec": spec}


def _http_route(pod: Pod, metadata: dict[str, Any], port: int) -> dict[str, Any]:
    ingress = pod.ingress
    parent: dict[str, Any] = {"name": ingress.gateway}
    if ingress.gateway_namespace:  # else the route's own namespace (Gateway API's default)
        parent["namespace"] = ingress.gateway_namespace
    rule = {"matches": [{"path": {"type": "PathPrefix", "value": ingress.path}}],
            "backendRefs": [{"name": pod.name, "port": port}]}
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": metadata,
            "spec": {"parentRefs": [parent], "hostnames": [ingress.host], "rules": [rule]}}


def network_policy_rules(pod: Pod) -> list[dict[str, Any]]:
    """The NetworkPolicy's ingress rules. Without an ingress the public ports are open to
    everyone (the Service is the way in). With one, the way in is the ingress: its controller's
    namespace and the service's own namespace reach the public ports, other namespaces go
    through the ingress. A scraped metrics port stays open (Prometheus runs anywhere)."""
    public = list(pod.public_ports)
    scraped = [p for c in pod.containers for p in c.ports if p.scrape_path and not p.public]

    def ports(items) -> list[dict[str, Any]]:
        return [{"port": p.number, "protocol": p.protocol} for p in items]

    if pod.ingress is None:
        allowed = [p for c in pod.containers for p in c.ports if p.public or p.scrape_path]
        return [{"ports": ports(allowed)}] if allowed else []
    sources = [{"namespaceSelector": {"matchLabels": {NAMESPACE_LABEL: pod.ingress.controller_namespace}}},
               {"podSelector": {}}]  # the service's own namespace (a policy's podSelector is local)
    found = [{"from": sources, "ports": ports(public)}] if public else []
    return found + ([{"ports": ports(scraped)}] if scraped else [])


def autoscaler(pod: Pod, metadata: dict[str, Any]) -> list[dict[str, Any]]:
    """An HPA on average CPU use, in percent of the requests (every container has one, which
    the HPA needs: it sums the pod's containers, sidecars included)."""
    scaling = pod.autoscaling
    if scaling is None:
        return []
    return [{"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": metadata,
             "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": pod.name},
                      "minReplicas": scaling.min, "maxReplicas": scaling.max,
                      "metrics": [{"type": "Resource", "resource": {
                          "name": "cpu", "target": {"type": "Utilization",
                                                    "averageUtilization": scaling.cpu_percent}}}]}}]
