"""The helm target: the chart, rendered by the real helm binary, gives the kustomize base's objects
(defaults, each sidecar disabled, parameters set), refuses mistyped values with helm's own schema
error, passes `helm lint --strict`, kubernetes-validate and checkov's Helm framework.

helm comes from `bash scripts/test-tools.sh` (.tools/bin/helm) or PATH; without it these tests
skip locally and fail under CI."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import FULL_ANSWERS, GOLDEN, build_file_tree, require_helm
from generator.emit.helm import emit_helm
from generator.emit.kubernetes import emit_kubernetes
from generator.emit.targets import KubernetesTarget
from generator.errors import RenderError, SpecError
from generator.input.spec import parse_spec
from generator.model.chart import build_chart
from generator.model.pod import build_pod
from generator.tools.check import lint_pod_specs, validate_schemas
from generator.catalog.loader import load_catalog

REPO = Path(__file__).parent.parent
SIDECARS = ("fluentd", "envoy", "metrics")
VERSIONS = ("1.28", "1.29", "1.30", "1.33")
# Labels Helm's conventions add or set differently; the base is managed by sidecar-new.
HELM_LABELS = ("helm.sh/chart", "app.kubernetes.io/version", "app.kubernetes.io/managed-by")
CHECKSUM = "sidecar-new.dev/config-checksum"


@pytest.fixture(scope="session")
def helm() -> str:
    return require_helm()


def answers(version: str = "1.31", sidecars: list | None = None, **kubernetes) -> dict:
    data = {**FULL_ANSWERS, "targets": ["kubernetes", "helm"],
            "kubernetes": {**FULL_ANSWERS["kubernetes"], "version": version, **kubernetes}}
    if sidecars is not None:
        data["sidecars"] = sidecars
    return data


def chart_folder(catalog, dest: Path, data: dict | None = None) -> Path:
    spec = parse_spec(data or answers(), catalog)
    for path, content in emit_helm(build_chart(spec, catalog)).items():
        (dest / path).parent.mkdir(parents=True, exist_ok=True)
        (dest / path).write_bytes(content)
    return dest / "chart"


def base_objects(catalog, data: dict) -> list[dict]:
    """The kustomize base's objects as `kubectl kustomize` gives them (namespace set on each)."""
    spec = parse_spec(data, catalog)
    files = emit_kubernetes(build_pod(spec, catalog), KubernetesTarget(spec.kubernetes_version))
    objects = []
    for path, content in files.items():
        if path != "k8s/kustomization.yaml":
            for document in yaml.safe_load_all(content):
                if document["kind"] != "Namespace":
                    document["metadata"]["namespace"] = spec.namespace
                objects.append(document)
    return objects


