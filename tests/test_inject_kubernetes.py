"""inject into Kubernetes YAML written by other people (tests/inject_fixtures, unmodified): the
sidecars go in wired as `new` renders them, the rest of the file stays byte for byte, a second
inject changes nothing and --remove gives the original back."""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path

import pytest
import yaml

from generator.catalog.loader import load_catalog
from generator.errors import SpecError
from generator.inject.derive import Request
from generator.inject.kubernetes import inject
from generator.inject.record import KEY
from generator.output.naming import CHECKSUM_ANNOTATION, checksum_of
from generator.tools.check import CONTAINER_RULES, POD_RULES, validate_schemas

FIXTURES = Path(__file__).parent / "inject_fixtures"
FRONTEND = "microservices-demo-frontend.yaml"
CASSANDRA = "examples-cassandra-statefulset.yaml"
JAVAWEB = "examples-javaweb-pod.yaml"
CATALOG = load_catalog()


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


def guestbook() -> str:
    """The guestbook's Deployment and Service, as `cat a.yaml - b.yaml` would join them."""
    return fixture("examples-guestbook-frontend-deployment.yaml") + "---\n" + fixture("examples-guestbook-frontend-service.yaml")


def run(text: str, *sidecars: str, sets: tuple[str, ...] = (), version: str | None = None, **kw):
    return inject(text, "input.yaml", CATALOG, Request(sidecars, sets, version), **kw)


CASES = [  # (input, sidecars, --set, --workload)
    (FRONTEND, ("envoy", "metrics"), (), None),
    (FRONTEND, ("fluentd",), ("app.log_dir=/var/log/frontend",), None),
    (CASSANDRA, ("metrics",), (), None),
    (JAVAWEB, ("envoy", "fluentd", "metrics"), ("app.log_dir=/var/log/tomcat",), None),
    ("microservices-demo-cartservice.yaml", ("envoy",), ("app.health_path=/",), "Deployment/cartservice"),
    ("guestbook", ("envoy", "fluentd"), ("app.log_dir=/var/log/apache2",), None),
]


def source_of(name: str) -> str:
    return guestbook() if name == "guestbook" else fixture(name)


def case_id(case) -> str:
    return f"{case[0].removesuffix('.yaml')}-{'+'.join(case[1])}"


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_a_second_inject_changes_nothing_and_remove_restores_the_original(case) -> None:
    name, sidecars, sets, workload = case
    original = source_of(name)
    once = run(original, *sidecars, sets=sets, workload=workload).text
    assert once != original
    assert run(once, *sidecars, workload=workload).text == once  # the same request again: a no-op
    assert run(once, workload=workload, remove=sidecars).text == original  # byte for byte


@pytest.mark.parametrize("case", CASES, ids=case_id)
@pytest.mark.parametrize("version", ["1.33", "1.28"])
def test_the_output_passes_kubernetes_validate_strict(case, version: str) -> None:
    name, sidecars, sets, workload = case
    text = run(source_of(name), *sidecars, sets=sets, workload=workload, version=version).text
    documents = [d for d in yaml.safe_load_all(text) if d and d.get("kind") != "StorageClass"]
    assert list(validate_schemas(documents, version)) == []


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_the_injected_parts_pass_the_rules_of_check(case) -> None:
    """check's container rules on every injected container, its pod rules on the injected
    volumes, and the checksum annotation is the ConfigMaps' (as check computes it)."""
    name, sidecars, sets, workload = case
    documents = list(yaml.safe_load_all(run(source_of(name), *sidecars, sets=sets, workload=workload).text))
    target = next(d for d in documents if d and KEY in d["metadata"].get("annotations", {}))
    template = target if target["kind"] == "Pod" else target["spec"]["template"]
    pod = template["spec"]
    injected = [c for c in pod.get("initContainers", []) if c["name"] in sidecars]
    assert [c["name"] for c in injected] and len(injected) == len(sidecars)
    problems = [p for c in injected for rule in CONTAINER_RULES.values() for p in rule(c["name"], c)]
    ours = set(json.loads(target["metadata"]["annotations"][KEY])["volumes"]["names"])
    problems += list(POD_RULES["k8s-emptydir-size-limit"]({"volumes": [v for v in pod["volumes"] if v["name"] in ours]}))
    assert problems == []
    config_maps = [d for d in documents if d and d["kind"] == "ConfigMap"]
    mounted = {v["configMap"]["name"]: v.get("configMap", {}) for v in pod["volumes"] if "configMap" in v}
    entries = [(cm["metadata"]["name"].removeprefix(f"{target['metadata']['name']}-").removesuffix("-config"), key, text)
               for cm in config_maps for key, text in cm["data"].items() if cm["metadata"]["name"] in mounted]
    assert template["metadata"]["annotations"][CHECKSUM_ANNOTATION] == checksum_of(entries)


