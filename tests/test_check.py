"""`sidecar-new check` on hand-edited output: every problem is one line naming the file, never a
traceback; the rules the real tools lack (Envoy cross-references, Fluentd structure, files of one
render that must agree) catch what the tools let through."""

from __future__ import annotations

import copy
import hashlib
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import GOLDEN, build_file_tree, examples, run_cli
from generator.tools.check import check_envoy, check_folder, check_fluentd
from test_golden import write_case


def check_output(folder: Path) -> tuple[int, str]:
    """Run `sidecar-new check` as a user would; a traceback (any exception but the exit) fails."""
    result = run_cli("check", str(folder))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    # One line a problem: each names the folder's file (or is the closing error line).
    assert all(line.startswith((str(folder), "error: ")) for line in result.output.splitlines()), result.output
    return result.exit_code, result.output


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


@pytest.fixture
def render(builtin_catalog, tmp_path: Path) -> Path:
    """The full render (every sidecar, compose and Kubernetes) in a fresh folder."""
    return write_case("all-sidecars-1.31", builtin_catalog, tmp_path / "out")


# 1. Nothing to check is not "ok".

def test_an_empty_folder_is_an_error_not_ok(tmp_path: Path) -> None:
    code, output = check_output(tmp_path)
    assert code == 1
    assert "no compose.yaml, no k8s/kustomization.yaml and no chart/Chart.yaml" in output
    assert "ok" not in output.split()


def test_a_folder_of_config_files_only_is_nothing_to_check(tmp_path: Path) -> None:
    build_file_tree(tmp_path, {"config/envoy/envoy.yaml": "admin: {}\n"})
    code, output = check_output(tmp_path)
    assert code == 1 and "nothing to check" in output


# 2. Edited files that no longer have the expected shape: problems, not tracebacks.

@pytest.mark.parametrize("relative, text, expected", [
    ("compose.yaml", "", "empty compose file"),
    ("compose.yaml", "services:\n  app: busybox\n", "services.app must be a mapping"),
    ("compose.yaml", "- a list\n", "compose.yaml"),
    ("compose.yaml", "services: [\n", "compose.yaml"),
    (".sidecar-new.yaml", "- a list\n", ".sidecar-new.yaml: not a sidecar-new record"),
    (".sidecar-new.yaml", "kubernetes: [\n", ".sidecar-new.yaml:2: invalid YAML"),
    (".sidecar-new.yaml", "kubernetes: 3\n", ".sidecar-new.yaml: not a sidecar-new record"),
    ("config/envoy/envoy.yaml", "- a list\n", "envoy.yaml: not a mapping"),
    ("config/envoy/envoy.yaml", "admin: [\n", "envoy.yaml:2: invalid YAML"),
    ("config/envoy/envoy.yaml", "static_resources: {listeners: [x]}\n", "envoy.yaml: not a valid Envoy"),
])
def test_a_misshapen_file_is_a_one_line_problem(render: Path, relative: str, text: str, expected: str) -> None:
    (render / relative).write_text(text)
    code, output = check_output(render)
    assert code == 1
    assert expected in output, output


@pytest.mark.parametrize("relative", ["k8s/configmaps.yaml", "k8s/deployment.yaml"])
@pytest.mark.parametrize("document", ["- a list\n", "just text\n", "42\n"])
def test_a_kubernetes_document_that_is_not_a_mapping_is_a_problem(render: Path, relative: str,
                                                                  document: str) -> None:
    path = render / relative
    path.write_text(path.read_text() + "---\n" + document)
    code, output = check_output(render)
    assert code == 1
    assert "kubectl kustomize" in output


def test_a_deployment_of_odd_shapes_is_reported_not_a_crash(render: Path) -> None:
    """kustomize passes any mapping through: our own pod rules must cope with strings and lists."""
    path = render / "k8s" / "deployment.yaml"
    deployment = yaml.safe_load(path.read_text())
    pod_spec = deployment["spec"]["template"]["spec"]
    pod_spec["initContainers"][0]["securityContext"] = "hardened"
    pod_spec["initContainers"][1]["resources"] = ["lots"]
    pod_spec["volumes"].append({"name": "scratch", "emptyDir": "big"})
    path.write_text(yaml.safe_dump(deployment, sort_keys=False))
    code, output = check_output(render)
    assert code == 1
    assert "kubernetes-validate" in output and "built.yaml" not in output


