"""The command-line contract: list, show, --version, flags, defaults and check."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from conftest import run_cli
from generator import __version__
from generator.catalog.loader import load_catalog


def test_version_prints_the_version() -> None:
    result = run_cli("--version")
    assert result.exit_code == 0 and result.output == f"sidecar-new {__version__}\n"


def test_list_shows_name_capability_image_and_summary() -> None:
    result = run_cli("list")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].startswith("catalog builtin")
    assert lines[1].split()[:3] == ["NAME", "CAPABILITY", "IMAGE"]
    table = lines[2:lines.index("capabilities:")]
    rows = {line.split()[0]: line.split()[1:3] for line in table}
    assert rows == {t.name: [t.capability, t.image] for t in load_catalog().templates}
    assert rows["fluentd"] == ["logging", "fluent/fluentd:v1.19.3-debian-2.2"]
    assert rows["fluent-bit"] == ["logging", "fluent/fluent-bit:5.1.1"]
    assert rows["otel-collector"] == ["telemetry", "otel/opentelemetry-collector:0.159.0"]


def test_list_explains_each_capability_of_the_catalog_in_one_line() -> None:
    lines = run_cli("list").output.splitlines()
    legend = lines[lines.index("capabilities:") + 1:]
    capabilities = list(dict.fromkeys(t.capability for t in load_catalog().templates))
    assert [line.split()[0] for line in legend] == capabilities
    assert ["telemetry", "receives the app's traces, metrics and logs (OTLP) on localhost and exports them"] in \
        [line.split(None, 1) for line in legend]  # the column is as wide as the longest capability
    assert all(len(line.split()) > 3 for line in legend)


def test_a_capability_of_a_team_catalogs_own_is_accepted_and_described_plainly(tmp_path: Path) -> None:
    from generator.tools.scaffold import scaffold

    team = tmp_path / "team"
    scaffold(team, "cacher", "cache")  # an empty folder: a new catalog
    listed = run_cli("list", "--catalog", str(team)).output.splitlines()
    assert listed[-1].split(None, 1) == ["cache", "a capability of this catalog's own"]
    shown = run_cli("show", "cacher", "--catalog", str(team)).output.splitlines()
    assert shown[1] == "capability: cache, a capability of this catalog's own"


def test_show_describes_parameters_ports_volumes_and_probes() -> None:
    result = run_cli("show", "fluentd")
    assert result.exit_code == 0
    assert "forward_host (host, default '')" in result.output
    assert "fluentd-monitor: 24220/TCP" in result.output
    assert "app-logs (shared, ro) -> /var/log/app" in result.output
    assert "readiness: GET :24220/api/plugins.json" in result.output
    assert "capability: logging, ships the app's log files" in result.output


def test_show_of_an_unknown_template_is_a_one_line_error() -> None:
    result = run_cli("show", "linkerd")
    assert result.exit_code == 1
    known = ", ".join(t.name for t in load_catalog().templates)
    assert result.output == f"error: NAME: 'linkerd' is not in catalog 'builtin' (known: {known})\n"


def test_flags_alone_render_with_defaults(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = run_cli("new", "--no-input", "--name", "billing", "--image", "team/billing:2.0.1",
                     "--with", "envoy", "--with", "metrics", "--target", "kubernetes")
    assert result.exit_code == 0, result.output
    record = yaml.safe_load((tmp_path / "billing" / ".sidecar-new.yaml").read_text())
    assert record["app"] == {"name": "billing", "image": "team/billing:2.0.1", "port": 8080,
                             "health_path": "/healthz", "replicas": 2}
    assert record["sidecars"] == [{"name": "envoy", "params": {"listen_port": 10000, "admin_port": 9901,
                                                                "ready_port": 9903, "bind_address": "::",
                                                                "drain_seconds": 10}},
                                  {"name": "metrics", "params": {"statsd_port": 9125, "web_port": 9102}}]
    assert record["targets"] == ["kubernetes"]
    assert record["kubernetes"] == {"version": "1.33", "namespace": "billing", "create_namespace": True}
    assert record["generated_by"]["catalog"] == {"name": "builtin", "version": "1.0.0", "source": "builtin"}
    assert not (tmp_path / "billing" / "compose.yaml").exists()


def test_flags_override_the_answers_file(tmp_path: Path) -> None:
    answers = tmp_path / "a.yaml"
    answers.write_text("app: {name: orders, image: 'team/orders:1.0', port: 8080}\nsidecars: [envoy]\n")
    result = run_cli("new", "--answers", str(answers), "--no-input", "--port", "3000", "--with", "metrics",
                     "--output", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    record = yaml.safe_load((tmp_path / "out" / ".sidecar-new.yaml").read_text())
    assert record["app"]["port"] == 3000 and [s["name"] for s in record["sidecars"]] == ["metrics"]


def test_no_input_without_required_values_names_them(tmp_path: Path) -> None:
    result = run_cli("new", "--no-input", "--output", str(tmp_path / "out"))
    assert result.exit_code == 1 and result.output.startswith("error: app.name: is required")


def test_without_a_terminal_and_without_answers_the_hint_says_what_to_pass() -> None:
    done = subprocess.run([sys.executable, "-m", "generator"], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=30)
    assert done.returncode == 1
    assert "--answers" in done.stderr and "--no-input" in done.stderr and done.stderr.count("\n") == 1


def test_check_accepts_a_render_and_refuses_a_broken_one(tmp_path: Path) -> None:
    run_cli("new", "--no-input", "--name", "billing", "--image", "team/billing:2.0.1", "--with", "envoy",
            "--output", str(tmp_path / "out"))
    assert run_cli("check", str(tmp_path / "out")).output == f"{tmp_path / 'out'}: ok\n"
    compose = tmp_path / "out" / "compose.yaml"
    compose.write_text(compose.read_text().replace("    network_mode: service:netns\n",
                                                   "    network_mode: service:netns\n    ports: ['1:1']\n"))
    result = run_cli("check", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert "ports cannot go with service:netns" in result.output


def test_every_answer_a_sidecar_may_need_has_a_flag(tmp_path: Path) -> None:
    result = run_cli("new", "--no-input", "--name", "billing", "--image", "team/billing:2.0.1",
                     "--with", "fluentd", "--log-dir", "/var/log/billing", "--metrics-path", "/stats",
                     "--kubernetes-version", "1.28", "--namespace", "payments",
                     "--output", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    record = yaml.safe_load((tmp_path / "out" / ".sidecar-new.yaml").read_text())
    assert record["app"]["log_dir"] == "/var/log/billing" and record["app"]["metrics_path"] == "/stats"
    assert record["kubernetes"] == {"version": "1.28", "namespace": "payments", "create_namespace": False}
    assert 'path "/var/log/billing/*.log"' in (tmp_path / "out" / "config/fluentd/fluent.conf").read_text()


def test_flags_are_checked_by_the_same_rules_as_the_answers_file(tmp_path: Path) -> None:
    result = run_cli("new", "--no-input", "--name", "billing", "--image", "team/billing:2.0.1",
                     "--kubernetes-version", "1.20", "--output", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert result.output.startswith("error: kubernetes.version: '1.20' is not a supported Kubernetes version")
    assert not (tmp_path / "out").exists()


def test_next_steps_run_from_where_the_user_is_and_create_a_shared_namespace(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = run_cli("new", "--no-input", "--name", "billing", "--image", "team/billing:2.0.1",
                     "--namespace", "shared", "--output", "out/billing")
    assert result.exit_code == 0, result.output
    steps = result.output.split("next:\n", 1)[1].splitlines()
    assert steps == ["  docker compose -f out/billing/compose.yaml up -d",
                     "  kubectl create namespace shared   # if it does not exist yet",
                     "  kubectl apply -k out/billing/k8s/"]
    assert "kubectl create namespace shared" in (tmp_path / "out/billing/README.md").read_text()


def test_a_namespace_of_its_own_needs_no_create_step(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = run_cli("new", "--no-input", "--name", "billing", "--image", "team/billing:2.0.1", "--target", "kubernetes")
    assert result.exit_code == 0, result.output
    assert result.output.split("next:\n", 1)[1].splitlines() == ["  kubectl apply -k billing/k8s/"]


def test_replicas_has_a_flag_checked_by_the_answers_rule(tmp_path: Path) -> None:
    result = run_cli("new", "--no-input", "--name", "billing", "--image", "team/billing:2.0.1", "--replicas", "3",
                     "--target", "kubernetes", "--output", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert yaml.safe_load((tmp_path / "out/k8s/deployment.yaml").read_text())["spec"]["replicas"] == 3
    refused = run_cli("new", "--no-input", "--name", "billing", "--image", "team/billing:2.0.1", "--replicas", "0",
                      "--output", str(tmp_path / "other"))
    assert refused.exit_code == 1 and refused.output.startswith("error: app.replicas: 0 ")
    assert not (tmp_path / "other").exists()


def test_saved_answers_keep_the_output_folder_for_the_replay(tmp_path: Path, monkeypatch) -> None:
    import shutil

    monkeypatch.chdir(tmp_path)
    assert run_cli("new", "--no-input", "--name", "billing", "--image", "team/billing:2.0.1",
                   "--output", "deep/a/b", "--save-answers", "y.yaml").exit_code == 0
    assert yaml.safe_load((tmp_path / "y.yaml").read_text())["output"] == "deep/a/b"
    shutil.rmtree(tmp_path / "deep")
    replay = run_cli("new", "--answers", "y.yaml", "--no-input")
    assert replay.exit_code == 0, replay.output
    assert (tmp_path / "deep/a/b/compose.yaml").is_file() and not (tmp_path / "y").exists()
    assert not (tmp_path / "billing").exists()
    elsewhere = run_cli("new", "--answers", "y.yaml", "--no-input", "--output", "other")  # --output wins
    assert elsewhere.exit_code == 0, elsewhere.output
    assert (tmp_path / "other/compose.yaml").is_file()


def test_an_output_in_answers_that_is_not_a_path_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("app: {name: billing, image: 'team/billing:2.0.1'}\noutput: 3\n")
    result = run_cli("new", "--answers", str(tmp_path / "a.yaml"), "--no-input")
    assert result.exit_code == 1 and result.output == "error: output: 3 is not a folder path\n"


def test_catalog_new_help_shows_its_default_once() -> None:
    result = run_cli("catalog", "new", "--help")
    assert result.exit_code == 0 and result.output.count("[default: .]") == 1


def test_show_says_what_compose_does_for_a_template_without_a_healthcheck() -> None:
    result = run_cli("show", "envoy")
    assert "compose healthcheck: none (Compose waits for service_started)" in result.output
    assert "no shell" not in result.output


def test_a_missing_checker_names_both_ways_to_install_it(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "compose.yaml").write_text("services: {}\n")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    result = run_cli("check", str(tmp_path))
    assert result.exit_code == 1
    assert ("docker-compose: not found; install the checkers with pip install 'sidecar-new[check]' "
            "(in a clone: pip install -e '.[check]')") in result.output


def test_catalog_lint_warns_of_what_catalog_new_left_to_fill_in(tmp_path: Path) -> None:
    assert run_cli("catalog", "new", "redis-exporter", "--capability", "metrics",
                   "--catalog", str(tmp_path / "team")).exit_code == 0
    result = run_cli("catalog", "lint", str(tmp_path / "team"))
    assert result.exit_code == 0, result.output  # a warning, not a failure
    warnings = [line for line in result.output.splitlines() if ": warning: " in line]
    assert any("sidecar-new.yaml" not in w and "catalog.yaml:" in w and "placeholder image" in w for w in warnings)
    assert any("templates/redis-exporter/sidecar.yaml:" in w and "TODO" in w for w in warnings)
    builtin = run_cli("catalog", "lint", str(Path(__file__).parent.parent))
    assert builtin.exit_code == 0 and ": warning: " not in builtin.output


def test_a_diff_with_no_changes_ends_its_line(tmp_path: Path) -> None:
    out = tmp_path / "pay"
    assert run_cli("new", "--no-input", "--name", "pay", "--image", "team/pay:1.0", "--output", str(out)).exit_code == 0
    result = run_cli("new", "--answers", str(out / ".sidecar-new.yaml"), "--no-input", "--diff")
    assert result.exit_code == 0 and result.output == f"{out}: no changes\n"