def test_untouched_lines_comments_quoting_and_mixed_indentation_stay_as_they_were() -> None:
    original = fixture(FRONTEND)  # containers indented, ports/env flush: ruamel.yaml rewrites these
    text = run(original, "envoy", "metrics").text
    before, after = original.splitlines(), text.splitlines()
    changed = [(op, before[i1:i2], after[j1:j2]) for op, i1, i2, j1, j2
               in difflib.SequenceMatcher(None, before, after, autojunk=False).get_opcodes() if op != "equal"]
    assert all(op == "insert" for op, _, _ in changed if op != "replace")
    # The only lines changed rather than added: the Services' targetPort, moved to the proxy.
    assert [(old, new) for op, old, new in changed if op == "replace"] == [
        (["    targetPort: 8080"], ["    targetPort: 10000"])] * 2
    assert "          # # ENV_PLATFORM: One of: local, gcp, aws, azure, onprem, alibaba" in after
    assert '        sidecar.istio.io/rewriteAppHTTPProbers: "true"' in after
    assert after[:14] == before[:14]  # the licence header


def test_the_injected_sidecar_is_the_one_new_renders() -> None:
    from generator.input.spec import parse_spec
    from generator.pipeline import build

    text = run(fixture(FRONTEND), "envoy").text
    pod = yaml.safe_load(text.split("\n---")[0])["spec"]["template"]["spec"]
    answers = {"app": {"name": "frontend", "image": "frontend:1", "port": 8080, "health_path": "/_healthz"},
               "sidecars": ["envoy"], "targets": ["kubernetes"]}
    rendered = yaml.safe_load(build(parse_spec(answers, CATALOG), CATALOG)["k8s/deployment.yaml"])
    expected = rendered["spec"]["template"]["spec"]["initContainers"][0]
    expected["securityContext"]["runAsGroup"] = 1000  # the app's group, read from the pod
    assert pod["initContainers"] == [expected]
    assert pod["volumes"] == [v for v in rendered["spec"]["template"]["spec"]["volumes"] if v["name"] == "envoy-config"]


def test_below_1_29_sidecars_are_ordinary_containers() -> None:
    documents = list(yaml.safe_load_all(run(fixture(FRONTEND), "envoy", version="1.28").text))
    pod = documents[0]["spec"]["template"]["spec"]
    assert "initContainers" not in pod
    assert [c["name"] for c in pod["containers"]] == ["server", "envoy"]
    assert "restartPolicy" not in pod["containers"][1]


def test_the_app_gets_the_env_and_shared_mounts_its_sidecars_need() -> None:
    pod = yaml.safe_load(run(fixture(FRONTEND), "metrics", "fluentd", sets=("app.log_dir=/var/log/app",))
                         .text.split("\n---")[0])["spec"]["template"]["spec"]
    app = pod["containers"][0]
    assert app["env"][-2:] == [{"name": "STATSD_HOST", "value": "127.0.0.1"}, {"name": "STATSD_PORT", "value": "9125"}]
    assert app["volumeMounts"] == [{"name": "app-logs", "mountPath": "/var/log/app"}]
    fluentd = next(c for c in pod["initContainers"] if c["name"] == "fluentd")
    assert {"name": "app-logs", "mountPath": "/var/log/app", "readOnly": True} in fluentd["volumeMounts"]


