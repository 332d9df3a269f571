"""The domain rules of DESIGN.md, asserted on the rendered files themselves."""

from __future__ import annotations

import copy

import yaml

from conftest import FULL_ANSWERS
from generator.pipeline import build
from generator.input.spec import parse_spec


def render(catalog, **changes) -> dict[str, str]:
    answers = copy.deepcopy(FULL_ANSWERS)
    answers.update(changes)
    return {k: v.decode() for k, v in build(parse_spec(answers, catalog), catalog).items()}


def pod_spec(files: dict[str, str]) -> dict:
    return yaml.safe_load(files["k8s/deployment.yaml"])["spec"]["template"]["spec"]


def test_sidecars_are_native_init_containers_from_1_29(builtin_catalog) -> None:
    spec = pod_spec(render(builtin_catalog, kubernetes={"version": "1.29"}))
    assert [c["name"] for c in spec["containers"]] == ["orders-api"]
    assert [(c["name"], c["restartPolicy"]) for c in spec["initContainers"]] == [
        ("fluentd", "Always"), ("metrics", "Always"), ("envoy", "Always")]


def test_sidecars_are_ordinary_containers_below_1_29(builtin_catalog) -> None:
    spec = pod_spec(render(builtin_catalog, kubernetes={"version": "1.28"}))
    assert "initContainers" not in spec
    assert [c["name"] for c in spec["containers"]] == ["orders-api", "fluentd", "metrics", "envoy"]
    assert all("restartPolicy" not in c and "lifecycle" not in c for c in spec["containers"])


def test_every_container_is_hardened_limited_and_probed(builtin_catalog) -> None:
    spec = pod_spec(render(builtin_catalog))
    assert spec["automountServiceAccountToken"] is False
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    for container in spec["initContainers"] + spec["containers"]:
        context = container["securityContext"]
        assert context["runAsNonRoot"] and not context["allowPrivilegeEscalation"]
        assert context["readOnlyRootFilesystem"] and context["capabilities"] == {"drop": ["ALL"]}
        assert context["runAsUser"] >= 10000
        assert set(container["resources"]["limits"]) == {"cpu", "memory", "ephemeral-storage"}
        assert {"startupProbe", "readinessProbe", "livenessProbe"} <= set(container)
        probe_ports = {(container[p].get("httpGet") or container[p]["tcpSocket"])["port"]
                       for p in ("readinessProbe", "livenessProbe")}
        assert probe_ports <= {p["containerPort"] for p in container["ports"]}
    assert all("sizeLimit" in v["emptyDir"] for v in spec["volumes"] if "emptyDir" in v)


def test_the_proxy_takes_the_apps_place_in_the_service_and_policy(builtin_catalog) -> None:
    files = render(builtin_catalog)
    service = yaml.safe_load(files["k8s/service.yaml"])
    assert [(p["port"], p["targetPort"]) for p in service["spec"]["ports"]] == [(10000, 10000)]
    policy = yaml.safe_load(files["k8s/networkpolicy.yaml"])
    open_ports = {p["port"] for p in policy["spec"]["ingress"][0]["ports"]}
    assert 10000 in open_ports and 9901 not in open_ports  # the Envoy admin port stays closed


def test_without_a_proxy_the_service_targets_the_app(builtin_catalog) -> None:
    service = yaml.safe_load(render(builtin_catalog, sidecars=["fluentd"])["k8s/service.yaml"])
    assert [p["targetPort"] for p in service["spec"]["ports"]] == [8080]


