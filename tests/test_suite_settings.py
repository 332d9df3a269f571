"""The suite's own settings hold: CI runs the property tests' full example counts, a
developer's run a quarter; `-m` expressions add to the e2e default instead of replacing it;
CI runs the README's test command with CI set."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import settings

from conftest import examples, hypothesis_profile, without_e2e, without_slow

ROOT = Path(__file__).parent.parent


@pytest.mark.parametrize("environ, profile", [
    ({"CI": "true"}, "ci"), ({"CI": "1"}, "ci"), ({"HYPOTHESIS_PROFILE": "ci"}, "ci"),
    ({}, "dev"), ({"CI": "false"}, "dev"), ({"CI": ""}, "dev"), ({"CI": "0"}, "dev"),
])
def test_ci_picks_the_full_profile_and_a_developer_the_quick_one(environ: dict, profile: str) -> None:
    assert hypothesis_profile(environ) == profile


def test_the_ci_profile_runs_the_full_counts_and_the_quick_one_a_quarter() -> None:
    assert settings.get_profile("ci").max_examples == 100  # examples() scales by max_examples / 100
    assert settings.get_profile("dev").max_examples == 25
    # The profile this run loaded (by its own environment) is the one the counts come from.
    assert examples(300) == 3 * settings.get_profile(hypothesis_profile()).max_examples


@pytest.mark.parametrize("expression, composed", [
    ("", "not e2e"), ("not slow", "(not slow) and not e2e"), ("slow or wizard", "(slow or wizard) and not e2e"),
    ("e2e", "e2e"), ("not e2e", "not e2e"),
])
def test_a_mark_expression_adds_to_leaving_the_e2e_suite_out(expression: str, composed: str) -> None:
    assert without_e2e(expression) == composed


def test_not_slow_leaves_the_e2e_suite_off_in_a_real_run() -> None:
    done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-n", "0", "-p", "no:cacheprovider",
                           "-m", "not slow", "tests/e2e/test_compose.py", "tests/test_validators.py"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "test_compose.py" not in done.stdout and "test_kubernetes_output_passes_checkov" not in done.stdout
    assert "test_golden_output_passes_every_real_validator" in done.stdout


def test_ci_runs_the_readmes_test_command_with_ci_set() -> None:
    readme = (ROOT / "README.md").read_text()
    command = re.search(r"```sh\n(bash scripts/test-tools\.sh && python -m pip install -e '\.\[test\]' "
                        r"&& python -m pytest)\n```", readme).group(1)
    script = (ROOT / ".ci" / "run").read_text().splitlines()
    assert command in script
    assert script.index('export CI="${CI:-true}"') < script.index(command)


@pytest.mark.parametrize("expression, ci, composed", [
    ("", False, "not slow"), ("", True, ""), ("slow", False, "slow"),
    ("not helm", False, "(not helm) and not slow"), ("not helm", True, "not helm"),
])
def test_a_developers_run_leaves_the_slow_tests_to_ci(expression: str, ci: bool, composed: str) -> None:
    assert without_slow(expression, ci) == composed
