"""Without an engine the e2e suite skips locally, saying why, and fails loudly in CI.
Runs the suite in a child pytest with `docker`/`podman` that cannot reach any engine."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent.parent


def run_e2e_without_engines(tmp_path: Path, ci: str) -> subprocess.CompletedProcess:
    fake = tmp_path / "bin"
    fake.mkdir()
    for tool in ("docker", "podman"):
        (fake / tool).write_text("#!/bin/sh\necho 'Cannot connect to the engine' >&2\nexit 1\n")
        (fake / tool).chmod(0o755)
    env = {**os.environ, "PATH": f"{fake}{os.pathsep}{os.environ['PATH']}", "CI": ci}
    # No -rs: a skipped e2e run must say why on its own. One process: nothing to share out.
    return subprocess.run([sys.executable, "-m", "pytest", "-m", "e2e", "-q", "-n", "0", "-p", "no:cacheprovider",
                           "tests/e2e/test_compose.py"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


def test_without_an_engine_the_e2e_tests_skip_locally_with_the_reason(tmp_path: Path) -> None:
    done = run_e2e_without_engines(tmp_path, ci="")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "skipped" in done.stdout
    assert re.search(r"^e2e: \d+ test\(s\) skipped: e2e: `docker info` failed: Cannot connect to the engine",
                     done.stdout, re.MULTILINE), done.stdout


@pytest.mark.parametrize("ci", ["true", "1"])
def test_without_an_engine_the_e2e_tests_fail_in_ci(tmp_path: Path, ci: str) -> None:
    done = run_e2e_without_engines(tmp_path, ci=ci)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"CI={ci}, so this is a failure, not a skip" in done.stdout
    assert "skipped" not in done.stdout