def test_compose_app_and_sidecars_join_a_namespace_holder_that_publishes_the_ports(builtin_catalog) -> None:
    compose = yaml.safe_load(render(builtin_catalog)["compose.yaml"])
    holder = compose["services"]["netns"]
    # The pause image: pinned, non-root, read-only, no capabilities, small limits, restarted
    # only with the stack (it never crashes: it waits for a signal).
    assert holder["image"] == "registry.k8s.io/pause:3.10" and holder["user"] == "65535:65535"
    assert holder["read_only"] and holder["cap_drop"] == ["ALL"] and holder["restart"] == "unless-stopped"
    assert holder["deploy"]["resources"]["limits"] == {"cpus": "0.05", "memory": "16m"}
    assert holder["ports"] == ["10000:10000"]
    assert not {"network_mode", "depends_on", "volumes"} & set(holder)
    for name in ("orders-api", "fluentd", "envoy", "metrics"):
        service = compose["services"][name]
        # The app too: a crashed app restarted by Docker comes back into the holder's namespace.
        assert service["network_mode"] == "service:netns", name
        assert not {"ports", "expose", "hostname", "networks"} & set(service)
        assert service["depends_on"]["netns"] == {"condition": "service_started"}
        assert service["read_only"] and service["cap_drop"] == ["ALL"]
        assert "limits" in service["deploy"]["resources"]
    for name in ("fluentd", "envoy", "metrics"):
        # No restart: true any more: nothing to follow when the app restarts.
        assert compose["services"][name]["depends_on"]["orders-api"] == {"condition": "service_started"}
    assert "version" not in compose
    # Healthchecks only where the image has the command: none for distroless Envoy.
    assert "healthcheck" not in compose["services"]["envoy"]
    assert compose["services"]["metrics"]["healthcheck"]["test"][:2] == ["CMD", "wget"]


def test_a_catalog_names_its_own_namespace_holder_image(builtin_catalog) -> None:
    import dataclasses

    mirrored = dataclasses.replace(builtin_catalog, namespace_holder="mirror.example.com/k8s/pause:3.10")
    files = build(parse_spec(copy.deepcopy(FULL_ANSWERS), mirrored), mirrored)
    assert yaml.safe_load(files["compose.yaml"])["services"]["netns"]["image"] == "mirror.example.com/k8s/pause:3.10"


def test_an_app_named_like_the_namespace_holder_is_refused(builtin_catalog) -> None:
    import pytest

    from generator.errors import SpecError

    answers = copy.deepcopy(FULL_ANSWERS)
    answers["app"]["name"] = "netns"
    with pytest.raises(SpecError, match="app.name: 'netns' names the Compose service"):
        build(parse_spec(answers, builtin_catalog), builtin_catalog)


def test_every_compose_service_rotates_its_logs_and_reserves_no_cpu(builtin_catalog) -> None:
    compose = yaml.safe_load(render(builtin_catalog)["compose.yaml"])
    assert set(compose["services"]) == {"netns", "orders-api", "fluentd", "envoy", "metrics"}
    for name, service in compose["services"].items():
        assert service["logging"] == {"driver": "json-file", "options": {"max-size": "10m", "max-file": "5"}}, name
        assert set(service["deploy"]["resources"]["reservations"]) == {"memory"}, name


def test_compose_waits_for_a_healthy_app_when_it_has_a_health_command(builtin_catalog) -> None:
    answers_app = {**FULL_ANSWERS["app"], "health_command": ["wget", "-q", "--spider", "http://127.0.0.1:8080/healthz"]}
    compose = yaml.safe_load(render(builtin_catalog, app=answers_app)["compose.yaml"])
    assert compose["services"]["orders-api"]["healthcheck"]["test"][0] == "CMD"
    assert compose["services"]["envoy"]["depends_on"]["orders-api"]["condition"] == "service_healthy"


def test_log_volume_is_shared_read_only_with_the_log_shipper(builtin_catalog) -> None:
    files = render(builtin_catalog)
    compose = yaml.safe_load(files["compose.yaml"])
    app_mounts = {m["source"]: m for m in compose["services"]["orders-api"]["volumes"]}
    shipper_mounts = {m["source"]: m for m in compose["services"]["fluentd"]["volumes"]}
    assert app_mounts["app-logs"]["target"] == shipper_mounts["app-logs"]["target"] == "/var/log/app"
    assert shipper_mounts["app-logs"]["read_only"] is True and "read_only" not in app_mounts["app-logs"]
    assert shipper_mounts["./config/fluentd"] == {"type": "bind", "source": "./config/fluentd",
                                                   "target": "/fluentd/etc", "read_only": True}
    assert 'path "/var/log/app/*.log"' in files["config/fluentd/fluent.conf"]


