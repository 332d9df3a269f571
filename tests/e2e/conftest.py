"""E2E fixtures: the engines (skip locally, fail in CI when one cannot start), the app
image built on each engine, and a session check that no stack outlives the suite."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Iterator

import pytest

from e2e.stacks import APP_IMAGE, PAUSE_IMAGE, PREFIX, compose_leftovers, podman_leftovers, run

# What scripts/e2e-setup.sh builds (it exports it as SIDECAR_NEW_E2E_IMAGE); the e2e catalog
# and the app's Dockerfile name it too.
BUSYBOX_IMAGE = "localhost/sidecar-new-test/busybox:1.0"
APP_CONTEXT = Path(__file__).parent / "app"
PAUSE_CONTEXT = Path(__file__).parent / "pause"  # the e2e catalog's namespace holder
SETUP_HINT = "run `env=$(bash scripts/e2e-setup.sh) && eval \"$env\"` as root first"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def engine_missing(reason: str) -> None:
    """No engine: a developer may not have one (skip, saying why); CI must (fail loudly)."""
    if in_ci():
        pytest.fail(f"e2e: {reason}; CI={os.environ['CI']}, so this is a failure, not a skip "
                    f"({SETUP_HINT})", pytrace=False)
    pytest.skip(f"e2e: {reason} ({SETUP_HINT})")


def _why_not(engine: str, *tools: str) -> str | None:
    for tool in tools:
        if not shutil.which(tool):
            return f"{tool} is not installed"
    info = run(engine, "info", timeout=30, check=False)
    if info.returncode:
        return f"`{engine} info` failed: {(info.stdout + info.stderr).decode(errors='replace').strip()[-300:]}"
    if run(engine, "image", "inspect", BUSYBOX_IMAGE, timeout=30, check=False).returncode:
        return f"{engine} has no test image {BUSYBOX_IMAGE}"
    return None


@pytest.fixture(scope="session")
def docker_engine(no_leftovers) -> str:
    """A running Docker Engine with docker-compose and the app image built on it."""
    reason = _why_not("docker", "docker", "docker-compose")
    if reason:
        engine_missing(reason)
    # The legacy builder: this Docker has no buildx, and FROM a local image needs nothing more.
    os.environ.setdefault("DOCKER_BUILDKIT", "0")
    run("docker", "build", "-q", "-t", APP_IMAGE, str(APP_CONTEXT), timeout=120)
    run("docker", "build", "-q", "-t", PAUSE_IMAGE, str(PAUSE_CONTEXT), timeout=120)
    no_leftovers.append("docker")
    return APP_IMAGE


@pytest.fixture(scope="session")
def podman_engine(no_leftovers) -> str:
    """podman (for `kube play`) with the app image built on it."""
    reason = _why_not("podman", "podman", "kubectl")
    if reason:
        engine_missing(reason)
    run("podman", "build", "-q", "-t", APP_IMAGE, str(APP_CONTEXT), timeout=120)
    no_leftovers.append("podman")
    return APP_IMAGE


def need_image(engine: str, image: str) -> str:
    """A real program's test image (scripts/e2e-setup.sh builds it from Debian's packages)."""
    if run(engine, "image", "inspect", image, timeout=30, check=False).returncode:
        engine_missing(f"{engine} has no test image {image}")
    return image


@pytest.fixture(scope="session")
def no_leftovers() -> Iterator[list[str]]:
    """After the whole suite: no container, pod, volume or network of ours is left on any
    engine that was used (each stack also tears itself down, test failed or not)."""
    used: list[str] = []
    podman_before = set()
    if shutil.which("podman"):
        podman_before = set(run("podman", "volume", "ls", "--format", "{{.Name}}",
                                check=False).stdout.decode().split())
    yield used
    left = []
    if "docker" in used:
        left += compose_leftovers(PREFIX)
    if "podman" in used:
        # emptyDir volumes keep their plain names in podman: anything new counts.
        after = set(run("podman", "volume", "ls", "--format", "{{.Name}}").stdout.decode().split())
        left += podman_leftovers(PREFIX, tuple(sorted(after - podman_before)))
    assert not left, f"left behind after the e2e suite: {', '.join(left)}"
