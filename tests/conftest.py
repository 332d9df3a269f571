"""Shared fixtures: an isolated HOME, the CLI run in-process, catalogs built from dicts."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from generator.catalog.loader import load_catalog

TESTS = Path(__file__).parent
GOLDEN = TESTS / "golden"

FULL_ANSWERS: dict[str, Any] = {
    "app": {"name": "orders-api", "image": "registry.example.com:5000/team/orders:1.4.2",
            "port": 8080, "health_path": "/healthz", "log_dir": "/var/log/app",
            "metrics_path": "/metrics", "replicas": 2},
    "sidecars": ["fluentd", {"name": "envoy", "params": {"listen_port": 10000}}, "metrics"],
    "targets": ["compose", "kubernetes"],
    "kubernetes": {"version": "1.31", "namespace": "orders"},
}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true",
                     help="rewrite tests/golden/*/expected from the current render")


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """cookiecutter writes to ~/.cookiecutters; keep every test away from the real HOME."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("SIDECAR_NEW_CATALOG", raising=False)
    return home


@pytest.fixture(scope="session")
def builtin_catalog():
    return load_catalog()


def build_file_tree(root: Path, spec: dict[str, str]) -> Path:
    """Write {relative path: text} under root (text is dedented), like copier's helper."""
    for relative, text in spec.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def write_answers(path: Path, answers: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(answers, sort_keys=False))
    return path


def run_cli(*args: str, input: str | None = None):
    """Run sidecar-new in-process; returns the CliRunner result (exit_code, stdout, stderr)."""
    from typer.testing import CliRunner

    from generator.cli import app

    return CliRunner().invoke(app, list(args), input=input)


def tree_of(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}