ODD_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=4),
                          lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=4), inner,
                                                                                      max_size=2),
                          max_leaves=4)


def node_paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix]
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in children:
        found += node_paths(value, (*prefix, key))
    return found


def replaced(document: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    document = copy.deepcopy(document)
    node = document
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return document


FUZZ_CASE = GOLDEN / "all-sidecars-1.31" / "expected"
FUZZ_FILES = ["compose.yaml", "config/envoy/envoy.yaml", "k8s/deployment.yaml", "k8s/configmaps.yaml"]
# Parsed once: parsing these again for every example was 90% of this property's time.
FUZZ_DOCUMENTS = {relative: list(yaml.safe_load_all((FUZZ_CASE / relative).read_text())) for relative in FUZZ_FILES}


@settings(max_examples=examples(300), deadline=None)
@given(data=st.data(), relative=st.sampled_from(FUZZ_FILES), value=ODD_VALUES)
def test_own_rules_never_crash_on_any_shape(data, relative: str, value: Any) -> None:
    """Any node of a rendered file replaced by any value: the own rules yield lines, never raise."""
    from generator.tools.check import lint_compose, lint_config_maps, lint_pod_specs
    from generator.tools.check_configs import lint_envoy

    documents = list(FUZZ_DOCUMENTS[relative])  # replaced() copies the document it changes
    index = data.draw(st.integers(0, len(documents) - 1))
    path = data.draw(st.sampled_from(node_paths(documents[index])))
    documents[index] = replaced(documents[index], path, value)
    if relative == "compose.yaml":
        problems = list(lint_compose(documents[0]))
    elif relative.startswith("config/"):
        problems = list(lint_envoy(documents[0]))
    else:
        deployments = documents if relative == "k8s/deployment.yaml" else FUZZ_DOCUMENTS["k8s/deployment.yaml"]
        maps = documents if relative == "k8s/configmaps.yaml" else FUZZ_DOCUMENTS["k8s/configmaps.yaml"]
        problems = list(lint_pod_specs(deployments)) + list(lint_config_maps(FUZZ_CASE, maps, deployments))
    assert all(isinstance(problem, str) for problem in problems)


# 3. Envoy: the cross-references envoy-data-plane does not check.

def envoy_config(render: Path) -> tuple[Path, dict]:
    path = render / "config" / "envoy" / "envoy.yaml"
    return path, yaml.safe_load(path.read_text())


def first_route(config: dict) -> dict:
    manager = config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    return manager["route_config"]["virtual_hosts"][0]["routes"][0]["route"]


def envoy_problems(path: Path, config: dict) -> list[str]:
    path.write_text(yaml.safe_dump(config))
    return [p.removeprefix(f"{path}: ") for p in check_envoy(path)]


def test_a_route_to_an_undefined_cluster_is_reported(render: Path) -> None:
    path, config = envoy_config(render)
    first_route(config)["cluster"] = "nope"
    assert envoy_problems(path, config) == ["route to cluster 'nope': no such cluster (defined: admin, app)"]


def test_a_route_to_an_undefined_cluster_fails_check(render: Path) -> None:
    edit(render / "config/envoy/envoy.yaml", "route: {cluster: app}", "route: {cluster: nope}")
    code, output = check_output(render)
    assert code == 1 and "route to cluster 'nope': no such cluster" in output


def test_weighted_routes_must_name_defined_clusters(render: Path) -> None:
    path, config = envoy_config(render)
    first_route(config).pop("cluster")
    first_route(config)["weighted_clusters"] = {"clusters": [{"name": "app", "weight": 90},
                                                             {"name": "canary", "weight": 10}]}
    assert envoy_problems(path, config) == ["route to cluster 'canary': no such cluster (defined: admin, app)"]


@pytest.mark.parametrize("port", [70000, 0])
def test_a_port_out_of_range_is_reported(render: Path, port: int) -> None:
    path, config = envoy_config(render)
    endpoint = config["static_resources"]["clusters"][0]["load_assignment"]["endpoints"][0]
    endpoint["lb_endpoints"][0]["endpoint"]["address"]["socket_address"]["port_value"] = port
    assert envoy_problems(path, config) == [f"port {port} is not in 1..65535"]


def test_two_listeners_of_one_name_are_reported(render: Path) -> None:
    path, config = envoy_config(render)
    second = yaml.safe_load(yaml.safe_dump(config["static_resources"]["listeners"][0]))
    second["address"]["socket_address"]["port_value"] = 10001
    config["static_resources"]["listeners"].append(second)
    assert envoy_problems(path, config) == ["listener name 'ingress' is used 2 times"]


def test_a_listener_on_the_admin_port_is_reported(render: Path) -> None:
    path, config = envoy_config(render)
    config["static_resources"]["listeners"][0]["address"]["socket_address"]["port_value"] = 9901
    assert envoy_problems(path, config) == ["TCP port 9901 is bound by both admin and listener 'ingress'"]


def test_listeners_on_one_port_but_different_addresses_are_fine(render: Path) -> None:
    path, config = envoy_config(render)
    listener = config["static_resources"]["listeners"][0]
    listener["address"]["socket_address"]["address"] = "10.0.0.1"
    second = yaml.safe_load(yaml.safe_dump(listener))
    second["name"] = "ingress-b"
    second["address"]["socket_address"]["address"] = "10.0.0.2"
    config["static_resources"]["listeners"].append(second)
    assert envoy_problems(path, config) == []


def test_clusters_from_cds_are_not_cross_checked(render: Path) -> None:
    path, config = envoy_config(render)
    first_route(config)["cluster"] = "from-cds"
    config["dynamic_resources"] = {"cds_config": {"path_config_source": {"path": "/etc/envoy/cds.yaml"}}}
    assert envoy_problems(path, config) == []


# 4. The files of one render agree: config/ with the ConfigMaps, the ConfigMaps with the checksum.

def test_an_edited_config_file_that_no_longer_matches_its_config_map_is_reported(render: Path) -> None:
    edit(render / "config" / "fluentd" / "fluent.conf", "rotate_wait 5", "rotate_wait 30")
    problems = check_folder(render)
    assert problems == [f"{render / 'config/fluentd/fluent.conf'}: differs from ConfigMap "
                        "orders-api-fluentd-config (key fluent.conf) in k8s/configmaps.yaml; "
                        "edit both, or render again"]


def test_a_deleted_config_file_is_reported(render: Path) -> None:
    (render / "config" / "metrics" / "mapping.yaml").unlink()
    assert any("config/metrics/mapping.yaml: missing; ConfigMap orders-api-metrics-config has it" in p
               for p in check_folder(render))


def test_config_maps_edited_without_the_checksum_are_reported(render: Path) -> None:
    for path in (render / "config/fluentd/fluent.conf", render / "k8s/configmaps.yaml"):
        edit(path, "rotate_wait 5", "rotate_wait 30")
    problems = check_folder(render)
    assert len(problems) == 1
    assert "deployment.yaml: Deployment orders-api: annotation sidecar-new.dev/config-checksum" in problems[0]
    assert "pods will not restart on a config change" in problems[0]


def test_the_checksum_named_in_the_problem_is_the_one_that_checks_clean(render: Path) -> None:
    for path in (render / "config/fluentd/fluent.conf", render / "k8s/configmaps.yaml"):
        edit(path, "rotate_wait 5", "rotate_wait 30")
    deployment = render / "k8s/deployment.yaml"
    stale = re.search(r"config-checksum: (\w+)", deployment.read_text()).group(1)
    wanted = check_folder(render)[0].rsplit(" ", 1)[-1]
    edit(deployment, stale, wanted)
    assert check_folder(render) == []


def test_the_checksum_is_sha256_over_every_config_file_in_render_order(render: Path) -> None:
    digest = hashlib.sha256()
    for sidecar, path in [("fluentd", "fluent.conf"), ("metrics", "mapping.yaml"), ("envoy", "envoy.yaml")]:
        text = (render / "config" / sidecar / path).read_text()
        digest.update(f"{sidecar}/{path}\0{text}\0".encode())
    assert f"config-checksum: {digest.hexdigest()}" in (render / "k8s/deployment.yaml").read_text()


# 5. Fluentd: a structural check of fluent.conf (directives balanced, every plugin typed).

def test_an_unfinished_directive_in_fluent_conf_fails_check(render: Path) -> None:
    for path in (render / "config/fluentd/fluent.conf", render / "k8s/configmaps.yaml"):
        edit(path, "</match>", "</match>\n<source")
    code, output = check_output(render)
    assert code == 1 and "fluent.conf:38: malformed directive '<source'" in output


GOLDEN_FLUENT_CONF = (GOLDEN / "fluentd-only/expected/config/fluentd/fluent.conf").read_text()


@pytest.mark.parametrize("appended, expected", [
    ("<source\n", "38: malformed directive '<source'"),
    ("<source>\n  @type forward\n", "38: <source> is never closed"),
    ("</match>\n", "38: </match> without an opening <match>"),
    ("<source>\n  @type forward\n</match>\n", "40: </match> closes <source> of line 38"),
    ("<source>\n  port 24224\n</source>\n", "38: <source> has no @type"),
    ("<match other.**>\n  <buffer>\n    @type file\n  </buffer>\n</match>\n", "38: <match other.**> has no @type"),
    ("<filter app.**>\n  @type\n</filter>\n", "38: <filter app.**> has no @type"),
    ("<label @X>\n  <match **>\n  </match>\n</label>\n", "39: <match **> has no @type"),
    ("</match foo>\n", "38: malformed directive '</match foo>'"),
])
def test_a_broken_fluent_conf_is_reported_with_its_line(tmp_path: Path, appended: str, expected: str) -> None:
    assert len(GOLDEN_FLUENT_CONF.splitlines()) == 37
    path = tmp_path / "fluent.conf"
    path.write_text(GOLDEN_FLUENT_CONF + appended)
    assert check_fluentd(path) == [f"{path}:{expected}"]


def test_a_fluent_conf_with_labels_nested_sections_and_comments_passes(tmp_path: Path) -> None:
    path = build_file_tree(tmp_path, {"fluent.conf": """\
        # comment <not a tag>
        <system>
          log_level info
        </system>
        @include extra/*.conf
        <source>
          @type tail
          format /^<(?<pri>[0-9]+)>/
          <parse>
            @type regexp
            expression /^(?<x>.*)$/
          </parse>
        </source>
        <label @OUT>
          <filter app.** other.**>
            @type record_transformer
            <record>
              host "#{Socket.gethostname}"
            </record>
          </filter>
          <match **>  # everything else
            @type stdout
          </match>
        </label>
        <match>
          @type null
        </match>
        """}) / "fluent.conf"
    assert check_fluentd(path) == []


@pytest.mark.parametrize("image", ["team/billing:latest", "registry.example.com:5000/team/billing"])
def test_check_reports_an_unpinned_image_by_the_same_rule_as_the_answers(image: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run_cli("new", "--no-input", "--name", "billing", "--image", "team/billing:1.0",
                   "--target", "kubernetes", "--output", str(out)).exit_code == 0
    deployment = out / "k8s" / "deployment.yaml"
    deployment.write_text(deployment.read_text().replace("image: team/billing:1.0", f"image: {image}"))
    result = run_cli("check", str(out))
    assert result.exit_code == 1 and f"image {image!r} is not pinned" in result.output


# 6. Run-time rules (issue 11): config readable by the containers' users, logs rotated, no
# Compose key that does nothing.

def test_config_files_are_readable_by_the_containers_whatever_the_umask(builtin_catalog, tmp_path: Path) -> None:
    import os

    from generator.output.writer import write
    from test_golden import render_case

    previous = os.umask(0o077)
    try:
        out = tmp_path / "out"
        write(render_case("all-sidecars-1.31", builtin_catalog), out)  # the real writer
    finally:
        os.umask(previous)
    config = out / "config"
    for path in [config, *config.rglob("*")]:
        assert path.stat().st_mode & 0o777 == (0o755 if path.is_dir() else 0o644), path
    assert (out / "compose.yaml").stat().st_mode & 0o777 == 0o600  # the rest follows the umask
    assert check_folder(out) == []


@pytest.mark.parametrize("relative, mode, fix", [
    ("config/envoy/envoy.yaml", 0o600, "chmod 0644"),
    ("config/fluentd", 0o700, "chmod 0755"),
])
def test_a_config_file_the_sidecars_cannot_read_fails_check(render: Path, relative: str, mode: int, fix: str) -> None:
    (render / relative).chmod(mode)
    code, output = check_output(render)
    assert code == 1
    assert f"{render / relative}: mode {mode:04o}: the sidecars read it as other users" in output and fix in output


def test_a_compose_service_whose_logs_are_never_rotated_fails_check(render: Path) -> None:
    compose = yaml.safe_load((render / "compose.yaml").read_text())
    del compose["services"]["envoy"]["logging"]
    compose["services"]["metrics"]["logging"]["options"].pop("max-size")
    (render / "compose.yaml").write_text(yaml.safe_dump(compose))
    code, output = check_output(render)
    assert code == 1
    for name in ("envoy", "metrics"):
        assert f"service {name}: container logs are never rotated" in output
    assert "service fluentd:" not in output


def test_a_compose_cpu_reservation_fails_check_as_a_key_that_does_nothing(render: Path) -> None:
    compose = yaml.safe_load((render / "compose.yaml").read_text())
    compose["services"]["fluentd"]["deploy"]["resources"]["reservations"]["cpus"] = "0.05"
    (render / "compose.yaml").write_text(yaml.safe_dump(compose))
    code, output = check_output(render)
    assert code == 1 and "service fluentd: deploy.resources.reservations.cpus does nothing in Compose" in output


def test_a_hand_written_compose_service_is_checked_for_pinning_and_hardening(tmp_path: Path) -> None:
    """The newcomer's case: an unpinned image and none of the hardening; each is one line."""
    build_file_tree(tmp_path, {"compose.yaml": """\
        services:
          proxy:
            image: envoyproxy/envoy:latest
            logging: {options: {max-size: 10m}}
        """})
    code, output = check_output(tmp_path)
    assert code == 1
    for problem in ["image 'envoyproxy/envoy:latest' is not pinned", "not read_only", "cap_drop does not drop ALL",
                    "no user", "no security_opt no-new-privileges:true", "no deploy.resources.limits"]:
        assert f"compose.yaml: service proxy: {problem}" in output, output


# 7. Budgets that add up, and Envoy's admin API kept off the network (issue 11).

def test_envoy_admin_on_the_network_fails_check(render: Path) -> None:
    for path in (render / "config/envoy/envoy.yaml", render / "k8s/configmaps.yaml"):
        edit(path, "socket_address: {address: 127.0.0.1, port_value: 9901}",
             "socket_address: {address: 0.0.0.0, port_value: 9901}")
    code, output = check_output(render)
    assert code == 1
    assert "envoy.yaml: admin listens on 0.0.0.0:9901: anything that reaches the pod can POST /quitquitquit" in output


def test_ephemeral_storage_limits_below_the_emptydirs_fail_check(render: Path) -> None:
    # The limits as they were before issue 11: 416Mi against 608Mi of emptyDirs.
    for before, after in (("ephemeral-storage: 576Mi", "ephemeral-storage: 256Mi"),
                          ("ephemeral-storage: 352Mi", "ephemeral-storage: 64Mi")):
        edit(render / "k8s/deployment.yaml", before, after)
    code, output = check_output(render)
    assert code == 1
    assert ("the containers' ephemeral-storage limits add up to 416Mi, no more than "
            "the emptyDirs' sizeLimits (608Mi): kubelet evicts the pod") in output


def test_a_tmpfs_its_writer_cannot_hold_in_memory_fails_check(render: Path) -> None:
    compose = yaml.safe_load((render / "compose.yaml").read_text())
    compose["services"]["fluentd"]["deploy"]["resources"]["limits"]["memory"] = "256m"  # as before
    (render / "compose.yaml").write_text(yaml.safe_dump(compose))
    code, output = check_output(render)
    assert code == 1
    assert ("service fluentd: the tmpfs volumes it writes (288m) and its memory reservation (128m) exceed "
            "its memory limit (256m)") in output
    assert "service orders-api:" not in output


@pytest.fixture
def forwarding(builtin_catalog, tmp_path: Path) -> Path:
    """Fluentd forwarding to an aggregator: a file buffer on the fluentd-buffer volume."""
    from generator.input.spec import parse_spec
    from generator.output.writer import write
    from generator.pipeline import build
    from conftest import FULL_ANSWERS

    answers = copy.deepcopy(FULL_ANSWERS)
    answers["sidecars"] = [{"name": "fluentd", "params": {"forward_host": "logs.example.com"}}]
    write(build(parse_spec(answers, builtin_catalog), builtin_catalog), tmp_path / "out")
    return tmp_path / "out"


def test_the_fluentd_buffer_is_capped_below_its_volume(forwarding: Path) -> None:
    conf = (forwarding / "config/fluentd/fluent.conf").read_text()
    assert "total_limit_size 201326592" in conf and "chunk_limit_size 8m" in conf  # 3/4 of 256Mi
    assert check_folder(forwarding) == []


@pytest.mark.parametrize("before, after, problem", [
    ("total_limit_size 201326592", "total_limit_size 200MB", None),  # below 256Mi: fine
    ("total_limit_size 201326592", "total_limit_size 300m",
     "buffer total_limit_size 314572800 is not below its volume"),
    ("    total_limit_size 201326592\n", "", "file buffer without total_limit_size"),
])
def test_a_fluentd_buffer_cap_at_or_above_its_volume_fails_check(forwarding: Path, before: str, after: str,
                                                                 problem: str | None) -> None:
    for path in (forwarding / "config/fluentd/fluent.conf", forwarding / "k8s/configmaps.yaml"):
        text = path.read_text()
        if path.suffix == ".yaml":  # the ConfigMap holds the same text as a YAML string
            config_map = list(yaml.safe_load_all(text))
            data = config_map[0]["data"]
            data["fluent.conf"] = data["fluent.conf"].replace(before, after)
            path.write_text(yaml.safe_dump_all(config_map))
        else:
            path.write_text(text.replace(before, after))
    problems = [p for p in check_folder(forwarding) if "checksum" not in p]
    if problem is None:
        assert problems == []
    else:
        assert len(problems) == 1 and problem in problems[0], problems
        assert problems[0].startswith(f"{forwarding / 'config/fluentd/fluent.conf'}:")


def test_an_envoy_config_that_passed_is_not_validated_again(render: Path, monkeypatch) -> None:
    """envoy-data-plane costs ~1.5 s of imports a check: a pass is remembered by the file's bytes
    (and the library's version), so an unchanged file skips it and a changed one does not; the
    own rules run either way."""
    import sys

    from generator.errors import CheckError

    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)  # the isolated HOME's ~/.cache
    path = render / "config" / "envoy" / "envoy.yaml"
    edit(path, "route: {cluster: app}", "route: {cluster: nope}")  # passes the API, not the own rules
    problem = check_envoy(path)
    assert len(problem) == 1 and f"{path}: route to cluster 'nope': no such cluster" in problem[0]
    monkeypatch.setitem(sys.modules, "envoy_data_plane.envoy.config.bootstrap.v3", None)  # import fails now
    assert check_envoy(path) == problem
    path.write_text(path.read_text() + "# edited\n")
    with pytest.raises(CheckError, match="envoy-data-plane: not installed"):
        check_envoy(path)