def helm_template(helm: str, chart: Path, version: str, *args: str, namespace: str = "orders",
                  release: str = "orders-api") -> list[dict]:
    done = subprocess.run([helm, "template", release, str(chart), "-n", namespace, "--kube-version", version,
                           *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return [d for d in yaml.safe_load_all(done.stdout) if d]


def normalized(objects: list[dict]) -> dict[tuple[str, str], dict]:
    """By kind and name, without Helm's own labels, with the checksum's value blanked (the
    chart hashes its rendered ConfigMaps, the base its config files) and a pod's volumes by
    name (the API keys them by name; the chart lists each sidecar's together)."""
    def walk(node):
        if isinstance(node, dict):
            node = {k: walk(v) for k, v in node.items()}
            if isinstance(node.get("volumes"), list) and all(isinstance(v, dict) and "name" in v for v in node["volumes"]):
                node["volumes"] = sorted(node["volumes"], key=lambda v: v["name"])
            for label in HELM_LABELS:
                if isinstance(node.get("labels"), dict):
                    node["labels"].pop(label, None)
            if isinstance(node.get("annotations"), dict) and CHECKSUM in node["annotations"]:
                node["annotations"][CHECKSUM] = "<checksum>"
            return node
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node
    return {(o["kind"], o["metadata"]["name"]): walk(o) for o in objects}


def assert_same_objects(chart_objects: list[dict], base: list[dict]) -> None:
    ours, theirs = normalized(chart_objects), normalized(base)
    assert sorted(ours) == sorted(theirs)
    for key in theirs:
        assert ours[key] == theirs[key], f"{key} differs"


def without(sidecar: str) -> list:
    return [s for s in FULL_ANSWERS["sidecars"] if (s if isinstance(s, str) else s["name"]) != sidecar]


@pytest.fixture(scope="module")
def chart(builtin_catalog, tmp_path_factory) -> Path:
    return chart_folder(builtin_catalog, tmp_path_factory.mktemp("chart"))


# --- the chart equals the base -------------------------------------------------------------

@pytest.mark.parametrize("version", VERSIONS)
def test_default_values_give_the_kustomize_base_object_for_object(helm, chart, builtin_catalog, version) -> None:
    # One chart (rendered for 1.31) serves every version: native sidecars from 1.29, preStop sleep from 1.30.
    assert_same_objects(helm_template(helm, chart, version), base_objects(builtin_catalog, answers(version)))


def test_the_apps_own_env_and_references_are_the_values_defaults(helm, builtin_catalog, tmp_path) -> None:
    data = answers()
    data["app"] = {**data["app"], "env": {"MODE": "blue $HOME", "DB_PASSWORD": {"secret": "orders-db/password"}},
                   "env_from": [{"config_map": "orders-settings"}]}
    chart = chart_folder(builtin_catalog, tmp_path, data)
    objects = helm_template(helm, chart, "1.31")
    assert_same_objects(objects, base_objects(builtin_catalog, data))
    app = next(o for o in objects if o["kind"] == "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert app["envFrom"] == [{"configMapRef": {"name": "orders-settings"}}]
    without_metrics = helm_template(helm, chart, "1.31", "--set", "sidecars.metrics.enabled=false")
    data["sidecars"] = without("metrics")
    assert_same_objects(without_metrics, base_objects(builtin_catalog, data))


@pytest.mark.parametrize("sidecar", SIDECARS)
def test_a_disabled_sidecar_takes_everything_it_brings_with_it(helm, chart, builtin_catalog, sidecar) -> None:
    objects = helm_template(helm, chart, "1.31", "--set", f"sidecars.{sidecar}.enabled=false")
    assert_same_objects(objects, base_objects(builtin_catalog, answers(sidecars=without(sidecar))))
    names = [n for n in _names(objects) if n == sidecar or n.startswith(f"{sidecar}-") or f"-{sidecar}-" in n]
    assert names in ([], ["metrics"] if sidecar == "metrics" else [])  # the app's own port is named http


def _names(node) -> list[str]:
    if isinstance(node, dict):
        return [*([node["name"]] if isinstance(node.get("name"), str) else []),
                *(n for v in node.values() for n in _names(v))]
    return [n for v in node for n in _names(v)] if isinstance(node, list) else []


def test_every_sidecar_disabled_gives_the_base_without_sidecars(helm, chart, builtin_catalog) -> None:
    flags = ",".join(f"sidecars.{s}.enabled=false" for s in SIDECARS)
    for version in ("1.28", "1.31"):
        assert_same_objects(helm_template(helm, chart, version, "--set", flags),
                            base_objects(builtin_catalog, answers(version, sidecars=[])))


PARAMS = {
    "fluentd": {"forward_host": "logs.example.internal", "format": "json", "forward_port": 24000,
                "monitor_port": 24221, "bind_address": "0.0.0.0"},
    "envoy": {"listen_port": 10001, "admin_port": 9911, "ready_port": 9913, "bind_address": "0.0.0.0",
              "drain_seconds": 3},
    "metrics": {"statsd_port": 9225, "web_port": 9202},
    "fluent-bit": {"format": "json", "forward_host": "logs.example.internal", "forward_port": 24000,
                   "http_port": 2021, "bind_address": "0.0.0.0"},
    "otel-collector": {"endpoint": "otel-gateway.observability:4317", "insecure": True, "grpc_port": 4327,
                       "http_port": 4328, "health_port": 13134, "telemetry_port": 8889},
}
# The other log shipper and the OpenTelemetry Collector (fluent-bit conflicts with fluentd).
OTHER_SIDECARS = ["fluent-bit", {"name": "envoy", "params": {"listen_port": 10000}}, "otel-collector"]


@pytest.fixture(scope="module")
def other_chart(builtin_catalog, tmp_path_factory) -> Path:
    return chart_folder(builtin_catalog, tmp_path_factory.mktemp("other"), answers(sidecars=OTHER_SIDECARS))


# Built-in templates the parameter sweep below does not change yet (named, so a new template
# must be put in PARAMS or here on purpose): the chart refuses git-sync and vault-agent (a first
# step the app waits for); nginx, pgbouncer and oauth2-proxy chart with their Secret names fixed.
NOT_SWEPT = {"nginx", "pgbouncer", "oauth2-proxy", "vault-agent", "git-sync"}


def test_every_built_in_template_is_in_a_chart_test() -> None:
    catalog = load_catalog()
    assert {t.name for t in catalog.templates} == set(PARAMS) | NOT_SWEPT
    for template in catalog.templates:  # every parameter is changed below
        if template.name in PARAMS:
            assert {p.name for p in template.params} == set(PARAMS[template.name]), template.name


@pytest.mark.parametrize("which", ["first", "other"])
def test_parameters_set_at_install_time_give_the_base_rendered_with_them(helm, chart, other_chart, builtin_catalog,
                                                                         which) -> None:
    # Every parameter of every template changed at once: config files, ports, probes, args,
    # the app's env, the Service, the NetworkPolicy and the drain (3 s, below the app's own 5).
    names = SIDECARS if which == "first" else ("fluent-bit", "envoy", "otel-collector")
    flags = ",".join(f"sidecars.{s}.{_camel(k)}={str(v).lower() if isinstance(v, bool) else v}"
                     for s in names for k, v in PARAMS[s].items() if (s, k) not in FIXED)
    objects = helm_template(helm, chart if which == "first" else other_chart, "1.31", "--set", flags)
    sidecars = [{"name": name, "params": {k: v for k, v in PARAMS[name].items() if (name, k) not in FIXED}}
                for name in names]
    assert_same_objects(objects, base_objects(builtin_catalog, answers(sidecars=sidecars)))


# Parameters of the built-in templates a chart value cannot follow (README: the narrower contract).
FIXED = {("otel-collector", "endpoint")}  # also tested inside a {% for %} loop's inline if


def test_the_built_in_templates_fixed_parameters_are_const_in_the_schema(other_chart, chart) -> None:
    found = set()
    for folder in (chart, other_chart):
        sidecars = json.loads((folder / "values.schema.json").read_text())["properties"]["sidecars"]["properties"]
        found |= {(name, key) for name, s in sidecars.items() for key, p in s["properties"].items() if "const" in p}
    assert found == {(s, _camel(k)) for s, k in FIXED}


@pytest.mark.parametrize("version", ("1.28", "1.33"))
def test_the_other_templates_chart_gives_its_base(helm, other_chart, builtin_catalog, version) -> None:
    assert_same_objects(helm_template(helm, other_chart, version),
                        base_objects(builtin_catalog, answers(version, sidecars=OTHER_SIDECARS)))
    for sidecar in ("fluent-bit", "envoy", "otel-collector"):
        rest = [s for s in OTHER_SIDECARS if (s if isinstance(s, str) else s["name"]) != sidecar]
        assert_same_objects(helm_template(helm, other_chart, version, "--set", f"sidecars.{sidecar}.enabled=false"),
                            base_objects(builtin_catalog, answers(version, sidecars=rest)))


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(w.capitalize() for w in rest)


def test_the_config_checksum_follows_the_rendered_config_maps(helm, chart) -> None:
    def checksum(*args: str) -> str:
        deployment = next(o for o in helm_template(helm, chart, "1.31", *args) if o["kind"] == "Deployment")
        return deployment["spec"]["template"]["metadata"]["annotations"][CHECKSUM]
    default = checksum()
    assert checksum("--set", "replicas=3") == default  # not a config change
    assert checksum("--set", "sidecars.fluentd.format=json") != default
    assert checksum("--set", "sidecars.metrics.enabled=false") != default


def test_envoy_workers_follow_the_cpu_limit_the_values_give(helm, chart) -> None:
    def concurrency(*args: str) -> str:
        deployment = next(o for o in helm_template(helm, chart, "1.31", *args) if o["kind"] == "Deployment")
        envoy = next(c for c in deployment["spec"]["template"]["spec"]["initContainers"] if c["name"] == "envoy")
        return envoy["args"][envoy["args"].index("--concurrency") + 1]
    assert concurrency() == "1"  # 500m
    assert concurrency("--set", "sidecars.envoy.resources.limits.cpu=1500m") == "2"
    assert concurrency("--set", "sidecars.envoy.resources.limits.cpu=3") == "3"


def test_the_app_image_values_and_extra_env_reach_the_app(helm, chart) -> None:
    objects = helm_template(helm, chart, "1.31", "--set", "image.tag=1.5.0,image.digest=sha256:" + "a" * 64,
                            "--set", "env[0].name=MODE,env[0].value=blue", "--set", "replicas=4")
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    app = deployment["spec"]["template"]["spec"]["containers"][0]
    assert app["image"] == "registry.example.com:5000/team/orders:1.5.0@sha256:" + "a" * 64
    assert app["env"][0] == {"name": "MODE", "value": "blue"}  # the app's own first
    assert app["env"][1]["name"] == "STATSD_HOST"  # then what the metrics sidecar sets
    assert deployment["spec"]["replicas"] == 4


# --- values are typed ----------------------------------------------------------------------

@pytest.mark.parametrize("setting, where", [
    ("sidecars.envoy.listenPort=abc", "/sidecars/envoy/listenPort"),
    ("sidecars.envoy.listenPort=70000", "/sidecars/envoy/listenPort"),
    ("sidecars.fluentd.format=xml", "/sidecars/fluentd/format"),
    ("sidecars.fluentd.forwardHost=not a host", "/sidecars/fluentd/forwardHost"),
    ("sidecars.envoy.enabled=maybe", "/sidecars/envoy/enabled"),
    ("sidecars.envoy.listenPot=10001", "/sidecars/envoy"),
    ("image.digest=sha256:short", "/image/digest"),
])
def test_a_mistyped_value_fails_with_helms_schema_error(helm, chart, setting, where) -> None:
    done = subprocess.run([helm, "template", "orders-api", str(chart), "--set", setting],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "values don't meet the specifications of the schema" in done.stderr
    assert f"at '{where}'" in done.stderr


def test_the_schema_types_every_template_parameter(builtin_catalog, tmp_path) -> None:
    schema = json.loads((chart_folder(builtin_catalog, tmp_path) / "values.schema.json").read_text())
    envoy = schema["properties"]["sidecars"]["properties"]["envoy"]["properties"]
    assert envoy["listenPort"]["type"] == "integer" and envoy["listenPort"]["maximum"] == 65535
    assert envoy["bindAddress"]["enum"] == ["::", "0.0.0.0"]
    assert envoy["drainSeconds"]["type"] == "integer"
    assert set(envoy) == {"enabled", "image", "resources", "listenPort", "adminPort", "readyPort", "bindAddress",
                          "drainSeconds"}


# --- the tools -----------------------------------------------------------------------------

def test_helm_lint_strict_passes(helm, chart, builtin_catalog, tmp_path) -> None:
    no_sidecars = chart_folder(builtin_catalog, tmp_path, answers(sidecars=[]))
    for folder in (chart, no_sidecars):
        done = subprocess.run([helm, "lint", "--strict", str(folder)], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr


RENDERINGS = [(version, disabled) for version in ("1.25", "1.28", "1.29", "1.31", "1.37")
              for disabled in (None, *SIDECARS)]


@pytest.mark.parametrize("version, disabled", RENDERINGS)
def test_helm_template_passes_kubernetes_validate(helm, chart, version, disabled) -> None:
    args = ["--set", f"sidecars.{disabled}.enabled=false"] if disabled else []
    objects = helm_template(helm, chart, version, *args)
    assert list(validate_schemas(objects, version)) == []
    assert list(lint_pod_specs(objects)) == []


def test_the_chart_of_a_shared_namespace_leaves_it_alone(helm, builtin_catalog, tmp_path) -> None:
    own = chart_folder(builtin_catalog, tmp_path / "own", answers(namespace="orders-api"))
    kinds = [o["kind"] for o in helm_template(helm, own, "1.31", namespace="orders-api")]
    assert "Namespace" in kinds
    shared = chart_folder(builtin_catalog, tmp_path / "shared")
    assert "Namespace" not in [o["kind"] for o in helm_template(helm, shared, "1.31")]


# --- parameters a chart value cannot follow ------------------------------------------------

COMPUTING_TEMPLATE = {
    "catalog.yaml": """\
        name: team
        version: "1.0.0"
        templates:
          - {name: echo, capability: proxy, summary: echo, image: "team/echo:1.0.0", path: templates/echo}
        """,
    "templates/echo/sidecar.yaml": """\
        params:
          port: {type: port, default: 7000, help: where it listens}
          greeting: {type: str, default: hello, help: what it says}
          loud: {type: bool, default: false, help: shout}
          greeting2: {type: str, default: hi, help: what it says in YAML}
        run_as: 10001
        args: ["--port={{ port }}", "--greeting={{ greeting | upper }}", "--loud={{ loud }}"]
        ports:
          - {name: echo, port: "{{ port }}"}
        config_dir: /etc/echo
        probes:
          readiness: {port: "{{ port }}", path: /ready}
          liveness: {port: "{{ port }}"}
        resources:
          requests: {cpu: 10m, memory: 16Mi}
          limits: {cpu: 100m, memory: 32Mi}
        """,
    "templates/echo/files/echo.conf.j2": """\
        listen {{ port }}
        next {{ port + 1 }}
        {% if loud %}volume high{% else %}volume low{% endif %}
        """,
    "templates/echo/files/echo.yaml.j2": """\
        says: {{ "say " ~ greeting2 }}
        """,
}


def test_a_parameter_the_template_computes_with_is_fixed_in_the_schema(tmp_path, helm) -> None:
    catalog = load_catalog(build_file_tree(tmp_path / "catalog", COMPUTING_TEMPLATE))
    data = {"app": {"name": "shop", "image": "team/shop:1.0.0"}, "sidecars": ["echo"], "targets": ["helm"]}
    chart = chart_folder(catalog, tmp_path / "out", data)
    echo = json.loads((chart / "values.schema.json").read_text())["properties"]["sidecars"]["properties"]["echo"]
    props = echo["properties"]
    assert props["port"] == {"const": 7000, "description": "where it listens (fixed when the chart was generated)"}
    assert props["greeting"]["const"] == "hello"  # a filter: fixed
    assert props["loud"]["type"] == "boolean"  # written out and tested: a value
    done = subprocess.run([helm, "template", "shop", str(chart), "--set", "sidecars.echo.port=7001"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "at '/sidecars/echo/port'" in done.stderr
    objects = helm_template(helm, chart, "1.31", "--set", "sidecars.echo.loud=true", namespace="shop")
    config = next(o for o in objects if o["kind"] == "ConfigMap")["data"]["echo.conf"]
    assert config == "listen 7000\nnext 7001\nvolume high\n"
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    echo_container = deployment["spec"]["template"]["spec"]["initContainers"][0]
    assert echo_container["args"] == ["--port=7000", "--greeting=HELLO", "--loud=True"]  # Python's bool, as the base
    # A value written inside a JSON string of a YAML file is escaped as the Jinja render escapes it.
    values = chart.parent / "quoted.yaml"
    values.write_text(yaml.safe_dump({"sidecars": {"echo": {"greeting2": 'a"b\\c'}}}))
    quoted = helm_template(helm, chart, "1.31", "-f", str(values), namespace="shop")
    data = next(o for o in quoted if o["kind"] == "ConfigMap")["data"]["echo.yaml"]
    assert yaml.safe_load(data) == {"says": 'say a"b\\c'}


def test_a_parameter_named_like_a_chart_key_is_refused(tmp_path) -> None:
    tree = dict(COMPUTING_TEMPLATE)
    tree["templates/echo/sidecar.yaml"] = tree["templates/echo/sidecar.yaml"].replace(
        "loud: {type: bool", "enabled: {type: bool").replace("{{ loud }}", "{{ enabled }}")
    tree["templates/echo/files/echo.conf.j2"] = "listen {{ port }}\n"
    catalog = load_catalog(build_file_tree(tmp_path / "catalog", tree))
    spec = parse_spec({"app": {"name": "shop", "image": "team/shop:1.0.0"}, "sidecars": ["echo"],
                       "targets": ["helm"]}, catalog)
    with pytest.raises(RenderError, match=r"sidecars\.echo\.enabled: template parameter 'enabled' clashes"):
        emit_helm(build_chart(spec, catalog))


# --- sidecar-new check on a chart ------------------------------------------------------------

def test_check_passes_a_rendered_chart_and_names_a_seeded_defect(helm, builtin_catalog, tmp_path) -> None:
    from generator.tools.check import check_folder
    from test_golden import write_case

    folder = write_case("helm-only-no-sidecars", builtin_catalog, tmp_path)
    assert check_folder(folder) == []
    deployment = folder / "chart" / "templates" / "deployment.yaml"
    deployment.write_text(deployment.read_text().replace("readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false"))
    problems = check_folder(folder)
    assert problems and all(p.startswith(f"{folder / 'chart'}: ") for p in problems)
    assert any("readOnlyRootFilesystem" in p for p in problems)
    (folder / "chart" / "Chart.yaml").write_text("apiVersion: v2\nname: plain-app\n")  # no version
    assert any("helm lint --strict" in p for p in check_folder(folder))


# --- every golden case: its chart gives its base ---------------------------------------------

def _golden_cases() -> list[str]:
    from test_golden import CASES

    return CASES


# Golden cases whose answers the chart refuses in one line rather than chart wrong, and why.
FIRST_STEP = "a first step the app waits for"
NOT_CHARTED = {
    "git-sync-only-1.28": FIRST_STEP, "git-sync-only-1.33": FIRST_STEP,
    "git-sync-and-fluent-bit-1.28": FIRST_STEP, "git-sync-and-fluent-bit-1.33": FIRST_STEP,
    "secrets-and-telemetry-1.28": FIRST_STEP, "secrets-and-telemetry-1.33": FIRST_STEP,
    "tls-auth-chain-1.28": "a chain of proxies", "tls-auth-chain-1.33": "a chain of proxies",
    "real-service-1.33": "kubernetes.ingress is not carried",
    "httproute-environments-1.31": "kubernetes.ingress is not carried",
}


@pytest.mark.parametrize("case", _golden_cases())
def test_every_golden_case_renders_as_a_chart_that_gives_its_base(helm, builtin_catalog, tmp_path, case) -> None:
    # Whatever the answers hold (features added to the model later included), the chart of the
    # same answers with default values must give the same objects as the kustomize base, or be
    # refused with a line that names what the chart does not carry.
    data = yaml.safe_load((GOLDEN / case / "answers.yaml").read_text())
    data["targets"] = ["kubernetes", "helm"]
    spec = parse_spec(data, builtin_catalog)
    if case in NOT_CHARTED:
        with pytest.raises(SpecError, match=NOT_CHARTED[case]):
            chart_folder(builtin_catalog, tmp_path, data)
        return
    chart = chart_folder(builtin_catalog, tmp_path, data)
    objects = helm_template(helm, chart, spec.kubernetes_version, namespace=spec.namespace,
                            release=spec.app.name)
    assert_same_objects(objects, base_objects(builtin_catalog, data))


# --- checkov's Helm framework ----------------------------------------------------------------

CHECKOV_CHARTS = ("defaults", *(f"without-{s}" for s in SIDECARS))


@pytest.fixture(scope="session")
def checkov_helm_results(builtin_catalog, tmp_path_factory) -> dict[str, set[str]]:
    """One checkov run of its Helm framework over the chart with defaults and with each sidecar
    disabled (checkov runs `helm template` itself; each copy's values.yaml sets what differs),
    and one of its Kubernetes framework over `helm template --kube-version 1.28` (classic
    sidecars: checkov's helm run takes helm's default version). {name: ids of failed checks}."""
    require_helm()
    root = tmp_path_factory.mktemp("checkov-helm")
    source = chart_folder(builtin_catalog, root / "source")
    for name in CHECKOV_CHARTS:
        folder = root / "charts" / name
        shutil.copytree(source, folder)
        values = yaml.safe_load((folder / "values.yaml").read_text())
        values["namespaceOverride"] = "orders"  # as `helm install -n orders` gives (CKV_K8S_21)
        if name.startswith("without-"):
            values["sidecars"][name.removeprefix("without-")]["enabled"] = False
        (folder / "values.yaml").write_text(yaml.safe_dump(values))
    classic = root / "classic-1.28.yaml"
    done = subprocess.run([require_helm(), "template", "orders-api", str(source), "-n", "orders",
                           "--kube-version", "1.28", "--set", "namespaceOverride=orders"],
                          capture_output=True, text=True, timeout=60)
    classic.write_text(done.stdout)
    failed: dict[str, set[str]] = {}
    for args, names in ((["--framework", "helm", "-d", str(root / "charts")], CHECKOV_CHARTS),
                        (["--framework", "kubernetes", "-f", str(classic)], ("classic-1.28",))):
        run = subprocess.run(["checkov", *args, "-o", "json", "--skip-download", "--quiet"],
                             capture_output=True, text=True, timeout=600)
        reports = json.loads(run.stdout)
        for report in reports if isinstance(reports, list) else [reports]:
            assert report["summary"]["parsing_errors"] == 0
            for check in report["results"]["failed_checks"]:
                name = next((n for n in names if f"/{n}/" in check["file_abs_path"] or
                             check["file_abs_path"].endswith(f"{n}.yaml")), None)
                assert name, check["file_abs_path"]
                failed.setdefault(name, set()).add(check["check_id"])
    return failed


@pytest.mark.slow
@pytest.mark.xdist_group("checkov")
@pytest.mark.parametrize("name", [*CHECKOV_CHARTS, "classic-1.28"])
def test_the_chart_passes_checkov_with_the_bases_exceptions(checkov_helm_results, name) -> None:
    from test_validators import ALLOWED_CHECKOV_FAILURES

    failed = checkov_helm_results.get(name, set())
    assert "CKV_K8S_15" in failed  # checkov did check this render (pull policy IfNotPresent, as in the base)
    assert failed <= ALLOWED_CHECKOV_FAILURES, f"checkov failed {sorted(failed - ALLOWED_CHECKOV_FAILURES)}"


def test_install_notes_name_the_namespace_and_the_enabled_sidecars(helm, chart) -> None:
    done = subprocess.run([helm, "install", "orders-api", str(chart), "-n", "orders", "--dry-run=client",
                           "--set", "sidecars.envoy.enabled=false"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    notes = done.stdout.split("NOTES:", 1)[1]
    assert "kubectl -n orders rollout status deployment/orders-api" in notes
    assert "(sidecars enabled: fluentd metrics )" in notes
