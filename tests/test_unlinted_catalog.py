"""A team catalog that never went through `catalog lint` gives one-line errors naming the
template file, never a traceback or invalid output."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import run_cli
from generator.catalog.loader import builtin_root


def render_with(catalog: Path, template: str, output: Path):
    """A billing app with one sidecar from `catalog`, rendered through the CLI."""
    return run_cli("new", "--no-input", "--name", "billing", "--image", "team/billing:1.0", "--with", template,
                   "--catalog", str(catalog), "--output", str(output))


@pytest.fixture
def catalog_copy(tmp_path: Path) -> Path:
    root = tmp_path / "catalog"
    shutil.copytree(builtin_root() / "templates", root / "templates")
    shutil.copy(builtin_root() / "catalog.yaml", root / "catalog.yaml")
    return root


@pytest.mark.parametrize("template, old, new, reason", [
    ("metrics", "memory: 128Mi,", "memory: 128MB,", "memory: '128MB' is not a resource quantity"),
    ("metrics", "memory: 128Mi,", "memory: 128m,", "must be bytes, Ki, Mi or Gi"),
    ("metrics", "limits: {cpu: 200m, memory: 128Mi, ephemeral-storage: 32Mi}",
     "limits: {cpu: 200m, ephemeral-storage: 32Mi}", "resources.limits.memory: is required"),
    ("metrics", "- {name: statsd-tcp, port:", "- {nom: statsd-tcp, port:", "ports[2].nom: unknown key"),
    ("metrics", "run_as: 65534", "run_as: 0", "run_as: 0 is below 10000: run as a non-root uid >= 10000"),
    ("metrics", '- {name: statsd-tcp, port: "{{ statsd_port }}"}', "- {name: statsd-tcp, port: 70000}",
     "ports[2].port: 70000 is not a port"),
    ("metrics", "config_dir: /etc/statsd-exporter", "config_dir: etc/statsd-exporter",
     "'etc/statsd-exporter' is not an absolute directory path"),
])
def test_malformed_definitions_are_one_line_catalog_errors(catalog_copy: Path, tmp_path: Path, template: str,
                                                         old: str, new: str, reason: str) -> None:
    definition = catalog_copy / "templates" / template / "sidecar.yaml"
    text = definition.read_text()
    assert old in text
    definition.write_text(text.replace(old, new))
    result = render_with(catalog_copy, template, tmp_path / "out")
    assert result.exit_code == 1, result.output
    message = result.output.strip()
    assert "\n" not in message and message.startswith(f"error: {definition}")
    assert reason in message
    assert not (tmp_path / "out").exists()


def test_a_port_name_is_literal_not_an_expression(catalog_copy: Path, tmp_path: Path) -> None:
    definition = catalog_copy / "templates" / "metrics" / "sidecar.yaml"
    definition.write_text(definition.read_text().replace("- {name: metrics, port:", '- {name: "{{ web_port }}", port:'))
    result = render_with(catalog_copy, "metrics", tmp_path / "out")
    assert result.exit_code == 1 and "ports[0].name: '{{ web_port }}' must be at most 15" in result.output
    assert isinstance(result.exception, (SystemExit, type(None)))
    lint = run_cli("catalog", "lint", str(catalog_copy))
    assert lint.exit_code == 1 and isinstance(lint.exception, (SystemExit, type(None)))


def test_lint_reports_a_mapping_as_a_mount_path_without_a_traceback(catalog_copy: Path) -> None:
    definition = catalog_copy / "templates" / "fluentd" / "sidecar.yaml"
    definition.write_text(definition.read_text().replace("path: /fluentd/pos,", "path: {x: 1},"))
    result = run_cli("catalog", "lint", str(catalog_copy))
    assert result.exit_code == 1 and isinstance(result.exception, (SystemExit, type(None)))
    assert "sidecar.yaml:" in result.output and "volumes[0].path" in result.output


def test_a_limit_below_its_request_is_refused(catalog_copy: Path, tmp_path: Path) -> None:
    definition = catalog_copy / "templates" / "metrics" / "sidecar.yaml"
    definition.write_text(definition.read_text().replace("limits: {cpu: 200m,", "limits: {cpu: 1m,"))
    result = render_with(catalog_copy, "metrics", tmp_path / "out")
    assert result.exit_code == 1 and "resources.limits.cpu: 1m is below the request 20m" in result.output


def test_check_reports_a_limit_below_its_request(tmp_path: Path) -> None:
    import yaml

    out = tmp_path / "out"
    assert run_cli("new", "--no-input", "--name", "billing", "--image", "team/billing:1.0", "--with", "metrics",
                   "--target", "kubernetes", "--output", str(out)).exit_code == 0
    deployment = yaml.safe_load((out / "k8s" / "deployment.yaml").read_text())
    deployment["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"] = "1Mi"
    (out / "k8s" / "deployment.yaml").write_text(yaml.safe_dump(deployment))
    result = run_cli("check", str(out))
    assert result.exit_code == 1
    assert "container billing: resources.limits.memory is below the request" in result.output


def test_a_template_name_too_long_for_its_volumes_is_refused(catalog_copy: Path, tmp_path: Path) -> None:
    long_name = "m" * 60
    index = catalog_copy / "catalog.yaml"
    index.write_text(index.read_text().replace("  - name: metrics\n", f"  - name: {long_name}\n"))
    result = render_with(catalog_copy, long_name, tmp_path / "out")
    assert result.exit_code == 1 and "Kubernetes allows 63" in result.output


@pytest.mark.parametrize("relative, expected", [("catalog.yaml", "name, version and templates"),
                                                ("templates/envoy/sidecar.yaml", "ports, probes and resources")])
def test_lint_says_an_empty_file_is_empty(catalog_copy: Path, relative: str, expected: str) -> None:
    (catalog_copy / relative).write_text("")
    result = run_cli("catalog", "lint", str(catalog_copy))
    assert result.exit_code == 1
    assert f"{catalog_copy / relative}:1: is empty: expected {expected}" in result.output


def test_catalog_new_adds_the_first_template_to_an_index_without_any(tmp_path: Path) -> None:
    (tmp_path / "catalog.yaml").write_text("name: team\nversion: '1.0'\n")
    result = run_cli("catalog", "new", "pinger", "--capability", "metrics", "--catalog", str(tmp_path))
    assert result.exit_code == 0, result.output
    lint = run_cli("catalog", "lint", str(tmp_path))
    assert lint.exit_code == 0, lint.output


def test_a_required_parameter_cannot_be_given_empty(catalog_copy: Path, tmp_path: Path) -> None:
    from generator.catalog.loader import load_catalog
    from generator.errors import SpecError
    from generator.wizard.checks import check_param

    definition = catalog_copy / "templates" / "fluentd" / "sidecar.yaml"
    text = definition.read_text()
    assert '    default: ""\n    help: Fluentd/Fluent Bit aggregator' in text
    definition.write_text(text.replace('    default: ""\n    help: Fluentd/Fluent Bit aggregator',
                                       "    help: Fluentd/Fluent Bit aggregator"))
    answers = tmp_path / "a.yaml"
    answers.write_text("app: {name: billing, image: 'team/billing:1.0', log_dir: /var/log/billing}\n"
                       "sidecars: [{name: fluentd, params: {forward_host: ''}}]\n")
    result = run_cli("new", "--answers", str(answers), "--no-input", "--catalog", str(catalog_copy),
                     "--output", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert result.output.startswith("error: sidecars.fluentd.params.forward_host: '' is required")
    # The wizard re-asks with the same rule.
    with pytest.raises(SpecError, match="is required"):
        check_param(load_catalog(catalog_copy).get("fluentd"), "forward_host", "")


@pytest.mark.parametrize("port", ['"{{ statsd_port + 1 }}"', '"{{ app.name }}"', '"{{ nope }}"'])
def test_a_port_that_is_not_a_number_or_a_port_parameter_is_refused_by_new_and_lint(
        catalog_copy: Path, tmp_path: Path, port: str) -> None:
    definition = catalog_copy / "templates" / "metrics" / "sidecar.yaml"
    definition.write_text(definition.read_text().replace(
        '- {name: statsd-tcp, port: "{{ statsd_port }}"}', f"- {{name: statsd-tcp, port: {port}}}"))
    result = render_with(catalog_copy, "metrics", tmp_path / "out")
    assert result.exit_code == 1 and f"{definition}:34: ports[2].port: " in result.output
    assert "parameter" in result.output or "app port" in result.output
    lint = run_cli("catalog", "lint", str(catalog_copy))
    assert lint.exit_code == 1 and "ports[2].port: " in lint.output


def test_parsing_a_request_renders_nothing() -> None:
    import subprocess
    import sys

    probe = ("import sys\nfrom generator.catalog.loader import load_catalog\n"
             "from generator.input.spec import parse_spec\n"
             "parse_spec({'app': {'name': 'web', 'image': 'team/web:1.0', 'log_dir': '/var/log/web'},"
             " 'sidecars': ['fluentd', 'envoy', 'metrics']}, load_catalog())\n"
             "print('jinja2' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False", done.stderr
