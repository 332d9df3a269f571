"""Bad answers are refused the same way everywhere: exit 1, one line naming the field,
no traceback, and the output folder left exactly as it was."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import FULL_ANSWERS, run_cli, tree_of, write_answers


def changed(path: str, value: Any) -> dict[str, Any]:
    """FULL_ANSWERS with one dotted path set (or removed when value is DELETE)."""
    answers = copy.deepcopy(FULL_ANSWERS)
    *parents, last = path.split(".")
    node = answers
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    key = int(last) if isinstance(node, list) else last
    if value is DELETE:
        del node[key]
    else:
        node[key] = value
    return answers


DELETE = object()

BAD_ANSWERS = [
    # (case, answers, field named in the message, words of the rule)
    ("name not a DNS label", changed("app.name", "Orders_API"), "app.name", "DNS-1123"),
    ("name too long", changed("app.name", "a" * 64), "app.name", "at most 63"),
    ("name missing", changed("app.name", DELETE), "app.name", "required"),
    ("name starting with a digit", changed("app.name", "9lives"), "app.name", "must start with a letter"),
    ("name of a chosen sidecar", changed("app.name", "envoy"), "app.name", "also the name of a chosen sidecar"),
    ("image with a non-ASCII tag", changed("app.image", "team/orders:vé1"), "app.image", "not an image reference"),
    ("negative int parameter", changed("sidecars.1.params", {"drain_seconds": -5}), "sidecars.envoy.params.drain_seconds", "from 0 to"),
    ("image with whitespace", changed("app.image", "team/orders :1.0"), "app.image", "not an image reference"),
    ("image with control character", changed("app.image", "team/orders:1.0\n"), "app.image", "not an image reference"),
    ("image untagged", changed("app.image", "registry.example.com:5000/team/orders"), "app.image", "not pinned"),
    ("image latest", changed("app.image", "team/orders:latest"), "app.image", "not pinned"),
    ("image bad digest", changed("app.image", "team/orders@sha256:abc"), "app.image", "not an image reference"),
    ("port zero", changed("app.port", 0), "app.port", "1 to 65535"),
    ("port too high", changed("app.port", 70000), "app.port", "1 to 65535"),
    ("port as text", changed("app.port", "8080"), "app.port", "1 to 65535"),
    ("port taken by a sidecar", changed("sidecars.1.params.listen_port", 8080), "sidecars.envoy", "already taken by the app"),
    ("two sidecars on one port", changed("sidecars.1.params", {"listen_port": 9102}), "sidecars.metrics", "already taken by sidecar 'envoy'"),
    ("health path relative", changed("app.health_path", "healthz"), "app.health_path", "absolute URL path"),
    ("health path with a fragment", changed("app.health_path", "/health#ready"), "app.health_path", "no '#fragment'"),
    ("health path with a space in the query", changed("app.health_path", "/health?probe=a b"), "app.health_path", "no spaces"),
    ("metrics path with a query", changed("app.metrics_path", "/metrics?format=prom"), "app.metrics_path", "no spaces, query or fragment"),
    ("metrics path with a space", changed("app.metrics_path", "/met rics"), "app.metrics_path", "absolute URL path"),
    ("log dir relative", changed("app.log_dir", "var/log"), "app.log_dir", "absolute directory"),
    ("log dir escaping", changed("app.log_dir", "/var/../etc"), "app.log_dir", "'..'"),
    ("log dir on the app's /tmp", changed("app.log_dir", "/tmp"), "app.log_dir", "is a system folder"),
    ("log dir on the shipper's config", changed("app.log_dir", "/fluentd/etc"), "app.log_dir", "'fluentd' already mounts"),
    ("replicas zero", changed("app.replicas", 0), "app.replicas", "replica count"),
    ("unknown app key", changed("app.colour", "blue"), "app.colour", "unknown key"),
    ("unknown top-level key", changed("extras", 1), "answers.extras", "unknown key"),
    ("unknown sidecar", changed("sidecars", ["fluentd", "linkerd"]), "sidecars", "not in catalog"),
    ("duplicate sidecar", changed("sidecars", ["fluentd", "fluentd"]), "sidecars", "listed twice"),
    ("unknown parameter", changed("sidecars.1.params", {"listen_prot": 10000}), "sidecars.envoy.params.listen_prot", "unknown parameter"),
    ("parameter of the wrong type", changed("sidecars.1.params", {"listen_port": "ten"}), "sidecars.envoy.params.listen_port", "not a port"),
    ("parameter outside its choices", changed("sidecars.0", {"name": "fluentd", "params": {"format": "xml"}}), "sidecars.fluentd.params.format", "not one of none, json"),
    ("sidecar needs a log dir", changed("app.log_dir", DELETE), "app.log_dir", "required by sidecar 'fluentd'"),
    ("unknown target", changed("targets", ["compose", "swarm"]), "targets", "not a target"),
    ("kubernetes too old", changed("kubernetes.version", "1.20"), "kubernetes.version", "1.25 to 1.37"),
    ("kubernetes version as a float", changed("kubernetes.version", 1.3), "kubernetes.version", "quote it"),
    ("namespace not a DNS label", changed("kubernetes.namespace", "Orders"), "kubernetes.namespace", "DNS-1123"),
    ("namespace reserved", changed("kubernetes.namespace", "kube-system"), "kubernetes.namespace", "reserved"),
    ("app not a mapping", changed("app", "orders"), "app", "must be a mapping"),
    ("env name with a dash", changed("app.env", {"LOG-LEVEL": "info"}), "app.env.LOG-LEVEL", "not an environment variable name"),
    ("env value a list", changed("app.env", {"HOSTS": ["a", "b"]}), "app.env.HOSTS", "plain value or one of {secret: NAME/KEY}"),
    ("env value a YAML boolean", changed("app.env", {"FEATURE": True}), "app.env.FEATURE", "quote it"),
    ("env secret without a key", changed("app.env", {"DB_PASSWORD": {"secret": "orders-db"}}), "app.env.DB_PASSWORD.secret", "NAME/KEY"),
    ("env secret with a bad name", changed("app.env", {"DB_PASSWORD": {"secret": "Orders_DB/password"}}), "app.env.DB_PASSWORD.secret", "DNS-1123 subdomain"),
    ("env ref of an unknown kind", changed("app.env", {"DB_PASSWORD": {"vault": "db/password"}}), "app.env.DB_PASSWORD", "{secret: NAME/KEY}"),
    ("env ref with two kinds", changed("app.env", {"X": {"secret": "a/b", "config_map": "c/d"}}), "app.env.X", "{secret: NAME/KEY}"),
    ("env set by a sidecar", changed("app.env", {"STATSD_HOST": "10.0.0.1"}), "app.env.STATSD_HOST", "set by sidecar 'metrics'"),
    ("env not a mapping", changed("app.env", ["LOG_LEVEL=info"]), "app.env", "must be a mapping"),
    ("env_from not a list", changed("app.env_from", {"secret": "orders-env"}), "app.env_from", "must be a list"),
    ("env_from with a key", changed("app.env_from", [{"secret": "orders-env/password"}]), "app.env_from[0].secret", "must be NAME"),
    ("env_from listed twice", changed("app.env_from", [{"secret": "e"}, {"secret": "e"}]), "app.env_from[1]", "listed twice"),
    ("resources unknown part", changed("app.resources", {"request": {"cpu": "1"}}), "app.resources.request", "unknown key"),
    ("resources unknown key", changed("app.resources", {"limits": {"gpu": "1"}}), "app.resources.limits.gpu", "unknown key"),
    ("resources not a quantity", changed("app.resources", {"limits": {"cpu": "lots"}}), "app.resources.limits.cpu", "not a resource quantity"),
    ("resources memory in millis", changed("app.resources", {"limits": {"memory": "512m"}}), "app.resources.limits.memory", "bytes, Ki, Mi or Gi"),
    ("resources zero cpu", changed("app.resources", {"requests": {"cpu": "0"}}), "app.resources.requests.cpu", "more than 0"),
    ("resources limit below request", changed("app.resources", {"requests": {"cpu": "2"}, "limits": {"cpu": "1"}}), "app.resources.limits.cpu", "below the request 2"),
    ("resources request above the default limit", changed("app.resources", {"requests": {"memory": "1Gi"}}), "app.resources.limits.memory", "the limit it would keep: give one"),
    ("user uid below 10000", changed("app.user", {"uid": 1000}), "app.user.uid", "below 10000"),
    ("user root", changed("app.user", {"uid": 0}), "app.user.uid", "below 10000"),
    ("user gid below 10000", changed("app.user", {"uid": 20001, "gid": 100}), "app.user.gid", "non-root gid >= 10000"),
    ("user uid as text", changed("app.user", {"uid": "20001"}), "app.user.uid", "must be a uid"),
    ("user unknown key", changed("app.user", {"name": "app"}), "app.user.name", "unknown key"),
    ("writable path relative", changed("app.writable_paths", ["var/cache"]), "app.writable_paths[0]", "absolute directory"),
    ("writable path a system folder", changed("app.writable_paths", ["/etc/app"]), "app.writable_paths[0]", "is a system folder"),
    ("writable path inside /tmp", changed("app.writable_paths", ["/tmp/cache"]), "app.writable_paths[0]", "the app's /tmp"),
    ("writable path the log dir", changed("app.writable_paths", ["/var/log/app"]), "app.writable_paths[0]", "app.log_dir"),
    ("writable path twice", changed("app.writable_paths", ["/data", "/data/x"]), "app.writable_paths[1]", "inside or around '/data'"),
    ("writable path bad size", changed("app.writable_paths", [{"path": "/data", "size": "1m"}]), "app.writable_paths[0].size", "bytes, Ki, Mi or Gi"),
    ("writable paths not a list", changed("app.writable_paths", "/data"), "app.writable_paths", "must be a list"),
    ("command not a list", changed("app.command", "/app/server --port 1"), "app.command", "list of strings"),
    ("args with a number", changed("app.args", ["--port", 8080]), "app.args", "list of strings"),
    ("pull secret not a name", changed("kubernetes.image_pull_secrets", ["Reg_Cred"]), "kubernetes.image_pull_secrets[0]", "DNS-1123 subdomain"),
    ("pull secrets not a list", changed("kubernetes.image_pull_secrets", "regcred"), "kubernetes.image_pull_secrets", "list of Secret names"),
    ("pull secret twice", changed("kubernetes.image_pull_secrets", ["a", "a"]), "kubernetes.image_pull_secrets[1]", "listed twice"),
    ("ingress of an unknown kind", changed("kubernetes.ingress", {"kind": "route", "host": "a.example.com"}), "kubernetes.ingress.kind", "not one of ingress, httproute"),
    ("ingress without a host", changed("kubernetes.ingress", {"kind": "ingress"}), "kubernetes.ingress.host", "is required"),
    ("ingress host an IP", changed("kubernetes.ingress", {"host": "10.0.0.1"}), "kubernetes.ingress.host", "not a host name"),
    ("ingress host upper case", changed("kubernetes.ingress", {"host": "Orders.example.com"}), "kubernetes.ingress.host", "not a host name"),
    ("ingress path relative", changed("kubernetes.ingress", {"host": "a.example.com", "path": "api"}), "kubernetes.ingress.path", "absolute URL path"),
    ("ingress tls secret not a name", changed("kubernetes.ingress", {"host": "a.example.com", "tls_secret": "TLS!"}), "kubernetes.ingress.tls_secret", "DNS-1123 subdomain"),
    ("ingress with a gateway", changed("kubernetes.ingress", {"host": "a.example.com", "gateway": "gw"}), "kubernetes.ingress.gateway", "only for kind: httproute"),
    ("httproute without a gateway", changed("kubernetes.ingress", {"kind": "httproute", "host": "a.example.com"}), "kubernetes.ingress.gateway", "is required for kind: httproute"),
    ("httproute gateway with two slashes", changed("kubernetes.ingress", {"kind": "httproute", "host": "a.example.com", "gateway": "a/b/c"}), "kubernetes.ingress.gateway", "NAME or NAME/NAMESPACE"),
    ("httproute with a class", changed("kubernetes.ingress", {"kind": "httproute", "host": "a.example.com", "gateway": "gw", "class": "nginx"}), "kubernetes.ingress.class", "the Gateway has the class"),
    ("httproute with a tls secret", changed("kubernetes.ingress", {"kind": "httproute", "host": "a.example.com", "gateway": "gw", "tls_secret": "t"}), "kubernetes.ingress.tls_secret", "certificateRefs"),
    ("ingress controller namespace bad", changed("kubernetes.ingress", {"host": "a.example.com", "controller_namespace": "Ingress"}), "kubernetes.ingress.controller_namespace", "DNS-1123"),
    ("ingress unknown key", changed("kubernetes.ingress", {"host": "a.example.com", "port": 80}), "kubernetes.ingress.port", "unknown key"),
    ("autoscaling max below min", changed("kubernetes.autoscaling", {"min": 5, "max": 3}), "kubernetes.autoscaling.max", "below min 5"),
    ("autoscaling min zero", changed("kubernetes.autoscaling", {"min": 0}), "kubernetes.autoscaling.min", "replica count"),
    ("autoscaling cpu over 100", changed("kubernetes.autoscaling", {"cpu_percent": 150}), "kubernetes.autoscaling.cpu_percent", "1 to 100"),
    ("autoscaling unknown key", changed("kubernetes.autoscaling", {"memory_percent": 80}), "kubernetes.autoscaling.memory_percent", "unknown key"),
    ("environments not a mapping", changed("environments", ["dev"]), "environments", "must be a mapping"),
    ("environment name not a label", changed("environments", {"Dev_1": {}}), "environments.Dev_1", "DNS-1123"),
    ("environment unknown key", changed("environments", {"dev": {"namespace": "x"}}), "environments.dev.namespace", "unknown key"),
    ("environment replicas zero", changed("environments", {"dev": {"replicas": 0}}), "environments.dev.replicas", "replica count"),
    ("environment resources below request", changed("environments", {"dev": {"resources": {"limits": {"cpu": "50m"}}}}), "environments.dev.resources.limits.cpu", "below the request 100m"),
    ("environment secret as a plain value", changed("environments", {"dev": {"env": {"API_TOKEN": "abc"}}}), "environments.dev.env.API_TOKEN", "looks like a secret"),
    ("environment sets a sidecar's variable", changed("environments", {"dev": {"env": {"STATSD_PORT": "1"}}}), "environments.dev.env.STATSD_PORT", "set by sidecar 'metrics'"),
    ("environment ingress without one", changed("environments", {"dev": {"ingress": {"host": "a.example.com"}}}), "environments.dev.ingress", "no kubernetes.ingress"),
]


@pytest.fixture
def existing_output(tmp_path: Path) -> Path:
    output = tmp_path / "out"
    output.mkdir()
    (output / "notes.txt").write_text("mine\n")
    return output


@pytest.mark.parametrize("answers,field,rule", [c[1:] for c in BAD_ANSWERS], ids=[c[0] for c in BAD_ANSWERS])
def test_bad_answer_is_refused_with_one_line_naming_the_field(
        answers, field: str, rule: str, tmp_path: Path, existing_output: Path) -> None:
    before = tree_of(existing_output)
    answers_file = write_answers(tmp_path / "answers.yaml", answers)
    for output in (existing_output, tmp_path / "fresh"):
        result = run_cli("new", "--answers", str(answers_file), "--no-input", "--output", str(output), "--force")
        assert result.exit_code == 1
        message = result.output.strip()
        assert "\n" not in message and "Traceback" not in message
        assert message.startswith(f"error: {field}"), message
        assert rule in message
    assert tree_of(existing_output) == before
    assert not (tmp_path / "fresh").exists()


def test_a_health_path_with_a_query_reaches_every_probe_and_healthcheck(tmp_path: Path) -> None:
    import yaml

    answers = changed("app.health_path", "/health/ready?probe=1&verbose")
    answers["app"]["health_command"] = ["wget", "-q", "--spider", "http://127.0.0.1:8080/health/ready?probe=1&verbose"]
    result = run_cli("new", "--answers", str(write_answers(tmp_path / "a.yaml", answers)), "--no-input",
                     "--output", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    deployment = yaml.safe_load((tmp_path / "out" / "k8s" / "deployment.yaml").read_text())
    app = deployment["spec"]["template"]["spec"]["containers"][0]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert app[probe]["httpGet"]["path"] == "/health/ready?probe=1&verbose"


def test_unpinned_image_is_accepted_with_allow_unpinned(tmp_path: Path) -> None:
    answers_file = write_answers(tmp_path / "a.yaml", changed("app.image", "team/orders:latest"))
    result = run_cli("new", "--answers", str(answers_file), "--no-input", "--allow-unpinned",
                     "--output", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert "image: team/orders:latest" in (tmp_path / "out" / "compose.yaml").read_text()


def test_malformed_answers_file_names_the_file_and_line(tmp_path: Path) -> None:
    answers_file = tmp_path / "answers.yaml"
    answers_file.write_text("app:\n  name: orders\n  image: [unclosed\n")
    result = run_cli("new", "--answers", str(answers_file), "--no-input", "--output", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert result.output.startswith(f"error: {answers_file}:")
    assert not (tmp_path / "out").exists()


def test_missing_answers_file_is_a_one_line_error(tmp_path: Path) -> None:
    result = run_cli("new", "--answers", str(tmp_path / "nope.yaml"), "--no-input")
    assert result.exit_code == 1 and "cannot read" in result.output


def test_the_real_process_exits_1_without_a_traceback(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "generator", "new", "--no-input", "--name", "Bad",
                           "--image", "x:1", "--output", str(tmp_path / "out")],
                          capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert done.returncode == 1
    assert done.stderr == "error: app.name: 'Bad' is not a DNS-1123 label (lower-case letters, digits " \
                          "and '-', starting and ending with a letter or digit)\n"
    assert not (tmp_path / "out").exists()


def test_usage_errors_exit_1_as_documented(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "generator", "new", "--port", "eighty"],
                          capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and "--port" in done.stderr


def test_a_value_cannot_add_yaml_keys(tmp_path: Path, builtin_catalog) -> None:
    """Strings reach YAML only through the serializer: a hostile value stays one value."""
    import yaml

    from generator.pipeline import build
    from generator.input.spec import parse_spec

    answers = changed("sidecars", ["fluentd", {"name": "envoy", "params": {}}, "metrics"])
    spec = parse_spec(answers, builtin_catalog)
    # Bypass the input rules on purpose, as a hostile catalog default or a future field could.
    import dataclasses

    hostile = "/healthz\"\nadmin: {}\nx: \"{{ 7*7 }}"
    spec = dataclasses.replace(spec, app=dataclasses.replace(spec.app, health_path=hostile))
    files = build(spec, builtin_catalog)
    envoy = yaml.safe_load(files["config/envoy/envoy.yaml"])
    assert set(envoy) == {"admin", "static_resources"}
    deployment = yaml.safe_load(files["k8s/deployment.yaml"])
    app = deployment["spec"]["template"]["spec"]["containers"][0]
    assert app["readinessProbe"]["httpGet"]["path"] == hostile


def test_create_namespace_must_be_a_boolean(tmp_path: Path) -> None:
    answers_file = write_answers(tmp_path / "a.yaml", changed("kubernetes.create_namespace", "yes please"))
    result = run_cli("new", "--answers", str(answers_file), "--no-input", "--output", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert result.output.startswith("error: kubernetes.create_namespace: 'yes please' is not true or false")


# The flags that set one answer each; a bad value through a flag must meet the same rule.
FLAGS = {"app.name": "--name", "app.image": "--image", "app.port": "--port", "app.health_path": "--health-path",
         "app.log_dir": "--log-dir", "app.metrics_path": "--metrics-path", "app.replicas": "--replicas",
         "kubernetes.version": "--kubernetes-version", "kubernetes.namespace": "--namespace"}
_INT_FLAGS = {"--port", "--replicas"}


def as_flags(answers: dict[str, Any]) -> list[str] | None:
    """The flags that turn FULL_ANSWERS into `answers`, or None when a change has no flag
    (a removed key, a value of a type the flag cannot carry, an unknown key)."""
    rest, flags = copy.deepcopy(answers), []
    if not all(isinstance(rest.get(s), dict) for s in ("app", "kubernetes")):
        return None
    for path, flag in FLAGS.items():
        section, key = path.split(".")
        if key not in rest[section] or rest[section][key] == FULL_ANSWERS[section].get(key):
            continue
        value = rest[section][key]
        if type(value) is not (int if flag in _INT_FLAGS else str):
            return None
        flags += [flag, str(value)]
        rest[section][key] = FULL_ANSWERS[section][key]
    if rest.get("targets") != FULL_ANSWERS["targets"] and isinstance(rest.get("targets"), list):
        flags += [arg for target in rest["targets"] if target not in FULL_ANSWERS["targets"] for arg in ("--target", target)]
        rest["targets"] = FULL_ANSWERS["targets"]
    if rest.get("sidecars") != FULL_ANSWERS["sidecars"] and all(isinstance(s, str) for s in rest.get("sidecars", [0])):
        flags += [arg for name in rest["sidecars"] for arg in ("--with", name)]
        rest["sidecars"] = FULL_ANSWERS["sidecars"]
    return flags if flags and rest == FULL_ANSWERS else None


FLAG_CASES = [(case, as_flags(answers), field, rule) for case, answers, field, rule in BAD_ANSWERS
              if as_flags(answers) is not None]


def test_every_flag_meets_at_least_one_bad_value() -> None:
    flagged = {flag for _, flags, _, _ in FLAG_CASES for flag in flags[::2]}
    assert set(FLAGS.values()) | {"--target", "--with"} <= flagged


@pytest.mark.parametrize("flags,field,rule", [c[1:] for c in FLAG_CASES], ids=[c[0] for c in FLAG_CASES])
def test_a_bad_value_given_by_flag_meets_the_same_rule(flags: list[str], field: str, rule: str, tmp_path: Path) -> None:
    answers_file = write_answers(tmp_path / "answers.yaml", FULL_ANSWERS)
    result = run_cli("new", "--answers", str(answers_file), *flags, "--no-input", "--output", str(tmp_path / "out"))
    assert result.exit_code == 1, result.output
    message = result.output.strip()
    assert "\n" not in message and message.startswith(f"error: {field}") and rule in message, message
    assert not (tmp_path / "out").exists()