def test_a_log_folder_the_app_already_mounts_is_shared_as_it_is() -> None:
    original = fixture(JAVAWEB)  # tomcat mounts app-volume at .../webapps
    text = run(original, "fluentd", sets=("app.log_dir=/root/apache-tomcat-7.0.42-v2/webapps",)).text
    pod = yaml.safe_load(text.split("\n---")[0])["spec"]
    fluentd = next(c for c in pod["initContainers"] if c["name"] == "fluentd")
    assert {"name": "app-volume", "mountPath": "/root/apache-tomcat-7.0.42-v2/webapps", "readOnly": True} in fluentd["volumeMounts"]
    assert "app-logs" not in {v["name"] for v in pod["volumes"]}
    assert len(pod["containers"][0]["volumeMounts"]) == 1  # the app's own mount, nothing added


def test_a_service_without_target_port_gets_the_proxy_port_and_loses_it_on_remove() -> None:
    original = guestbook()
    text = run(original, "envoy").text
    service = [d for d in yaml.safe_load_all(text) if d["kind"] == "Service"][0]
    assert service["spec"]["ports"] == [{"port": 80, "targetPort": 10000}]
    assert run(text, remove=("envoy",)).text == original


def test_the_summary_names_every_change_to_the_apps_own_fields() -> None:
    outcome = run(fixture(FRONTEND), "envoy", "metrics")
    summary = "\n".join(outcome.summary)
    for expected in ("app container server, port 8080", "health path /_healthz", "group 1000",
                     "container server: env STATSD_HOST=127.0.0.1 added", "container server: env STATSD_PORT=9125 added",
                     f"pod template: annotation {CHECKSUM_ANNOTATION} added",
                     "Service/frontend: port 80 targetPort 8080 -> 10000",
                     "Service/frontend-external: port 80 targetPort 8080 -> 10000"):
        assert expected in summary


def test_removing_one_of_two_sidecars_leaves_what_injecting_the_other_alone_gives() -> None:
    original = fixture(FRONTEND)
    both = run(original, "envoy", "metrics").text
    assert run(both, remove=("envoy",)).text == run(original, "metrics").text


def test_injecting_another_sidecar_later_equals_injecting_both_at_once() -> None:
    original = fixture(FRONTEND)
    assert run(run(original, "metrics").text, "envoy").text == run(original, "metrics", "envoy").text


def test_a_file_without_a_final_newline_keeps_it_that_way() -> None:
    original = fixture(JAVAWEB).rstrip("\n")
    text = run(original, "envoy").text
    assert not text.endswith("\n")
    assert run(text, remove=("envoy",)).text == original


CRONJOB = """\
apiVersion: batch/v1
kind: CronJob
metadata:
  name: report   # nightly
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
            - name: report
              image: team/report:2.1.0
"""


def test_a_cronjob_template_without_metadata_gets_and_loses_it() -> None:
    text = run(CRONJOB, "metrics").text
    template = yaml.safe_load(text.split("\n---")[0])["spec"]["jobTemplate"]["spec"]["template"]
    assert CHECKSUM_ANNOTATION in template["metadata"]["annotations"]
    assert template["spec"]["initContainers"][0]["restartPolicy"] == "Always"  # never blocks completion
    assert "  name: report   # nightly" in text
    assert run(text, remove=("metrics",)).text == CRONJOB
    documents = [d for d in yaml.safe_load_all(text)]
    assert list(validate_schemas(documents, "1.33")) == []


def test_a_job_below_1_29_is_refused_because_the_sidecar_would_block_it() -> None:
    with pytest.raises(SpecError, match=r"CronJob/report: below Kubernetes 1.29 .* keep the Job from completing"):
        run(CRONJOB, "metrics", version="1.28")


def error_of(text: str, *sidecars: str, **kw) -> str:
    with pytest.raises(SpecError) as caught:
        run(text, *sidecars, **kw)
    message = caught.value.message
    assert "\n" not in message
    return message


def with_container(extra: str) -> str:
    """The guestbook Deployment with one more container after the app."""
    return fixture("examples-guestbook-frontend-deployment.yaml") + extra


