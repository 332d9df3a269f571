"""The template-definition features templates build on, each through the model and both
emitters: secret volumes, per-container service-account tokens, in-memory and app-shared
volumes, exec probes, first steps the app waits for (before_app), and fronting chains."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest
import yaml

from conftest import build_file_tree, run_cli, write_answers
from generator.catalog.loader import load_catalog
from generator.errors import SpecError
from generator.input.spec import parse_spec
from generator.pipeline import build
from generator.tools.check import check_folder

RESOURCES = """\
resources:
  requests: {cpu: 10m, memory: 16Mi}
  limits: {cpu: 100m, memory: 64Mi}
"""


def _entry(name: str, **extra: str) -> str:
    lines = [f"  - name: {name}", "    capability: test", f"    summary: {name} for the tests",
             f"    image: registry.example.com/platform/{name}:1.0.0", f"    path: templates/{name}"]
    return "\n".join(lines + [f"    {k}: {v}" for k, v in extra.items()]) + "\n"


TREE = {
    "catalog.yaml": "name: features\nversion: '1'\ntemplates:\n" + _entry("keeper") + _entry("renderer")
    + _entry("outer", in_front_of="[inner]") + _entry("inner") + _entry("lone"),
    # Secrets read from a Secret, a token for one audience, an exec probe.
    "templates/keeper/sidecar.yaml": dedent("""\
        params:
          secret_name: {type: str, help: the Secret}
        ports: [{name: keeper, port: 9400}]
        env:
          KEEPER_PASSWORD: {secret: "{{ secret_name }}/password"}
          KEEPER_MODE: strict
        secrets:
          - {name: creds, secret: "{{ secret_name }}", path: /etc/keeper/creds, keys: [user, password], mode: 0400}
        service_account_token: {path: /var/run/keeper, audience: keeper.example.com, expiration: 900}
        probes:
          readiness: {command: [keeper, --check]}
          liveness: {port: 9400}
        """) + RESOURCES,
    # Writes, in memory, what the app reads; a first step the app waits for.
    "templates/renderer/sidecar.yaml": dedent("""\
        ports: [{name: renderer, port: 9500}]
        volumes:
          - {name: out, path: /out, size: 32Mi, memory: true, app_path: /etc/app/rendered}
        args: [--watch]
        before_app: {args: [--once]}
        probes:
          startup: {command: [test, -s, /out/done], period: 1, failures: 60}
          readiness: {port: 9500}
          liveness: {port: 9500}
        """) + RESOURCES,
    "templates/outer/sidecar.yaml": dedent("""\
        fronts_app: true
        ports: [{name: outer, port: 8443, public: true}]
        config_dir: /etc/outer
        probes: {readiness: {port: 8443}, liveness: {port: 8443}}
        """) + RESOURCES,
    "templates/outer/files/outer.conf.j2": "upstream 127.0.0.1:{{ upstream_port }}\n",
    "templates/inner/sidecar.yaml": dedent("""\
        fronts_app: true
        ports: [{name: inner, port: 4180, public: true}, {name: inner-metrics, port: 4181}]
        config_dir: /etc/inner
        probes: {readiness: {port: 4180}, liveness: {port: 4180}}
        """) + RESOURCES,
    "templates/inner/files/inner.conf.j2": "upstream 127.0.0.1:{{ upstream_port }}\n",
    "templates/lone/sidecar.yaml": dedent("""\
        fronts_app: true
        ports: [{name: lone, port: 9000, public: true}]
        probes: {readiness: {port: 9000}, liveness: {port: 9000}}
        """) + RESOURCES,
}
APP = {"name": "shop", "image": "registry.example.com/shop:1.0.0", "port": 8080,
       "health_command": ["/app/healthcheck"]}


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    return load_catalog(build_file_tree(tmp_path_factory.mktemp("features"), TREE))


def render(catalog, sidecars: list, version: str = "1.33") -> dict[str, object]:
    spec = parse_spec({"app": APP, "sidecars": sidecars, "kubernetes": {"version": version}}, catalog)
    files = build(spec, catalog)
    deployment = yaml.safe_load(files["k8s/deployment.yaml"])
    return {"compose": yaml.safe_load(files["compose.yaml"]), "pod": deployment["spec"]["template"]["spec"],
            "readme": files["README.md"].decode(), "files": files}


def containers(pod: dict) -> dict[str, dict]:
    return {c["name"]: c for c in [*pod.get("initContainers", []), *pod["containers"]]}


KEEPER = {"name": "keeper", "params": {"secret_name": "shop-keeper"}}


def test_secret_keys_are_a_secret_volume_in_kubernetes_and_supplied_files_in_compose(catalog) -> None:
    out = render(catalog, [KEEPER])
    volumes = {v["name"]: v for v in out["pod"]["volumes"]}
    assert volumes["keeper-creds"]["secret"] == {
        "secretName": "shop-keeper", "defaultMode": 0o400,
        "items": [{"key": "user", "path": "user"}, {"key": "password", "path": "password"}]}
    assert {"name": "keeper-creds", "mountPath": "/etc/keeper/creds", "readOnly": True} in \
        containers(out["pod"])["keeper"]["volumeMounts"]
    compose = out["compose"]
    assert compose["secrets"]["keeper-creds-password"] == {"file": "./secrets/shop-keeper/password"}
    assert {"source": "keeper-creds-user", "target": "/etc/keeper/creds/user"} in compose["services"]["keeper"]["secrets"]
    assert "keeper-creds" not in compose["volumes"]  # a file given to it, not scratch space
    assert "`secrets/shop-keeper/user`" in out["readme"] and "Secret `shop-keeper`" in out["readme"]
    assert out["files"]["secrets/.gitignore"].decode().splitlines()[-2:] == ["*", "!.gitignore"]


def test_the_service_account_token_is_projected_into_its_container_only(catalog) -> None:
    out = render(catalog, [KEEPER, "renderer"])
    pod = out["pod"]
    assert pod["automountServiceAccountToken"] is False  # pod-wide, still off
    token = next(v for v in pod["volumes"] if v["name"] == "keeper-sa-token")
    assert token["projected"]["sources"] == [{"serviceAccountToken": {
        "audience": "keeper.example.com", "expirationSeconds": 900, "path": "token"}}]
    mounted = {name for name, c in containers(pod).items()
               for m in c.get("volumeMounts", []) if m["name"] == "keeper-sa-token"}
    assert mounted == {"keeper"}
    # Compose has no kubelet: a token file the user supplies, at the same path.
    assert {"source": "keeper-sa-token", "target": "/var/run/keeper/token"} in \
        out["compose"]["services"]["keeper"]["secrets"]
    assert out["compose"]["secrets"]["keeper-sa-token"] == {"file": "./secrets/keeper-sa-token/token"}


def test_an_in_memory_volume_is_charged_to_its_writers_memory_and_read_only_in_the_app(catalog) -> None:
    out = render(catalog, ["renderer"])
    pod = out["pod"]
    volume = next(v for v in pod["volumes"] if v["name"] == "renderer-out")
    assert volume["emptyDir"] == {"medium": "Memory", "sizeLimit": "32Mi"}
    renderer = containers(pod)["renderer"]
    assert renderer["resources"]["limits"]["memory"] == "96Mi"  # 64Mi + the 32Mi it writes
    assert "ephemeral-storage" not in renderer["resources"]["limits"]
    assert {"name": "renderer-out", "mountPath": "/etc/app/rendered", "readOnly": True} in \
        containers(pod)["shop"]["volumeMounts"]
    # Compose: tmpfs; the memory limit holds it once, not twice.
    assert out["compose"]["services"]["renderer"]["deploy"]["resources"]["limits"]["memory"] == "96m"


def test_an_exec_probe_runs_its_command(catalog) -> None:
    keeper = containers(render(catalog, [KEEPER])["pod"])["keeper"]
    assert keeper["readinessProbe"]["exec"] == {"command": ["keeper", "--check"]}
    assert keeper["livenessProbe"]["tcpSocket"] == {"port": 9400}


def test_a_first_step_is_a_native_sidecar_startup_probe_from_1_29(catalog) -> None:
    pod = render(catalog, ["renderer"], "1.33")["pod"]
    assert [c["name"] for c in pod["initContainers"]] == ["renderer"]
    renderer = pod["initContainers"][0]
    assert renderer["restartPolicy"] == "Always" and renderer["startupProbe"]["exec"]["command"][0] == "test"


def test_a_first_step_is_a_plain_init_container_below_1_29(catalog, tmp_path: Path) -> None:
    out = render(catalog, ["renderer"], "1.28")
    pod = out["pod"]
    (step,) = pod["initContainers"]
    assert step["name"] == "renderer-init" and step["args"] == ["--once"] and "restartPolicy" not in step
    assert not any(k.endswith("Probe") for k in step)  # the API refuses probes on it
    assert step["volumeMounts"] == containers(pod)["renderer"]["volumeMounts"]
    assert "renderer" in [c["name"] for c in pod["containers"]]
    for path, data in out["files"].items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes(data)
    assert check_folder(tmp_path) == []


def test_compose_runs_a_first_step_to_completion_before_the_app(catalog) -> None:
    services = render(catalog, ["renderer"])["compose"]["services"]
    step = services["renderer-init"]
    assert step["command"] == ["--once"] and step["restart"] == "no"
    assert services["shop"]["depends_on"]["renderer-init"] == {"condition": "service_completed_successfully"}
    assert "shop" not in services["renderer"]["depends_on"]  # it starts before the app, not after


def test_compose_waits_for_a_first_step_that_has_a_healthcheck_until_healthy(catalog, tmp_path: Path) -> None:
    text = TREE["templates/renderer/sidecar.yaml"] + "compose_healthcheck: [test, -s, /out/done]\n"
    root = build_file_tree(tmp_path, {**TREE, "templates/renderer/sidecar.yaml": text})
    services = render(load_catalog(root), ["renderer"])["compose"]["services"]
    assert services["shop"]["depends_on"]["renderer"] == {"condition": "service_healthy"}
    assert "renderer-init" not in services


def test_two_fronting_templates_without_a_declared_chain_are_refused_in_one_line(catalog) -> None:
    with pytest.raises(SpecError) as refused:
        parse_spec({"app": APP, "sidecars": ["outer", "lone"]}, catalog)
    assert refused.value.message == ("sidecars: 'outer' and 'lone' all front the app; only one may, unless "
                                     "the catalog declares that one sits in front of the other (in_front_of); "
                                     "pick one")


def test_the_cli_refuses_an_undeclared_chain_and_writes_nothing(catalog, tmp_path: Path) -> None:
    answers = write_answers(tmp_path / "a.yaml", {"app": APP, "sidecars": ["lone", "inner"]})
    done = run_cli("new", "--answers", str(answers), "--catalog", str(catalog.root), "--output",
                   str(tmp_path / "out"), "--no-input")
    assert done.exit_code == 1 and "all front the app" in done.output and "\n" not in done.output.strip()
    assert not (tmp_path / "out").exists()


def test_a_declared_chain_wires_the_outer_proxy_to_the_inner_one(catalog) -> None:
    out = render(catalog, ["inner", "outer"])
    files = out["files"]
    assert files["config/outer/outer.conf"] == b"upstream 127.0.0.1:4180\n"  # the inner proxy
    assert files["config/inner/inner.conf"] == b"upstream 127.0.0.1:8080\n"  # the app
    service = yaml.safe_load(files["k8s/service.yaml"])
    assert [p["port"] for p in service["spec"]["ports"]] == [8443]  # only the outer one is the way in
    assert out["compose"]["services"]["netns"]["ports"] == ["8443:8443"]


def test_a_chain_whose_inner_proxy_has_no_single_way_in_is_refused(catalog, tmp_path: Path) -> None:
    text = TREE["templates/inner/sidecar.yaml"].replace("{name: inner-metrics, port: 4181}",
                                                         "{name: inner-metrics, port: 4181, public: true}")
    root = build_file_tree(tmp_path, {**TREE, "templates/inner/sidecar.yaml": text})
    features = load_catalog(root)
    from generator.errors import CatalogError
    with pytest.raises(CatalogError, match="needs exactly one public port"):
        build(parse_spec({"app": APP, "sidecars": ["outer", "inner"]}, features), features)


def test_a_sidecar_env_value_can_come_from_a_secret_key(catalog) -> None:
    out = render(catalog, [KEEPER])
    keeper = containers(out["pod"])["keeper"]
    assert keeper["env"] == [
        {"name": "KEEPER_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "shop-keeper", "key": "password"}}},
        {"name": "KEEPER_MODE", "value": "strict"}]
    service = out["compose"]["services"]["keeper"]
    assert service["environment"] == {"KEEPER_MODE": "strict"}  # the value is never written
    assert service["env_file"] == [{"path": "env/keeper.env", "required": False}]


def test_a_sidecar_env_reference_is_checked_once_its_name_is_filled_in(catalog) -> None:
    from generator.errors import CatalogError
    with pytest.raises(CatalogError, match=r"env.KEEPER_PASSWORD.secret: .* must be NAME/KEY"):
        render(catalog, [{"name": "keeper", "params": {"secret_name": "Not_A_Name"}}])


def test_the_helm_chart_mounts_secret_and_token_volumes_as_rendered(catalog) -> None:
    spec = parse_spec({"app": APP, "sidecars": [KEEPER], "targets": ["helm"]}, catalog)
    chart = build(spec, catalog)["chart/templates/deployment.yaml"].decode()
    assert "secretName: shop-keeper" in chart and "audience: keeper.example.com" in chart
    assert "secretKeyRef:\n" in chart and "name: shop-keeper\n" in chart  # the env reference too
    assert "emptyDir" not in chart.split("keeper-creds", 1)[1].split("- name:", 1)[0]


@pytest.mark.parametrize("sidecars, says", [
    (["renderer"], "sidecar 'renderer' has a first step the app waits for (before_app)"),
    (["outer", "inner"], "outer -> inner is a chain of proxies"),
])
def test_the_helm_target_refuses_what_the_chart_does_not_carry_in_one_line(catalog, sidecars, says) -> None:
    with pytest.raises(SpecError) as refused:
        build(parse_spec({"app": APP, "sidecars": sidecars, "targets": ["helm"]}, catalog), catalog)
    assert refused.value.message.startswith("target helm: ") and says in refused.value.message


def test_a_sidecar_nothing_connects_to_may_have_no_ports_when_its_probes_run_commands(tmp_path: Path) -> None:
    quiet = dedent("""\
        ports: []
        probes:
          readiness: {command: [test, -s, /out/done]}
          liveness: {command: [test, -s, /out/done]}
        """) + RESOURCES
    root = build_file_tree(tmp_path, {**TREE, "templates/lone/sidecar.yaml": quiet})
    spec_ = parse_spec({"app": APP, "sidecars": ["lone"]}, load_catalog(root))
    pod = yaml.safe_load(build(spec_, load_catalog(root))["k8s/deployment.yaml"])["spec"]["template"]["spec"]
    assert "ports" not in containers(pod)["lone"]
    # ... and a port probe still needs a port.
    root = build_file_tree(tmp_path / "b", {**TREE, "templates/lone/sidecar.yaml": quiet.replace(
        "liveness: {command: [test, -s, /out/done]}", "liveness: {port: 9000}")})
    from generator.errors import CatalogError
    with pytest.raises(CatalogError, match="ports: must be a non-empty list"):
        load_catalog(root)