def test_config_change_changes_the_pod_template_checksum(builtin_catalog) -> None:
    def checksum(files):
        return yaml.safe_load(files["k8s/deployment.yaml"])["spec"]["template"]["metadata"]["annotations"][
            "sidecar-new.dev/config-checksum"]

    before = render(builtin_catalog)
    after = render(builtin_catalog, sidecars=["fluentd", {"name": "envoy", "params": {"listen_port": 10001}}, "metrics"])
    assert before["config/envoy/envoy.yaml"] != after["config/envoy/envoy.yaml"]
    assert checksum(before) != checksum(after)
    configmaps = list(yaml.safe_load_all(after["k8s/configmaps.yaml"]))
    envoy_map = next(m for m in configmaps if m["metadata"]["name"] == "orders-api-envoy-config")
    assert envoy_map["data"]["envoy.yaml"] == after["config/envoy/envoy.yaml"]


def test_prestop_sleep_only_where_the_schema_and_feature_allow_it(builtin_catalog) -> None:
    def sleeps(version):
        spec = pod_spec(render(builtin_catalog, kubernetes={"version": version}))
        return {c["name"]: c.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds")
                for c in spec.get("initContainers", []) + spec["containers"]}

    # Only the app sleeps, through the longest drain a sidecar asks for (Envoy's 10 s): the
    # proxy, a native sidecar, is stopped after the app has exited and needs no sleep.
    assert sleeps("1.30") == {"orders-api": 10, "envoy": None, "fluentd": None, "metrics": None}
    assert set(sleeps("1.29").values()) == {None}


def test_the_app_drains_before_the_proxy_which_outlives_it(builtin_catalog) -> None:
    """preStop hooks run in parallel and native sidecars stop after the main containers
    (KEP-753): the app's preStop must cover the proxy's drain, and the grace period the
    drain plus the app's and the sidecars' shutdown."""
    answers_envoy = {"name": "envoy", "params": {"drain_seconds": 25}}
    spec = pod_spec(render(builtin_catalog, sidecars=["fluentd", answers_envoy],
                           kubernetes={"version": "1.31"}))
    app = spec["containers"][0]
    assert app["lifecycle"]["preStop"]["sleep"]["seconds"] == 25
    envoy = next(c for c in spec["initContainers"] if c["name"] == "envoy")
    assert envoy["restartPolicy"] == "Always" and "lifecycle" not in envoy
    assert spec["terminationGracePeriodSeconds"] == 25 + 30
    # Compose runs no preStop hook: every service gets the time Kubernetes gives after SIGTERM.
    compose = yaml.safe_load(render(builtin_catalog, sidecars=["fluentd", answers_envoy])["compose.yaml"])
    assert {s["stop_grace_period"] for s in compose["services"].values()} == {"30s"}


def test_fluentd_forwards_when_given_an_aggregator(builtin_catalog) -> None:
    files = render(builtin_catalog, sidecars=[{"name": "fluentd", "params": {"forward_host": "logs.example.com"}}])
    conf = files["config/fluentd/fluent.conf"]
    assert "@type forward" in conf and 'host "logs.example.com"' in conf and "port 24224" in conf
    assert "@type stdout" not in conf


def test_metrics_sidecar_tells_the_app_where_to_send_statsd(builtin_catalog) -> None:
    spec = pod_spec(render(builtin_catalog, sidecars=["metrics"]))
    assert {"name": "STATSD_HOST", "value": "127.0.0.1"} in spec["containers"][0]["env"]
    assert {"name": "STATSD_PORT", "value": "9125"} in spec["containers"][0]["env"]


def test_a_metrics_sidecar_is_scraped_and_the_app_port_stays_closed_behind_the_proxy(builtin_catalog) -> None:
    files = render(builtin_catalog)  # app metrics_path, envoy and the metrics sidecar
    annotations = yaml.safe_load(files["k8s/deployment.yaml"])["spec"]["template"]["metadata"]["annotations"]
    assert (annotations["prometheus.io/port"], annotations["prometheus.io/path"]) == ("9102", "/metrics")
    policy = yaml.safe_load(files["k8s/networkpolicy.yaml"])
    assert {p["port"] for p in policy["spec"]["ingress"][0]["ports"]} == {10000, 9102}


def test_without_a_metrics_sidecar_the_apps_own_metrics_path_is_scraped(builtin_catalog) -> None:
    files = render(builtin_catalog, sidecars=["fluentd"])
    annotations = yaml.safe_load(files["k8s/deployment.yaml"])["spec"]["template"]["metadata"]["annotations"]
    assert (annotations["prometheus.io/port"], annotations["prometheus.io/path"]) == ("8080", "/metrics")