def test_conflicts_are_refused_in_one_line_naming_the_cause() -> None:
    assert "hostNetwork: true" in error_of(fixture("examples-newrelic-daemonset.yaml"), "metrics")
    named_envoy = with_container("      - name: envoy\n        image: team/tool:1.0\n")
    assert error_of(named_envoy, "envoy", container="php-redis") == "Deployment/frontend: container name 'envoy' is taken"
    busy_port = with_container("      - name: admin\n        image: team/tool:1.0\n        ports:\n        - containerPort: 9901\n")
    assert error_of(busy_port, "envoy", container="php-redis").startswith(
        "Deployment/frontend: port 9901 of sidecar 'envoy' is in use by container 'admin'")
    proxy = with_container("      - name: proxy\n        image: docker.io/envoyproxy/envoy:v1.30.1\n")
    assert error_of(proxy, "envoy", container="php-redis") == (
        "Deployment/frontend: container 'proxy' is already a proxy sidecar; 'envoy' would be a second one")
    volume = fixture(JAVAWEB).replace("app-volume", "envoy-config")
    assert error_of(volume, "envoy") == "Pod/javaweb: volume name 'envoy-config' is taken"
    env = fixture(FRONTEND).replace("name: PORT\n", "name: STATSD_PORT\n")
    assert "already sets STATSD_PORT" in error_of(env, "metrics")


def test_kinds_that_cannot_take_sidecars_are_one_line_errors() -> None:
    controller = "apiVersion: v1\nkind: ReplicationController\nmetadata:\n  name: old\nspec:\n  template: {}\n"
    assert "a ReplicationController is superseded by Deployment" in error_of(controller, "envoy")
    service = fixture("examples-guestbook-frontend-service.yaml")
    assert error_of(service, "envoy").startswith("input.yaml: no workload that can take sidecars")
    assert "cannot take sidecars" in error_of(controller, "envoy", workload="ReplicationController/old")


def test_several_workloads_or_containers_must_be_named() -> None:
    cart = fixture("microservices-demo-cartservice.yaml")
    assert "2 workloads (Deployment/cartservice, Deployment/redis-cart)" in error_of(cart, "envoy")
    two = with_container("      - name: helper\n        image: team/tool:1.0\n")
    assert "name the app with --container NAME" in error_of(two, "envoy")
    assert "--workload Deployment/nope: not in input.yaml" in error_of(cart, "envoy", workload="Deployment/nope")


def test_what_the_file_cannot_tell_is_a_set_or_a_prompt() -> None:
    assert error_of(fixture(FRONTEND), "fluentd") == (
        "app.log_dir: is required by sidecar 'fluentd'; the file does not say: give --set app.log_dir=VALUE")
    asked = []
    text = run(fixture(FRONTEND), "fluentd", ask=lambda field, why: asked.append(field) or "/var/log/x").text
    assert asked == ["log_dir"] and "mountPath: /var/log/x" in text


def test_remove_of_a_sidecar_that_was_not_injected_is_refused() -> None:
    text = run(fixture(FRONTEND), "metrics").text
    assert error_of(text, remove=("envoy",)) == "--remove envoy: not injected into Deployment/frontend (injected: metrics)"
    assert "injected: nothing" in error_of(fixture(FRONTEND), remove=("envoy",))


def test_a_flow_style_list_to_extend_is_refused_in_one_line() -> None:
    flow = fixture(JAVAWEB).replace("  volumes:\n    - name: app-volume\n      emptyDir: {}\n", "  volumes: []\n")
    assert re.fullmatch(r"line \d+: volumes: is empty or not a list; write it as a block list .*", error_of(flow, "envoy"))


def test_an_existing_collector_counts_as_the_telemetry_sidecar_it_is() -> None:
    collector = with_container("      - name: otel\n        image: otel/opentelemetry-collector-contrib:0.100.0\n")
    assert error_of(collector, "otel-collector", container="php-redis") == (
        "Deployment/frontend: container 'otel' is already a telemetry sidecar; 'otel-collector' would be a second one")
