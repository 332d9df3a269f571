"""Wrong output is never accepted and bad input never hangs: system folders as log_dir, YAML
quirks (keys given twice, base-60 numbers, sloppy versions), text that is not text, config file
names that cannot be ConfigMap keys, and bombs: each ends in seconds, one line, exit 1."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from catalog_fixtures import APP_FLAGS, TEAM_CATALOG, team_catalog
from conftest import FULL_ANSWERS, run_cli, write_answers


def render_answers(tmp_path: Path, text: str, *extra: str):
    answers = tmp_path / "answers.yaml"
    answers.write_text(text)
    return run_cli("new", "--answers", str(answers), "--no-input", "--output", str(tmp_path / "out"), *extra)


def assert_one_line_error(result, tmp_path: Path, *expected: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.output.startswith("error: ") and result.output.count("\n") == 1, result.output
    for text in expected:
        assert text in result.output, result.output
    assert not (tmp_path / "out").exists()


def full_answers_text(**app: object) -> str:
    return yaml.safe_dump({**FULL_ANSWERS, "app": {**FULL_ANSWERS["app"], **app}}, sort_keys=False)


# Finding 8: log_dir.

@pytest.mark.parametrize("folder", ["/proc", "/sys", "/dev", "/etc", "/etc/nginx", "/usr/lib", "/bin",
                                    "/var", "/tmp", "/run/app"])
def test_a_system_folder_as_log_dir_is_refused(tmp_path: Path, folder: str) -> None:
    result = render_answers(tmp_path, full_answers_text(log_dir=folder))
    assert_one_line_error(result, tmp_path, f"app.log_dir: '{folder}' is a system folder")


@pytest.mark.parametrize("folder", ["/fluentd/etc", "/fluentd", "/fluentd/etc/logs", "/fluentd/buffer"])
def test_a_log_dir_on_or_around_a_sidecars_own_folder_is_refused(tmp_path: Path, folder: str) -> None:
    result = render_answers(tmp_path, full_answers_text(log_dir=folder))
    assert_one_line_error(result, tmp_path, "app.log_dir:", folder)


def test_an_ordinary_log_dir_is_still_accepted(tmp_path: Path) -> None:
    result = render_answers(tmp_path, full_answers_text(log_dir="/var/log/orders"))
    assert result.exit_code == 0, result.output


# Finding 9: YAML quirks.

def test_a_key_given_twice_is_refused(tmp_path: Path) -> None:
    text = full_answers_text().replace("  port: 8080\n", "  port: 8080\n  port: 9090\n")
    result = render_answers(tmp_path, text)
    assert_one_line_error(result, tmp_path, "answers.yaml:", "duplicate key 'port'")


def test_a_base_60_number_is_not_read_as_a_number(tmp_path: Path) -> None:
    text = full_answers_text().replace("  port: 8080\n", "  port: 2:14:00\n")
    result = render_answers(tmp_path, text)
    assert_one_line_error(result, tmp_path, "app.port: '2:14:00' is not a port")


@pytest.mark.parametrize("version", ["'1.31.x'", "'v1.31.'", "'1.31.2.4'", "'1.31-rc'"])
def test_a_sloppy_kubernetes_version_is_refused(tmp_path: Path, version: str) -> None:
    text = full_answers_text().replace("version: '1.31'", f"version: {version}")
    assert f"version: {version}" in text
    result = render_answers(tmp_path, text)
    assert_one_line_error(result, tmp_path, "kubernetes.version:", "is not a supported Kubernetes version")


@pytest.mark.parametrize("version", ["'1.31'", "'v1.31'", "'1.31.2'", "'v1.31.2'"])
def test_exact_kubernetes_versions_are_accepted(tmp_path: Path, version: str) -> None:
    text = full_answers_text().replace("version: '1.31'", f"version: {version}")
    assert render_answers(tmp_path, text, "--dry-run").exit_code == 0


# Finding 10: text that is not text, names that cannot be keys.

def test_a_lone_surrogate_in_health_command_is_refused(tmp_path: Path) -> None:
    text = full_answers_text() + ""
    text = text.replace("  replicas: 2\n", '  replicas: 2\n  health_command: ["wget", "\\ud800"]\n')
    result = render_answers(tmp_path, text)
    assert_one_line_error(result, tmp_path, "answers.yaml:", "lone surrogate")


def test_a_lone_surrogate_in_a_parameter_is_refused(tmp_path: Path) -> None:
    catalog = team_catalog(tmp_path / "team")
    answers = ("app: {name: shop, image: 'registry.example.com/shop:1.0.0'}\n"
               'sidecars: [{name: pinger, params: {greeting: "hi \\udcff"}}]\n')
    result = render_answers(tmp_path, answers, "--catalog", str(catalog))
    assert_one_line_error(result, tmp_path, "lone surrogate")


@pytest.mark.parametrize("names, message", [
    (["a/b.conf", "a__b.conf"], "becomes ConfigMap key 'a__b.conf', as a/b.conf does"),
    (["x.conf", "x.conf.j2"], "becomes ConfigMap key 'x.conf'"),
    (["bad\nname.conf"], "cannot be a ConfigMap key"),
    ([" leading.conf"], "cannot be a ConfigMap key"),
])
def test_config_file_names_that_are_no_configmap_keys_are_refused(tmp_path: Path, names, message) -> None:
    catalog = team_catalog(tmp_path / "team", **{f"templates/pinger/files/{n}": "x\n" for n in names})
    result = run_cli("new", *APP_FLAGS, "--with", "pinger", "--output", str(tmp_path / "out"),
                     "--catalog", str(catalog))
    assert_one_line_error(result, tmp_path, message)


@pytest.mark.parametrize("field, value", [("name", '"team\\nevil"'), ("name", '"team\\e[31m"'),
                                          ("version", '"2.1\\n"')])
def test_a_catalog_name_with_a_control_character_is_refused(tmp_path: Path, field: str, value: str) -> None:
    index = TEAM_CATALOG["catalog.yaml"].replace('name: team', f'name: {value}' if field == "name" else 'name: team')
    if field == "version":
        index = index.replace('version: "2.1.0"', f"version: {value}")
    catalog = team_catalog(tmp_path / "team", **{"catalog.yaml": index})
    result = run_cli("list", "--catalog", str(catalog))
    assert result.exit_code == 1 and "control character" in result.output and result.output.count("\n") == 1


# Finding 11: bombs and endless input.

BOMB = ("a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
        "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
        "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
        "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\nh: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]\n")


@pytest.mark.parametrize("field", ["app.name", "sidecars", "app.health_command", "targets",
                                   "kubernetes.version"])
def test_a_yaml_bomb_in_any_field_ends_at_once(tmp_path: Path, field: str) -> None:
    section, _, key = field.partition(".")
    answers = yaml.safe_load(full_answers_text())
    if key:
        answers[section][key] = "BOMB_HERE"
    else:
        answers[section] = "BOMB_HERE"
    text = BOMB + yaml.safe_dump(answers, sort_keys=False).replace("BOMB_HERE", "*h")
    started = time.monotonic()
    result = render_answers(tmp_path, text)
    assert time.monotonic() - started < 5
    assert_one_line_error(result, tmp_path, "answers.yaml: more than 200000 values once its aliases are expanded")


def test_answers_from_an_endless_file_end_at_the_size_limit(tmp_path: Path) -> None:
    result = run_cli("new", "--answers", "/dev/zero", "--no-input", "--output", str(tmp_path / "out"))
    assert_one_line_error(result, tmp_path, "/dev/zero: larger than 4 MiB")


@pytest.mark.parametrize("text", ["sidecars: " + "[" * 600 + "]" * 600 + "\n",
                                  "sidecars: " + "[" * 100000 + "\n",
                                  "sidecars:\n" + "- " * 50000 + "x\n"])
def test_deep_nesting_in_answers_is_one_line(tmp_path: Path, text: str) -> None:
    result = render_answers(tmp_path, "app: {name: a, image: 'r.example.com/a:1'}\n" + text)
    assert_one_line_error(result, tmp_path, "answers.yaml: nested deeper than 100 levels")


def test_a_bomb_in_a_catalogs_sidecar_yaml_ends_at_once(tmp_path: Path) -> None:
    definition = BOMB + TEAM_CATALOG["templates/pinger/sidecar.yaml"].replace("\n        ", "\n").strip() + "\n"
    catalog = team_catalog(tmp_path / "team", **{"templates/pinger/sidecar.yaml": definition})
    result = run_cli("list", "--catalog", str(catalog))
    assert result.exit_code == 1 and "sidecar.yaml: more than 200000 values" in result.output


def test_errors_show_big_nested_values_shortened(tmp_path: Path) -> None:
    nested = "[" * 50 + ", ".join(["1"] * 50) + "]" * 50
    result = render_answers(tmp_path, f"app: {{name: a, image: 'r.example.com/a:1'}}\nsidecars: {nested}\n")
    assert result.exit_code == 1 and len(result.output) < 300, result.output
