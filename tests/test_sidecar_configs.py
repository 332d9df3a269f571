"""The generated configs of sidecars that cannot run here (fluent-bit, otel-collector: no image
registry, no package) pass each program's own notion of a valid config, taken from its source at
the pinned tag (tests/sidecar_configs.py), and the checks catch a seeded defect each."""

from __future__ import annotations

import copy
import itertools

import pytest
import yaml

from conftest import FULL_ANSWERS, GOLDEN
from generator.input.spec import parse_spec
from generator.pipeline import build
from sidecar_configs import OTEL_COMPONENTS, OTELCOL_SCHEMAS, fluent_bit_problems, git_sync_problems, otel_problems

MiB = 1024 * 1024


def render(catalog, sidecar: dict | list, version: str = "1.33") -> dict[str, bytes]:
    answers = copy.deepcopy(FULL_ANSWERS)
    answers["sidecars"] = sidecar if isinstance(sidecar, list) else [sidecar]
    answers["kubernetes"]["version"] = version
    return dict(build(parse_spec(answers, catalog), catalog))


def containers(files: dict[str, bytes]) -> dict[str, dict]:
    spec = yaml.safe_load(files["k8s/deployment.yaml"])["spec"]["template"]["spec"]
    return {c["name"]: c for c in spec.get("initContainers", []) + spec["containers"]}


FLUENT_BIT_PARAMS = [dict(zip(("format", "forward_host"), combo))
                     for combo in itertools.product(("none", "json"), ("", "logs.observability.svc"))]


@pytest.mark.parametrize("params", FLUENT_BIT_PARAMS, ids=lambda p: f"{p['format']}-{p['forward_host'] or 'stdout'}")
def test_every_fluent_bit_config_uses_only_keys_fluent_bit_5_1_1_knows(builtin_catalog, params: dict) -> None:
    files = render(builtin_catalog, {"name": "fluent-bit", "params": params})
    config = yaml.safe_load(files["config/fluent-bit/fluent-bit.yaml"])
    assert fluent_bit_problems(config) == []
    tail = config["pipeline"]["inputs"][0]
    assert tail["path"] == "/var/log/app/*.log" and tail["storage.type"] == "filesystem"
    assert (tail.get("parser") == "app_json") == (params["format"] == "json")
    # What it writes lies on its own volumes, and the buffer cap stays below the volume's size.
    mounts = {m["mountPath"]: m for m in containers(files)["fluent-bit"]["volumeMounts"]}
    assert config["service"]["storage.path"] in mounts and tail["db"].rsplit("/", 1)[0] in mounts
    assert mounts["/var/log/app"]["readOnly"] is True
    output = config["pipeline"]["outputs"][0]
    if params["forward_host"]:
        assert output["name"] == "forward" and output["storage.total_limit_size"] == 256 * MiB * 3 // 4
    else:
        assert output["name"] == "stdout"


@pytest.mark.parametrize("defect, problem", [
    (lambda c: c["service"].update({"http_server_port": 2020}), "service.http_server_port: not a service key"),
    (lambda c: c["pipeline"]["inputs"][0].update({"pathh": "/x"}), "pipeline.inputs[0].pathh: not a key of input 'tail'"),
    (lambda c: c["pipeline"]["inputs"][0].update({"parser": "nginx"}), "pipeline.inputs[0].parser: 'nginx' is not defined"),
    (lambda c: c["pipeline"]["outputs"][0].update({"match": "other.*"}), "pipeline.outputs[0].match: 'other.*' matches no"),
    (lambda c: c["pipeline"]["outputs"][0].update({"name": "es"}), "pipeline.outputs[0].name: 'es' is not a known output"),
    (lambda c: c.update({"inputs": []}), "inputs: not a section"),
])
def test_the_fluent_bit_check_refuses_a_seeded_defect(builtin_catalog, defect, problem: str) -> None:
    files = render(builtin_catalog, {"name": "fluent-bit"})
    config = yaml.safe_load(files["config/fluent-bit/fluent-bit.yaml"])
    defect(config)
    assert any(line.startswith(problem) for line in fluent_bit_problems(config)), fluent_bit_problems(config)


