"""The way in from outside the cluster (Ingress or Gateway API HTTPRoute) and autoscaling (an
HPA): objects pointing at the public port, the NetworkPolicy opened for the controller, the
Deployment's replicas left to the HPA, and every object passing the real schemas."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from conftest import FULL_ANSWERS
from generator.input.spec import parse_spec
from generator.pipeline import build
from generator.tools.check import check_folder, check_kubernetes

INGRESS = {"kind": "ingress", "host": "orders.example.com", "path": "/", "tls_secret": "orders-tls", "class": "nginx"}
ROUTE = {"kind": "httproute", "host": "orders.example.com", "path": "/api", "gateway": "public/gateways"}


def answers_with(sidecars=None, **kubernetes: object) -> dict:
    answers = copy.deepcopy(FULL_ANSWERS)
    answers["kubernetes"].update(kubernetes)
    if sidecars is not None:
        answers["sidecars"] = sidecars
    return answers


def rendered(catalog, answers: dict) -> dict[str, bytes]:
    return dict(build(parse_spec(answers, catalog), catalog))


def write(files: dict[str, bytes], dest: Path) -> Path:
    for path, data in files.items():
        (dest / path).parent.mkdir(parents=True, exist_ok=True)
        (dest / path).write_bytes(data)
    return dest


def test_an_ingress_points_at_the_proxy_that_fronts_the_app(builtin_catalog) -> None:
    files = rendered(builtin_catalog, answers_with(ingress=INGRESS))
    ingress = yaml.safe_load(files["k8s/ingress.yaml"])
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert ingress["spec"]["tls"] == [{"hosts": ["orders.example.com"], "secretName": "orders-tls"}]
    [path] = ingress["spec"]["rules"][0]["http"]["paths"]
    assert path == {"path": "/", "pathType": "Prefix",
                    "backend": {"service": {"name": "orders-api", "port": {"number": 10000}}}}  # envoy's
    assert "ingress.yaml" in yaml.safe_load(files["k8s/kustomization.yaml"])["resources"]


def test_without_a_proxy_the_ingress_points_at_the_app(builtin_catalog) -> None:
    files = rendered(builtin_catalog, answers_with(sidecars=["metrics"], ingress={"host": "orders.example.com"}))
    ingress = yaml.safe_load(files["k8s/ingress.yaml"])
    assert "ingressClassName" not in ingress["spec"] and "tls" not in ingress["spec"]
    assert ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["port"] == {"number": 8080}


def test_an_httproute_attaches_to_its_gateway_and_points_at_the_public_port(builtin_catalog) -> None:
    files = rendered(builtin_catalog, answers_with(ingress=ROUTE))
    route = yaml.safe_load(files["k8s/httproute.yaml"])
    assert route["apiVersion"] == "gateway.networking.k8s.io/v1"
    assert route["spec"] == {"parentRefs": [{"name": "public", "namespace": "gateways"}],
                             "hostnames": ["orders.example.com"],
                             "rules": [{"matches": [{"path": {"type": "PathPrefix", "value": "/api"}}],
                                        "backendRefs": [{"name": "orders-api", "port": 10000}]}]}
    assert "k8s/ingress.yaml" not in files


def test_the_network_policy_lets_the_controller_in_and_keeps_scraping_open(builtin_catalog) -> None:
    files = rendered(builtin_catalog, answers_with(ingress=INGRESS))
    rules = yaml.safe_load(files["k8s/networkpolicy.yaml"])["spec"]["ingress"]
    assert rules == [
        {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}},
                  {"podSelector": {}}],
         "ports": [{"port": 10000, "protocol": "TCP"}]},
        {"ports": [{"port": 9102, "protocol": "TCP"}]},  # Prometheus scrapes the metrics sidecar
    ]


@pytest.mark.parametrize("ingress,namespace", [
    (ROUTE, "gateways"),  # the Gateway's namespace
    ({**ROUTE, "gateway": "public"}, "orders"),  # a Gateway beside the route
    ({**ROUTE, "controller_namespace": "envoy-gateway-system"}, "envoy-gateway-system"),
    ({**INGRESS, "controller_namespace": "traefik"}, "traefik"),
])
def test_the_controller_namespace_defaults_sensibly_and_can_be_set(ingress, namespace: str, builtin_catalog) -> None:
    files = rendered(builtin_catalog, answers_with(ingress=ingress))
    rules = yaml.safe_load(files["k8s/networkpolicy.yaml"])["spec"]["ingress"]
    assert rules[0]["from"][0]["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": namespace}


def test_autoscaling_adds_an_hpa_and_leaves_the_replica_count_to_it(builtin_catalog) -> None:
    files = rendered(builtin_catalog, answers_with(autoscaling={"min": 3, "max": 12, "cpu_percent": 65}))
    hpa = yaml.safe_load(files["k8s/horizontalpodautoscaler.yaml"])
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "orders-api"}
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (3, 12)
    assert hpa["spec"]["metrics"][0]["resource"]["target"] == {"type": "Utilization", "averageUtilization": 65}
    assert "replicas" not in yaml.safe_load(files["k8s/deployment.yaml"])["spec"]
    # A PDB that follows the count: never minAvailable = min, which blocks every eviction at the minimum.
    assert yaml.safe_load(files["k8s/poddisruptionbudget.yaml"])["spec"]["maxUnavailable"] == 1
    assert "3 to 12 replicas (HPA at 65% CPU)" in files["README.md"].decode()


def test_autoscaling_defaults(builtin_catalog) -> None:
    spec = parse_spec(answers_with(autoscaling={}), builtin_catalog)
    assert (spec.autoscaling.min, spec.autoscaling.max, spec.autoscaling.cpu_percent) == (2, 10, 70)


def test_without_ingress_or_autoscaling_nothing_changes(builtin_catalog) -> None:
    files = rendered(builtin_catalog, answers_with())
    assert not {"k8s/ingress.yaml", "k8s/httproute.yaml", "k8s/horizontalpodautoscaler.yaml"} & set(files)
    assert yaml.safe_load(files["k8s/deployment.yaml"])["spec"]["replicas"] == 2


def test_the_record_replays_ingress_and_autoscaling(builtin_catalog) -> None:
    files = rendered(builtin_catalog, answers_with(ingress=ROUTE, autoscaling={"min": 2, "max": 4}))
    record = yaml.safe_load(files[".sidecar-new.yaml"])
    assert record["kubernetes"]["ingress"] == {**ROUTE, "controller_namespace": "gateways"}
    assert record["kubernetes"]["autoscaling"] == {"min": 2, "max": 4, "cpu_percent": 70}
    replayed = {k: v for k, v in record.items() if k not in ("generated_by", "files")}
    assert rendered(builtin_catalog, replayed) == files


@pytest.mark.parametrize("version", ["1.28", "1.33"])
@pytest.mark.parametrize("ingress", [INGRESS, ROUTE], ids=["ingress", "httproute"])
def test_ingress_and_hpa_pass_the_real_validators(ingress, version: str, builtin_catalog, tmp_path: Path) -> None:
    answers = answers_with(ingress=ingress, autoscaling={"min": 2, "max": 10, "cpu_percent": 70}, version=version)
    assert check_folder(write(rendered(builtin_catalog, answers), tmp_path)) == []


def test_the_httproute_is_checked_against_the_gateway_api_schema(builtin_catalog, tmp_path: Path) -> None:
    """kubernetes-validate knows no CRD (it would only warn): a broken HTTPRoute is refused by
    the vendored CRD schema."""
    folder = write(rendered(builtin_catalog, answers_with(ingress=ROUTE)), tmp_path)
    path = folder / "k8s" / "httproute.yaml"
    route = yaml.safe_load(path.read_text())
    route["spec"]["rules"][0]["backendRefs"][0]["port"] = "ten thousand"
    route["spec"]["parentRef"] = route["spec"].pop("parentRefs")
    path.write_text(yaml.safe_dump(route))
    problems = check_kubernetes(folder / "k8s", "1.33")
    assert any("HTTPRoute CRD's schema: spec: Additional properties are not allowed ('parentRef' was unexpected)" in p
               for p in problems), problems
    assert any("spec.rules.0.backendRefs.0.port: 'ten thousand' is not of type 'integer'" in p for p in problems)
