"""kubernetes.ingress and kubernetes.autoscaling in the answers: the way in from outside the
cluster (an Ingress or a Gateway API HTTPRoute) and the HPA's bounds, parsed once."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from generator import rules
from generator.errors import SpecError
from generator.input.sidecars import known_keys, mapping

INGRESS_KINDS = ("ingress", "httproute")
INGRESS_KEYS = ("kind", "host", "path", "tls_secret", "class", "gateway", "controller_namespace")
# Where ingress-nginx, the most common controller, runs by default (its install manifests and
# chart): the NetworkPolicy lets that namespace in.
DEFAULT_CONTROLLER_NAMESPACE = "ingress-nginx"
AUTOSCALING_KEYS = ("min", "max", "cpu_percent")
# Ingress and HTTPRoute both take a DNS name, optionally with one leading wildcard label; no IP.
_HOST = re.compile(r"(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


@dataclass(frozen=True, slots=True)
class Ingress:
    kind: str  # ingress | httproute
    host: str
    path: str = "/"
    tls_secret: str | None = None  # Ingress only: HTTPRoute's TLS is the Gateway listener's
    class_name: str | None = None  # Ingress only: ingressClassName
    gateway: str | None = None  # HTTPRoute only: the parent Gateway's name ...
    gateway_namespace: str | None = None  # ... and namespace (None: the route's own)
    controller_namespace: str = DEFAULT_CONTROLLER_NAMESPACE  # let in by the NetworkPolicy

    def as_answer(self) -> dict[str, Any]:
        answer: dict[str, Any] = {"kind": self.kind, "host": self.host, "path": self.path}
        if self.tls_secret:
            answer["tls_secret"] = self.tls_secret
        if self.class_name:
            answer["class"] = self.class_name
        if self.gateway:
            answer["gateway"] = self.gateway + (f"/{self.gateway_namespace}" if self.gateway_namespace else "")
        answer["controller_namespace"] = self.controller_namespace
        return answer


@dataclass(frozen=True, slots=True)
class Autoscaling:
    min: int
    max: int
    cpu_percent: int

    def as_answer(self) -> dict[str, int]:
        return {"min": self.min, "max": self.max, "cpu_percent": self.cpu_percent}


def host(field: str, value: Any) -> str:
    # A numeric last label is an IP address (no top-level domain is all digits).
    if not isinstance(value, str) or not _HOST.fullmatch(value) or len(value) > 253 or "." not in value \
            or value.rsplit(".", 1)[-1].isdigit():
        raise SpecError(f"{field}: {rules.shown(value)} is not a host name (lower-case DNS name such as "
                        "orders.example.com, optionally *.example.com; no IP address)")
    return value


def ingress(raw: Any, namespace: str) -> Ingress | None:
    if raw is None:
        return None
    given = mapping("kubernetes.ingress", raw)
    known_keys("kubernetes.ingress", given, INGRESS_KEYS)
    kind = given.get("kind", "ingress")
    if kind not in INGRESS_KINDS:
        raise SpecError(f"kubernetes.ingress.kind: {rules.shown(kind)} is not one of {', '.join(INGRESS_KINDS)}")
    if "host" not in given:
        raise SpecError("kubernetes.ingress.host: is required (the name clients use, e.g. orders.example.com)")
    found: dict[str, Any] = {
        "kind": kind, "host": host("kubernetes.ingress.host", given["host"]),
        "path": rules.url_path("kubernetes.ingress.path", given.get("path", "/")),
    }
    if kind == "ingress":
        if "gateway" in given:
            raise SpecError("kubernetes.ingress.gateway: only for kind: httproute (an Ingress takes class)")
        if given.get("tls_secret") is not None:
            found["tls_secret"] = rules.object_name("kubernetes.ingress.tls_secret", given["tls_secret"])
        if given.get("class") is not None:
            found["class_name"] = rules.object_name("kubernetes.ingress.class", given["class"])
        default_controller = DEFAULT_CONTROLLER_NAMESPACE
    else:
        for key, why in (("class", "the Gateway has the class"),
                         ("tls_secret", "TLS ends at the Gateway's listener: give it certificateRefs there")):
            if key in given:
                raise SpecError(f"kubernetes.ingress.{key}: not for kind: httproute ({why})")
        found["gateway"], found["gateway_namespace"] = _gateway(given.get("gateway"))
        # Gateway implementations run their proxies beside the Gateway (Istio, Contour's
        # provisioner) or in a namespace of their own (Envoy Gateway): the Gateway's by default.
        default_controller = found["gateway_namespace"] or namespace
    found["controller_namespace"] = rules.dns_label("kubernetes.ingress.controller_namespace",
                                                    given.get("controller_namespace", default_controller))
    return Ingress(**found)


def _gateway(value: Any) -> tuple[str, str | None]:
    field = "kubernetes.ingress.gateway"
    if value is None:
        raise SpecError(f"{field}: is required for kind: httproute (NAME or NAME/NAMESPACE of the parent Gateway)")
    parts = value.split("/") if isinstance(value, str) else []
    if len(parts) not in (1, 2):
        raise SpecError(f"{field}: {rules.shown(value)} must be NAME or NAME/NAMESPACE")
    name = rules.object_name(field, parts[0])
    return name, rules.dns_label(field, parts[1]) if len(parts) == 2 else None


def autoscaling(raw: Any) -> Autoscaling | None:
    if raw is None:
        return None
    given = mapping("kubernetes.autoscaling", raw)
    known_keys("kubernetes.autoscaling", given, AUTOSCALING_KEYS)
    low = rules.replicas("kubernetes.autoscaling.min", given.get("min", 2))
    high = rules.replicas("kubernetes.autoscaling.max", given.get("max", max(low, 10)))
    if high < low:
        raise SpecError(f"kubernetes.autoscaling.max: {high} is below min {low}")
    cpu = given.get("cpu_percent", 70)
    if isinstance(cpu, bool) or not isinstance(cpu, int) or not 1 <= cpu <= 100:
        raise SpecError(f"kubernetes.autoscaling.cpu_percent: {rules.shown(cpu)} is not a whole number "
                        "from 1 to 100 (the average CPU use, in percent of the requests, the HPA aims at)")
    return Autoscaling(low, high, cpu)