OTEL_PARAMS = [{}, {"endpoint": "otel-gateway.observability:4317"},
               {"endpoint": "otel-gateway.observability:4317", "insecure": True, "http_port": 14318}]


@pytest.mark.parametrize("params", OTEL_PARAMS, ids=["debug", "tls", "insecure"])
@pytest.mark.parametrize("version", ["1.33", "1.28"])
def test_every_collector_config_passes_the_collectors_own_schemas(builtin_catalog, params: dict, version: str) -> None:
    files = render(builtin_catalog, {"name": "otel-collector", "params": params}, version)
    config = yaml.safe_load(files["config/otel-collector/config.yaml"])
    assert otel_problems(config) == []
    exporter = "otlp_grpc" if params else "debug"
    assert all(p["exporters"] == [exporter] for p in config["service"]["pipelines"].values())
    if params:
        assert config["exporters"]["otlp_grpc"]["tls"]["insecure"] is params.get("insecure", False)


def test_the_collector_is_wired_to_the_app_and_sized_from_its_own_limit(builtin_catalog) -> None:
    files = render(builtin_catalog, {"name": "otel-collector", "params": {"http_port": 14318}})
    config = yaml.safe_load(files["config/otel-collector/config.yaml"])
    found = containers(files)
    collector, app = found["otel-collector"], found["orders-api"]
    env = {e["name"]: e["value"] for e in app["env"]}
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://127.0.0.1:14318"
    assert env["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf"
    assert config["receivers"]["otlp"]["protocols"]["http"]["endpoint"] == "127.0.0.1:14318"  # loopback only
    # Probes hit the pod IP: the health check listens on every address, at the probed port.
    assert config["extensions"]["health_check"]["endpoint"] == ":13133"
    assert collector["livenessProbe"]["httpGet"] == {"path": "/", "port": 13133}
    limit = collector["resources"]["limits"]["memory"]
    assert limit == "256Mi"
    limiter = config["processors"]["memory_limiter"]
    assert (limiter["limit_mib"], limiter["spike_limit_mib"]) == (256 * 8 // 10, 256 * 8 // 10 // 5)
    own = {e["name"]: e["value"] for e in collector["env"]}
    assert own == {"GOMEMLIMIT": f"{256 * 8 // 10}MiB", "GOMAXPROCS": "1"}


@pytest.mark.parametrize("defect, problem", [
    (lambda c: c["receivers"]["otlp"]["protocols"]["grpc"].update({"endpont": "x"}),
     "receivers.otlp.protocols.grpc.endpont: not a key here"),
    (lambda c: c["exporters"]["debug"].update({"verbosity_level": "basic"}), "exporters.debug.verbosity_level: not a key"),
    (lambda c: c["processors"]["memory_limiter"].update({"limit_mib": "lots"}),
     "processors.memory_limiter.limit_mib: 'lots' is not of type integer"),
    (lambda c: c["processors"]["memory_limiter"].update({"spike_limit_mib": 999}),
     "processors.memory_limiter: spike_limit_mib (999) must be below"),
    (lambda c: c["processors"].update({"k8sattributes": {}}), "processors.k8sattributes: 'k8sattributes' is not in the core"),
    (lambda c: c["service"]["pipelines"]["logs"].update({"processors": ["batch", "memory_limiter"]}),
     "service.pipelines.logs.processors: memory_limiter must come first"),
    (lambda c: c["service"]["pipelines"]["traces"].update({"exporters": ["otlp_grpc"]}),
     "service.pipelines.traces.exporters: 'otlp_grpc' is not defined"),
    (lambda c: c["service"].update({"extensions": ["health_check", "pprof"]}),
     "service.extensions: 'pprof' is not defined"),
    (lambda c: c["extensions"]["health_check"].update({"port": 13133}), "extensions.health_check.port: not a key"),
])
def test_the_collector_check_refuses_a_seeded_defect(builtin_catalog, defect, problem: str) -> None:
    config = yaml.safe_load(render(builtin_catalog, {"name": "otel-collector"})["config/otel-collector/config.yaml"])
    defect(config)
    assert any(line.startswith(problem) for line in otel_problems(config)), otel_problems(config)


def test_the_vendored_collector_schemas_cover_every_component_the_check_knows() -> None:
    for packages in OTEL_COMPONENTS.values():
        for package in packages.values():
            assert (OTELCOL_SCHEMAS / package / "config.schema.yaml").is_file(), package


@pytest.mark.parametrize("config, check", [("fluent-bit/fluent-bit.yaml", fluent_bit_problems),
                                           ("otel-collector/config.yaml", otel_problems)])
def test_every_golden_config_of_these_sidecars_passes_its_check(config: str, check) -> None:
    found = sorted(GOLDEN.glob(f"*/expected/config/{config}"))
    assert found, f"no golden case renders {config}"
    for path in found:
        assert check(yaml.safe_load(path.read_text())) == [], path


GIT_SYNC = {"name": "git-sync", "params": {"repo": "https://github.com/acme/orders-config.git", "app_path": "/srv/config"}}


def test_git_sync_runs_as_a_native_sidecar_the_app_starts_after_from_1_29(builtin_catalog) -> None:
    files = render(builtin_catalog, [GIT_SYNC, "fluent-bit"], "1.33")
    spec = yaml.safe_load(files["k8s/deployment.yaml"])["spec"]["template"]["spec"]
    sync = next(c for c in spec["initContainers"] if c["name"] == "git-sync")
    assert git_sync_problems(sync["args"]) == []
    assert sync["restartPolicy"] == "Always" and "git-sync-init" not in str(spec)
    # The app's containers start once this startup probe passes: "/" is 5xx until the first sync.
    assert sync["startupProbe"]["httpGet"] == {"path": "/", "port": 8099}
    assert "--http-bind=:8099" in sync["args"] and "--root=/git" in sync["args"]
    mounts = {c["name"]: {m["name"]: m for m in c["volumeMounts"]} for c in spec["initContainers"] + spec["containers"]}
    assert mounts["git-sync"]["git-sync-repo"]["mountPath"] == "/git"
    assert mounts["orders-api"]["git-sync-repo"] == {"name": "git-sync-repo", "mountPath": "/srv/config", "readOnly": True}
    assert mounts["git-sync"]["git-sync-tmp"]["mountPath"] == "/tmp"  # HOME of the image: git's config


def test_below_1_29_and_in_compose_a_one_shot_sync_runs_before_the_app(builtin_catalog) -> None:
    files = render(builtin_catalog, [GIT_SYNC], "1.28")
    spec = yaml.safe_load(files["k8s/deployment.yaml"])["spec"]["template"]["spec"]
    first = next(c for c in spec["initContainers"] if c["name"] == "git-sync-init")
    assert "restartPolicy" not in first and "--one-time" in first["args"]
    assert git_sync_problems(first["args"]) == []
    assert [c["name"] for c in spec["containers"]] == ["orders-api", "git-sync"]
    compose = yaml.safe_load(files["compose.yaml"])["services"]
    assert compose["orders-api"]["depends_on"]["git-sync-init"] == {"condition": "service_completed_successfully"}
    assert compose["git-sync-init"]["restart"] == "no" and "--one-time" in compose["git-sync-init"]["command"]
    assert git_sync_problems(compose["git-sync"]["command"]) == []


@pytest.mark.parametrize("args, problem", [
    (["--repo=x", "--branch=main"], "--branch=main: not a flag of git-sync 4.7.1"),
    (["--rev=HEAD"], "--repo: required"),
    (["--repo=x", "--one-time", "--http-bind=:1"], "--one-time exits after one sync"),
    (["--repo=x", "--http-metrics"], "--http-metrics needs --http-bind"),
])
def test_the_git_sync_check_refuses_a_seeded_defect(args: list[str], problem: str) -> None:
    assert any(line.startswith(problem) for line in git_sync_problems(args)), git_sync_problems(args)
