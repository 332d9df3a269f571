"""Every own rule of `sidecar-new check` catches a seeded defect: each test breaks one thing in a
clean full render and expects that rule's problem. The table is checked against the rule
registries in generator/tools/check.py, so a rule added there without a defect here fails."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from generator.tools import check
from generator.tools.check_configs import check_envoy, check_fluentd
from test_golden import write_case

CASE = "all-sidecars-1.31"


def own_file_checks(folder: Path) -> list[str]:
    """The rules over files that need no tool (cheap); the tool rules use the whole check."""
    problems = check.check_config_maps(folder) + check.check_config_modes(folder) + check.check_fluentd_budget(folder)
    problems += check._recorded_version(folder)[1]
    problems += check_envoy(folder / "config/envoy/envoy.yaml")
    return problems + check_fluentd(folder / "config/fluentd/fluent.conf")


CHECKERS: dict[str, Callable[[Path], list[str]]] = {
    "compose": lambda folder: list(check.lint_compose(yaml.safe_load((folder / "compose.yaml").read_text()))),
    "pods": lambda folder: list(check.lint_pod_specs(
        list(yaml.safe_load_all((folder / "k8s/deployment.yaml").read_text())))),
    "files": own_file_checks,
    "check": check.check_folder,
}


@dataclass(frozen=True)
class Defect:
    rule: str
    what: str  # the defect, as the test id shows it
    seed: Callable[[Path], None]
    expected: str
    checker: str


def edit_yaml(relative: str, change: Callable[[Any], None]) -> Callable[[Path], None]:
    def seed(folder: Path) -> None:
        path = folder / relative
        document = yaml.safe_load(path.read_text())
        change(document)
        path.write_text(yaml.safe_dump(document, sort_keys=False))
    return seed


def build_overlay(folder: Path, kustomization: str, service: str = "") -> None:
    """An overlay of its own under k8s/overlays/dev/ (check builds every one it finds)."""
    overlay = folder / "k8s" / "overlays" / "dev"
    overlay.mkdir(parents=True)
    (overlay / "kustomization.yaml").write_text(kustomization)
    if service:
        (overlay / "service.yaml").write_text(service)


def edit_text(relative: str, old: str, new: str) -> Callable[[Path], None]:
    def seed(folder: Path) -> None:
        path = folder / relative
        assert old in path.read_text(), f"{old!r} not in {relative}"
        path.write_text(path.read_text().replace(old, new, 1))
    return seed


def both(*seeds: Callable[[Path], None]) -> Callable[[Path], None]:
    def seed(folder: Path) -> None:
        for one in seeds:
            one(folder)
    return seed


def service(name: str, change: Callable[[dict], None]) -> Callable[[Path], None]:
    return edit_yaml("compose.yaml", lambda document: change(document["services"][name]))


def container(name: str, change: Callable[[dict], None]) -> Callable[[Path], None]:
    def find(document: dict) -> None:
        pod = document["spec"]["template"]["spec"]
        change(next(c for c in [*pod.get("initContainers", []), *pod["containers"]] if c["name"] == name))
    return edit_yaml("k8s/deployment.yaml", find)


def security(key: str, value: Any = None) -> Callable[[dict], None]:
    def change(c: dict) -> None:
        if value is None:
            del c["securityContext"][key]
        else:
            c["securityContext"][key] = value
    return change


def envoy(change: Callable[[dict], None]) -> Callable[[Path], None]:
    return edit_yaml("config/envoy/envoy.yaml", change)


def first_listener(config: dict) -> dict:
    return config["static_resources"]["listeners"][0]


def route(config: dict) -> dict:
    manager = first_listener(config)["filter_chains"][0]["filters"][0]["typed_config"]
    return manager["route_config"]["virtual_hosts"][0]["routes"][0]["route"]


def second_listener(config: dict) -> None:
    copy = yaml.safe_load(yaml.safe_dump(first_listener(config)))
    copy["address"]["socket_address"]["port_value"] = 10001
    config["static_resources"]["listeners"].append(copy)


def chmod(relative: str, mode: int) -> Callable[[Path], None]:
    return lambda folder: (folder / relative).chmod(mode)


FLUENT = "config/fluentd/fluent.conf"
BOTH_FLUENT = ("config/fluentd/fluent.conf", "k8s/configmaps.yaml")  # edited alike, so they agree


def append_fluent(text: str) -> Callable[[Path], None]:
    return both(*(edit_text(path, "</match>\n", "</match>\n" + text.replace("\n", "\n" + (
        "    " if path.endswith("configmaps.yaml") else ""))) for path in BOTH_FLUENT))


DEFECTS = [
    # Compose, service by service.
    *[Defect("compose-network-mode-alone", key, service("fluentd", lambda s, k=key, v=value: s.update({k: v})),
             f"service fluentd: {key} cannot go with service:netns", "compose")
      for key, value in [("ports", ["24224:24224"]), ("expose", ["24224"]), ("hostname", "logs"),
                         ("networks", ["default"])]],
    Defect("compose-image-pinned", "latest", service("envoy", lambda s: s.update(image="envoyproxy/envoy:latest")),
           "service envoy: image 'envoyproxy/envoy:latest' is not pinned", "compose"),
    Defect("compose-image-pinned", "untagged", service("netns", lambda s: s.update(image="registry.k8s.io/pause")),
           "service netns: image 'registry.k8s.io/pause' is not pinned", "compose"),
    Defect("compose-read-only", "removed", service("envoy", lambda s: s.pop("read_only")),
           "service envoy: not read_only", "compose"),
    Defect("compose-cap-drop-all", "removed", service("envoy", lambda s: s.pop("cap_drop")),
           "service envoy: cap_drop does not drop ALL", "compose"),
    Defect("compose-cap-drop-all", "some", service("envoy", lambda s: s.update(cap_drop=["NET_RAW"])),
           "service envoy: cap_drop does not drop ALL", "compose"),
    Defect("compose-user-not-root", "no user", service("envoy", lambda s: s.pop("user")),
           "service envoy: no user", "compose"),
    Defect("compose-user-not-root", "uid 0", service("metrics", lambda s: s.update(user="0:10001")),
           "service metrics: runs as root", "compose"),
    Defect("compose-no-new-privileges", "removed", service("fluentd", lambda s: s.pop("security_opt")),
           "service fluentd: no security_opt no-new-privileges:true", "compose"),
    Defect("compose-limits", "removed", service("metrics", lambda s: s["deploy"]["resources"].pop("limits")),
           "service metrics: no deploy.resources.limits", "compose"),
    Defect("compose-no-cpu-reservation", "cpus",
           service("metrics", lambda s: s["deploy"]["resources"]["reservations"].update(cpus="0.1")),
           "service metrics: deploy.resources.reservations.cpus does nothing", "compose"),
    Defect("compose-logs-rotated", "no logging", service("orders-api", lambda s: s.pop("logging")),
           "service orders-api: container logs are never rotated", "compose"),
    Defect("compose-no-lone-dollar", "env", service("fluentd", lambda s: s["environment"].update(KEY="${SECRET}")),
           "service fluentd: '${SECRET}' holds a lone $", "compose"),
    # Fluentd's pos, buffer and tmp tmpfs (288m) with its 128m reservation under the 256m it had.
    Defect("compose-tmpfs-within-memory", "limit without its tmpfs",
           service("fluentd", lambda s: s["deploy"]["resources"]["limits"].update(memory="256m")),
           "service fluentd: the tmpfs volumes it writes (288m) and its memory reservation (128m) exceed",
           "compose"),
    # Kubernetes, container by container (a native sidecar as well as the app).
    Defect("k8s-image-pinned", "latest", container("envoy", lambda c: c.update(image="envoyproxy/envoy:latest")),
           "container envoy: image 'envoyproxy/envoy:latest' is not pinned", "pods"),
    *[Defect("k8s-requests-and-limits", f"{part}.{key}",
             container("metrics", lambda c, p=part, k=key: c["resources"][p].pop(k)),
             f"container metrics: no resources.{part}.{key}", "pods")
      for part in ("requests", "limits") for key in ("cpu", "memory")],
    Defect("k8s-limit-not-below-request", "memory",
           container("orders-api", lambda c: c["resources"]["limits"].update(memory="1Mi")),
           "container orders-api: resources.limits.memory is below the request", "pods"),
    *[Defect("k8s-probes", probe, container("fluentd", lambda c, p=probe: c.pop(p)),
             f"container fluentd: no {probe}", "pods") for probe in ("readinessProbe", "livenessProbe")],
    Defect("k8s-runAsNonRoot", "removed", container("envoy", security("runAsNonRoot")),
           "container envoy: securityContext.runAsNonRoot is not hardened", "pods"),
    Defect("k8s-allowPrivilegeEscalation", "true", container("envoy", security("allowPrivilegeEscalation", True)),
           "container envoy: securityContext.allowPrivilegeEscalation is not hardened", "pods"),
    Defect("k8s-readOnlyRootFilesystem", "removed", container("orders-api", security("readOnlyRootFilesystem")),
           "container orders-api: securityContext.readOnlyRootFilesystem is not hardened", "pods"),
    Defect("k8s-capabilities", "drop some", container("metrics", security("capabilities", {"drop": ["NET_RAW"]})),
           "container metrics: securityContext.capabilities is not hardened", "pods"),
    Defect("k8s-seccompProfile", "unconfined",
           container("fluentd", security("seccompProfile", {"type": "Unconfined"})),
           "container fluentd: securityContext.seccompProfile is not hardened", "pods"),
    Defect("k8s-emptydir-size-limit", "removed", edit_yaml("k8s/deployment.yaml", lambda d: next(
        v for v in d["spec"]["template"]["spec"]["volumes"] if "emptyDir" in v)["emptyDir"].pop("sizeLimit")),
           "emptyDir without sizeLimit", "pods"),
    # The limits before issue 11: 416Mi of ephemeral-storage for 608Mi of emptyDirs.
    Defect("k8s-ephemeral-covers-emptydirs", "volumes left out", both(
        container("orders-api", lambda c: c["resources"]["limits"].update({"ephemeral-storage": "256Mi"})),
        container("fluentd", lambda c: c["resources"]["limits"].update({"ephemeral-storage": "64Mi"}))),
           "ephemeral-storage limits add up to 416Mi, no more than the emptyDirs' sizeLimits (608Mi)", "pods"),
    # The tools, and the version they check against.
    Defect("docker-compose-config", "unknown key", service("envoy", lambda s: s.update(bogus_key=1)),
           "docker-compose config", "check"),
    Defect("kustomize-builds", "a list document", lambda f: (f / "k8s/service.yaml").write_text(
        (f / "k8s/service.yaml").read_text() + "---\n- a list\n"), "kubectl kustomize", "check"),
    Defect("kustomize-overlay-builds", "no base", lambda f: build_overlay(f, "resources: [../../nope]\n"),
           "k8s/overlays/dev: kubectl kustomize", "check"),
    Defect("kustomize-overlay-builds", "unknown field", lambda f: build_overlay(
        f, "resources: [service.yaml]\n", service="apiVersion: v1\nkind: Service\nmetadata: {name: x}\n"
                                                   "spec: {bogus: 1, ports: [{port: 80}]}\n"),
           "k8s/overlays/dev: kubernetes-validate 1.31: ERROR", "check"),
    Defect("compose-override-config", "unknown key", lambda f: (f / "compose.dev.yaml").write_text(
        "services:\n  orders-api:\n    bogus_key: 1\n"), "compose.dev.yaml: docker-compose config with compose.yaml", "check"),
    Defect("kubernetes-schema", "unknown field", edit_yaml("k8s/service.yaml", lambda d: d["spec"].update(bogus=1)),
           "kubernetes-validate 1.31: ERROR", "check"),
    # lifecycle.preStop.sleep (rendered from 1.30) is unknown to the 1.28 schema: checked against
    # the recorded version, the render is refused; against the default it would pass.
    Defect("recorded-kubernetes-version", "1.28",
           edit_yaml(".sidecar-new.yaml", lambda d: d["kubernetes"].update(version="1.28")),
           "kubernetes-validate 1.28", "check"),
    # The files of one render, and the record.
    Defect("record-shape", "not a mapping", lambda f: (f / ".sidecar-new.yaml").write_text("kubernetes: 3\n"),
           "not a sidecar-new record", "files"),
    Defect("config-file-matches-config-map", "edited", edit_text(FLUENT, "rotate_wait 5", "rotate_wait 30"),
           "fluent.conf: differs from ConfigMap orders-api-fluentd-config", "files"),
    Defect("config-file-present", "deleted", lambda f: (f / "config/metrics/mapping.yaml").unlink(),
           "config/metrics/mapping.yaml: missing; ConfigMap orders-api-metrics-config has it", "files"),
    Defect("config-map-key-inside-folder", "../", edit_text("k8s/configmaps.yaml", "  mapping.yaml:", "  ../x:"),
           "key ../x would be mounted outside its folder", "files"),
    Defect("config-checksum-matches", "stale",
           both(*(edit_text(path, "rotate_wait 5", "rotate_wait 30") for path in BOTH_FLUENT)),
           "annotation sidecar-new.dev/config-checksum does not match the ConfigMaps", "files"),
    Defect("config-checksum-present", "deleted by hand", edit_yaml("k8s/deployment.yaml", lambda d: d["spec"][
        "template"]["metadata"]["annotations"].pop("sidecar-new.dev/config-checksum")),
           "no annotation sidecar-new.dev/config-checksum", "files"),
    Defect("config-files-readable", "0600", chmod("config/envoy/envoy.yaml", 0o600), "mode 0600", "files"),
    Defect("envoy-api", "unknown field", envoy(lambda c: c["admin"].update(bogus=1)),
           "not a valid Envoy v3 bootstrap", "files"),
    Defect("envoy-typed-config-known", "unknown type", envoy(lambda c: first_listener(c)["filter_chains"][0][
        "filters"][0]["typed_config"].update({"@type": "type.googleapis.com/envoy.extensions.nope.v3.Nope"})),
           "unknown typed_config type", "files"),
    Defect("envoy-listener-names-unique", "twice", envoy(second_listener),
           "listener name 'ingress' is used 2 times", "files"),
    Defect("envoy-routes-to-defined-clusters", "undefined", envoy(lambda c: route(c).update(cluster="nope")),
           "route to cluster 'nope': no such cluster", "files"),
    Defect("envoy-ports-in-range", "70000", envoy(lambda c: first_listener(c)["address"]["socket_address"].update(
        port_value=70000)), "port 70000 is not in 1..65535", "files"),
    Defect("envoy-ports-bound-once", "admin port", envoy(lambda c: first_listener(c)["address"][
        "socket_address"].update(port_value=c["admin"]["address"]["socket_address"]["port_value"])),
           "is bound by both admin and listener 'ingress'", "files"),
    Defect("envoy-admin-loopback", "0.0.0.0", envoy(lambda c: c["admin"]["address"]["socket_address"].update(
        address="0.0.0.0")), "admin listens on 0.0.0.0:9901", "files"),
    *[Defect("fluentd-buffer-below-volume", what, append_fluent(
        "<match other.**>\n  @type stdout\n  <buffer>\n    @type file\n    path /fluentd/buffer/other\n"
        + cap + "  </buffer>\n</match>\n"), expected, "files")
      for what, cap, expected in [("no cap", "", "file buffer without total_limit_size"),
                                  ("cap of the whole volume", "    total_limit_size 256m\n",
                                   "buffer total_limit_size 268435456 is not below its volume")]],
    Defect("fluentd-directives", "malformed", append_fluent("<source\n"), "malformed directive '<source'", "files"),
    Defect("fluentd-directives", "unbalanced", append_fluent("</match>\n"), "</match> without an opening", "files"),
    Defect("fluentd-directives", "never closed", append_fluent("<source>\n  @type forward\n"),
           "<source> is never closed", "files"),
    Defect("fluentd-plugins-typed", "untyped", append_fluent("<source>\n  port 24224\n</source>\n"),
           "<source> has no @type", "files"),
]


def registered_rules() -> set[str]:
    return {*check.COMPOSE_RULES, *check.CONTAINER_RULES, *check.POD_RULES, *check.FOLDER_RULES}


def test_every_rule_of_check_has_a_seeded_defect() -> None:
    seeded = {defect.rule for defect in DEFECTS}
    assert registered_rules() - seeded == set(), "rules without a seeded-defect test"
    assert seeded - registered_rules() == set(), "seeded defects for rules check no longer has"


@pytest.fixture(scope="module")
def clean_render(builtin_catalog, tmp_path_factory) -> Path:
    return write_case(CASE, builtin_catalog, tmp_path_factory.mktemp("clean"))


@pytest.mark.parametrize("checker", sorted(CHECKERS))
def test_the_clean_render_breaks_no_rule(checker: str, clean_render: Path) -> None:
    assert CHECKERS[checker](clean_render) == []


@pytest.mark.parametrize("defect", DEFECTS, ids=lambda d: f"{d.rule}:{d.what}")
def test_each_rule_catches_its_seeded_defect(defect: Defect, clean_render: Path, tmp_path: Path) -> None:
    import shutil

    folder = Path(shutil.copytree(clean_render, tmp_path / "out"))
    defect.seed(folder)
    problems = CHECKERS[defect.checker](folder)
    assert any(defect.expected in problem for problem in problems), problems
