"""Teardown holds when a test fails: a pytest run whose test fails while a stack is up
(the same fixture shape as test_compose/test_podman) leaves nothing behind."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from e2e.stacks import compose_leftovers, podman_leftovers

pytestmark = pytest.mark.e2e

TESTS = Path(__file__).parent.parent

FAILING_COMPOSE = '''
import pytest
from e2e.stacks import compose_up, e2e_answers, render

@pytest.fixture
def stack(tmp_path):
    with compose_up(render(e2e_answers("{name}", 18200), tmp_path), "{name}", wait=False) as running:
        yield running

def test_fails_while_the_stack_runs(stack):
    assert stack.inspect("{name}")["State"]["Running"]
    assert False, "deliberate failure"
'''

FAILING_PODMAN = '''
import pytest
from e2e.stacks import e2e_answers, kustomize, podman_play, render

@pytest.fixture
def pod(tmp_path):
    out = render(e2e_answers("{name}", 28200, "1.28", ("kubernetes",)), tmp_path)
    with podman_play(kustomize(out), "{name}") as running:
        yield running

def test_fails_while_the_pod_runs(pod):
    assert pod.inspect("{name}")["State"]["Status"] == "running"
    assert False, "deliberate failure"
'''


def run_failing_test(tmp_path: Path, source: str) -> str:
    """Run one test file in a separate pytest; it must fail with our deliberate failure."""
    test_file = tmp_path / "test_failing.py"
    test_file.write_text(textwrap.dedent(source))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test_file)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    output = done.stdout + done.stderr
    assert done.returncode == 1 and "deliberate failure" in output and "1 failed" in output, output
    return output


def test_a_failing_test_leaves_no_compose_containers_volumes_or_networks(docker_engine, tmp_path) -> None:
    name = "sne2e-compose-fails"
    run_failing_test(tmp_path, FAILING_COMPOSE.replace("{name}", name))
    assert compose_leftovers(name) == []


def test_a_failing_test_leaves_no_pods_containers_or_volumes(podman_engine, tmp_path) -> None:
    name = "sne2e-podman-fails"
    run_failing_test(tmp_path, FAILING_PODMAN.replace("{name}", name))
    assert podman_leftovers(name, ("tmp", "app-logs", "metrics-www")) == []
