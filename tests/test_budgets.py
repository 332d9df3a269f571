"""The pod's budgets add up by construction, on several answer sets and on a team catalog's
template: ephemeral-storage limits cover the emptyDirs, Compose memory limits hold the tmpfs
a container writes, buffer caps stay below their volume, worker threads follow the CPU limit."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from conftest import FULL_ANSWERS, build_file_tree
from generator.catalog.loader import load_catalog
from generator.input.spec import parse_spec
from generator.model import budget
from generator.pipeline import build
from generator.tools.check import lint_compose, lint_pod_specs

MiB = 2 ** 20

# A team catalog's template that writes a sized cache and caps its own use of it, with its CPU
# limit and cache size as parameters.
TEAM = {
    "catalog.yaml": """\
        name: team
        version: "1.0.0"
        templates:
          - name: cacher
            capability: cache
            summary: Caches next to the app
            image: registry.example.com/platform/cacher:2.0.0
            path: templates/cacher
        """,
    "templates/cacher/sidecar.yaml": """\
        params:
          cache_size: {type: str, default: 100Mi, help: Size of the cache volume}
          cpu_limit: {type: str, default: 1500m, help: CPU limit}
        run_as: 10001
        args: [--workers, "{{ cpu_workers }}"]
        ports:
          - {name: cacher, port: 9500}
        volumes:
          - {name: cache, path: /var/cache/cacher, size: "{{ cache_size }}"}
          - {name: tmp, path: /tmp, size: 8Mi}
        config_dir: /etc/cacher
        probes:
          readiness: {port: 9500, path: /ready}
          liveness: {port: 9500, path: /healthz}
        resources:
          requests: {cpu: 10m, memory: 32Mi, ephemeral-storage: 8Mi}
          limits: {cpu: "{{ cpu_limit }}", memory: 64Mi, ephemeral-storage: 16Mi}
        """,
    "templates/cacher/files/cacher.conf.j2": ("max_bytes {{ volume_bytes.cache * 9 // 10 }}\n"
                                             "heap_bytes {{ memory_bytes * 8 // 10 }}\n"),
}


@pytest.fixture(scope="module")
def team_catalog(tmp_path_factory):
    return load_catalog(build_file_tree(tmp_path_factory.mktemp("team"), TEAM))


def answers_with(sidecars: list, log_dir: bool = True) -> dict:
    answers = copy.deepcopy(FULL_ANSWERS)
    answers["sidecars"] = sidecars
    if not log_dir:
        answers["app"].pop("log_dir")
    return answers


def render(catalog, answers: dict) -> dict[str, str]:
    return {k: v.decode() for k, v in build(parse_spec(answers, catalog), catalog).items()}


def pod_spec(files: dict[str, str]) -> dict:
    return yaml.safe_load(files["k8s/deployment.yaml"])["spec"]["template"]["spec"]


def size(value: str) -> int:
    return budget.size_bytes(value)


BUILTIN_SETS = {
    "all sidecars": answers_with(["fluentd", "envoy", "metrics"]),
    "log shipper forwarding": answers_with([{"name": "fluentd", "params": {"forward_host": "logs.example.com"}}]),
    "proxy only": answers_with(["envoy"], log_dir=False),
    "no sidecars": answers_with([], log_dir=False),
}


@pytest.mark.parametrize("case", BUILTIN_SETS)
def test_ephemeral_storage_limits_cover_every_emptydir(builtin_catalog, case: str) -> None:
    files = render(builtin_catalog, BUILTIN_SETS[case])
    spec = pod_spec(files)
    containers = spec.get("initContainers", []) + spec["containers"]
    limits = sum(size(c["resources"]["limits"]["ephemeral-storage"]) for c in containers)
    volumes = sum(size(v["emptyDir"]["sizeLimit"]) for v in spec["volumes"] if "emptyDir" in v)
    assert limits > volumes
    assert list(lint_pod_specs([yaml.safe_load(files["k8s/deployment.yaml"])])) == []


def test_each_container_is_charged_with_the_emptydirs_it_writes(builtin_catalog) -> None:
    spec = pod_spec(render(builtin_catalog, BUILTIN_SETS["all sidecars"]))
    limits = {c["name"]: c["resources"]["limits"]["ephemeral-storage"]
              for c in spec["initContainers"] + spec["containers"]}
    # own (the template's or the app's) + the volumes it writes; the shipper only reads app-logs.
    assert limits == {"orders-api": f"{256 + 64 + 256}Mi", "fluentd": f"{64 + 16 + 256 + 16}Mi",
                      "metrics": "32Mi", "envoy": "64Mi"}
    assert sum(size(v) for v in limits.values()) == (416 + 608) * MiB  # own 416Mi + emptyDirs 608Mi


@pytest.mark.parametrize("case", BUILTIN_SETS)
def test_compose_memory_limits_hold_the_tmpfs_each_service_writes(builtin_catalog, case: str) -> None:
    compose = yaml.safe_load(render(builtin_catalog, BUILTIN_SETS[case])["compose.yaml"])
    assert list(lint_compose(compose)) == []
    memory = {name: s["deploy"]["resources"]["limits"]["memory"] for name, s in compose["services"].items()}
    assert memory["orders-api"] == ("832m" if "log_dir" in BUILTIN_SETS[case]["app"] else "576m")
    if "fluentd" in memory:
        assert memory["fluentd"] == "544m"  # 256m of its own + pos, buffer and tmp (288m)


@pytest.mark.parametrize("cpu, workers", [("100m", 1), ("500m", 1), ("1", 1), ("1500m", 2), ("2", 2),
                                          ("2500m", 3), ("4", 4)])
def test_worker_threads_are_the_cpu_limit_in_whole_cpus(cpu: str, workers: int) -> None:
    assert budget.cpu_workers(cpu) == workers


def test_envoy_runs_one_worker_under_its_half_cpu_limit(builtin_catalog) -> None:
    envoy = next(c for c in pod_spec(render(builtin_catalog, BUILTIN_SETS["proxy only"]))["initContainers"]
                 if c["name"] == "envoy")
    assert envoy["resources"]["limits"]["cpu"] == "500m"
    assert envoy["args"] == ["-c", "/etc/envoy/envoy.yaml", "--concurrency", "1"]


@pytest.mark.parametrize("params, workers, cache, limit", [
    ({}, "2", 100 * MiB, f"{16 + 100 + 8}Mi"),
    ({"cpu_limit": "250m", "cache_size": "1Gi"}, "1", 1024 * MiB, f"{16 + 1024 + 8}Mi"),
    ({"cpu_limit": "3500m", "cache_size": "10Mi"}, "4", 10 * MiB, f"{16 + 10 + 8}Mi"),
])
def test_a_team_template_gets_the_same_arithmetic(team_catalog, params: dict, workers: str, cache: int,
                                                  limit: str) -> None:
    files = render(team_catalog, answers_with([{"name": "cacher", "params": params}], log_dir=False))
    cacher = next(c for c in pod_spec(files)["initContainers"] if c["name"] == "cacher")
    assert cacher["args"] == ["--workers", workers]
    assert cacher["resources"]["limits"]["ephemeral-storage"] == limit
    # below its volume; below its memory limit (64Mi)
    assert files["config/cacher/cacher.conf"] == f"max_bytes {cache * 9 // 10}\nheap_bytes {64 * MiB * 8 // 10}\n"
    compose = yaml.safe_load(files["compose.yaml"])
    assert compose["services"]["cacher"]["deploy"]["resources"]["limits"]["memory"] == \
        f"{64 + cache // MiB + 8}m"
    assert list(lint_compose(compose)) == []
    assert list(lint_pod_specs([yaml.safe_load(files["k8s/deployment.yaml"])])) == []


def test_a_template_with_an_unusable_cpu_limit_is_one_catalog_error(tmp_path: Path) -> None:
    from generator.errors import CatalogError

    tree = {**TEAM, "templates/cacher/sidecar.yaml": TEAM["templates/cacher/sidecar.yaml"].replace(
        'cpu_limit: {type: str, default: 1500m', 'cpu_limit: {type: str, default: lots')}
    catalog = load_catalog(build_file_tree(tmp_path, tree))
    with pytest.raises(CatalogError, match=r"sidecar.yaml: resources.limits.cpu: 'lots' is not a CPU quantity"):
        build(parse_spec(answers_with(["cacher"], log_dir=False), catalog), catalog)
