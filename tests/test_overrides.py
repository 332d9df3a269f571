"""`--set dotted.path=value`: any answers field from the command line, checked like the file."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from conftest import FULL_ANSWERS, run_cli, write_answers
from generator.errors import SpecError
from generator.input.overrides import apply_sets
from generator.input.spec import ANSWER_KEYS


def _set(answers: dict, *sets: str) -> dict:
    return apply_sets(answers, sets, ANSWER_KEYS)


def test_set_changes_an_app_value_parsed_as_yaml() -> None:
    result = _set(FULL_ANSWERS, "app.replicas=3", "app.health_path=/ready", "app.name=\"123\"")
    assert result["app"]["replicas"] == 3 and result["app"]["health_path"] == "/ready"
    assert result["app"]["name"] == "123"  # quoted: text, not a number
    assert FULL_ANSWERS["app"]["replicas"] == 2  # the input is not changed


def test_set_reaches_a_sidecar_parameter_with_or_without_params() -> None:
    result = _set(FULL_ANSWERS, "sidecars.envoy.listen_port=9000", "sidecars.fluentd.params.x=1")
    assert result["sidecars"][1] == {"name": "envoy", "params": {"listen_port": 9000}}
    assert result["sidecars"][0] == {"name": "fluentd", "params": {"x": 1}}  # a bare name grew params


def test_set_creates_missing_sections_and_takes_flow_lists() -> None:
    result = _set({"app": {"name": "a"}}, "kubernetes.version=\"1.30\"", "targets=[compose]",
                  "app.health_command=[wget, -q, 'http://x/']", "app.log_dir=")
    assert result["kubernetes"] == {"version": "1.30"} and result["targets"] == ["compose"]
    assert result["app"]["health_command"] == ["wget", "-q", "http://x/"]
    assert result["app"]["log_dir"] is None  # empty: null, the default applies


@pytest.mark.parametrize("given, named", [
    ("app.replicas", "must be dotted.path=value"),
    ("=3", "is not a dotted path"),
    ("app..replicas=3", "is not a dotted path"),
    ("ap.replicas=3", "unknown answers section 'ap' (known: app, sidecars"),
    ("sidecars.oauth2-proxy.port=1", "'oauth2-proxy' is not in sidecars (add it with --with oauth2-proxy)"),
    ("app.name.first=x", "app.name is str, not a mapping or list"),
    ("app.replicas=[1, 2", "--set app.replicas: "),
])
def test_a_bad_set_is_one_line_naming_it(given: str, named: str) -> None:
    with pytest.raises(SpecError) as caught:
        _set(FULL_ANSWERS, given)
    assert named in caught.value.message and "\n" not in caught.value.message


def test_set_on_new_renders_the_changed_answers(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run_cli("new", "--answers", str(write_answers(tmp_path / "a.yaml", FULL_ANSWERS)), "--no-input",
                     "--output", str(out), "--set", "app.replicas=3", "--set", "sidecars.envoy.listen_port=9000")
    assert result.exit_code == 0, result.output
    record = yaml.safe_load((out / ".sidecar-new.yaml").read_text())
    assert record["app"]["replicas"] == 3
    assert {"name": "envoy", "params": {"listen_port": 9000}} in [
        {"name": s["name"], "params": {"listen_port": s["params"]["listen_port"]}}
        for s in record["sidecars"] if isinstance(s, dict) and s["name"] == "envoy"]
    assert "replicas: 3" in (out / "k8s/deployment.yaml").read_text()


def test_set_after_with_reaches_the_added_sidecar(tmp_path: Path) -> None:
    result = run_cli("new", "--no-input", "--name", "pay", "--image", "team/pay:1.0", "--with", "envoy",
                     "--set", "sidecars.envoy.listen_port=9001", "--dry-run", "--output", str(tmp_path / "o"))
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("given, line", [
    ("app.replicas=many", "error: app.replicas: "),
    ("app.colour=blue", "error: app.colour: unknown key"),
    ("nope=1", "error: --set nope: unknown answers section"),
])
def test_a_bad_set_on_new_exits_1_with_one_line_and_writes_nothing(tmp_path: Path, given: str, line: str) -> None:
    out = tmp_path / "out"
    result = run_cli("new", "--no-input", "--name", "pay", "--image", "team/pay:1.0", "--output", str(out),
                     "--set", given)
    assert result.exit_code == 1 and not out.exists()
    errors = [l for l in result.output.splitlines() if l.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith(line), result.output


def test_diff_exits_1_on_differences_and_0_without(tmp_path: Path) -> None:
    out = tmp_path / "pay"
    base = ("new", "--no-input", "--name", "pay", "--image", "team/pay:1.0", "--output", str(out))
    assert run_cli(*base, "--diff").exit_code == 1  # nothing there yet: all of it differs
    assert run_cli(*base).exit_code == 0
    assert run_cli(*base, "--diff").exit_code == 0
    drift = run_cli(*base, "--set", "app.replicas=4", "--diff")
    assert drift.exit_code == 1 and "+  replicas: 4" in drift.output
    (out / "compose.yaml").write_text("edited\n")
    assert run_cli("new", "--answers", str(out / ".sidecar-new.yaml"), "--no-input", "--diff").exit_code == 1
