"""Shared fixtures: an isolated HOME, the CLI run in-process, catalogs built from dicts; the
suite's own settings: hypothesis example counts (full in CI), the e2e suite off unless asked for."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path
from typing import Any, Mapping

import pytest
import yaml
from hypothesis import settings

from generator.catalog.loader import load_catalog

TESTS = Path(__file__).parent
GOLDEN = TESTS / "golden"
# scripts/test-tools.sh installs helm here; `check` and checkov find it on PATH.
TOOLS_BIN = TESTS.parent / ".tools" / "bin"
if TOOLS_BIN.is_dir() and str(TOOLS_BIN) not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = f"{TOOLS_BIN}{os.pathsep}{os.environ.get('PATH', '')}"


def require_helm() -> str:
    """helm's path; without it a test skips, saying why, or fails under CI."""
    import shutil

    found = shutil.which("helm")
    if found is None:
        message = "helm not installed: run `bash scripts/test-tools.sh` (the README's test command does)"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    return found

FULL_ANSWERS: dict[str, Any] = {
    "app": {"name": "orders-api", "image": "registry.example.com:5000/team/orders:1.4.2",
            "port": 8080, "health_path": "/healthz", "log_dir": "/var/log/app",
            "metrics_path": "/metrics", "replicas": 2},
    "sidecars": ["fluentd", {"name": "envoy", "params": {"listen_port": 10000}}, "metrics"],
    "targets": ["compose", "kubernetes"],
    "kubernetes": {"version": "1.31", "namespace": "orders"},
}


def in_ci(environ: Mapping[str, str] = os.environ) -> bool:
    return environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def hypothesis_profile(environ: Mapping[str, str] = os.environ) -> str:
    return environ.get("HYPOTHESIS_PROFILE") or ("ci" if in_ci(environ) else "dev")


# Property tests state their full example counts through examples(); CI runs them in full,
# a developer's run a quarter of them (the run must stay under 2 minutes on 2 cores).
# `--hypothesis-profile ci` (or HYPOTHESIS_PROFILE=ci) asks for the full counts anywhere.
settings.register_profile("ci", max_examples=100)
settings.register_profile("dev", max_examples=25)
settings.load_profile(hypothesis_profile())


def examples(full: int) -> int:
    """The example count for a property whose full count is `full`, scaled by the profile."""
    return max(1, full * settings.default.max_examples // 100)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true",
                     help="rewrite tests/golden/*/expected from the current render")


def pytest_configure(config: pytest.Config) -> None:
    """The e2e suite needs engines: it runs only when -m names it. Done here rather than by
    `-m 'not e2e'` in addopts, so that another -m (`-m 'not slow'`) adds to it instead of
    replacing it and turning the e2e suite on."""
    config.option.markexpr = without_e2e(without_slow(config.option.markexpr, in_ci()))
    if not hasattr(config, "workerinput"):  # once, in the controlling process
        _compile_the_package()


def without_slow(expression: str, ci: bool) -> str:
    """The -m expression with the slow tests (checkov, kill loops, the fleet benchmark) left out
    of a developer's run, so it stays near 2 minutes; CI, or an expression naming them, runs them."""
    if ci or "slow" in expression:
        return expression
    return f"({expression}) and not slow" if expression else "not slow"


def without_e2e(expression: str) -> str:
    """The -m expression with the e2e suite left out, unless it names the suite itself."""
    if "e2e" in expression:
        return expression
    return f"({expression}) and not e2e" if expression else "not e2e"


def _compile_the_package() -> None:
    """Write the package's bytecode, as a wheel install does: with PYTHONDONTWRITEBYTECODE set
    (this machine sets it) every `python -m generator` the tests start would compile the whole
    package again (~0.2 s each, dozens of times). Stale files are recompiled (mtime check)."""
    import compileall

    import generator

    compileall.compile_dir(Path(generator.__file__).parent, quiet=1)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # One xdist worker runs all of the e2e suite: its session fixtures build the images once
    # and check at the end that no stack of the suite is left, which another worker's running
    # stacks would fail. (tryfirst: xdist reads the group in its own hook.)
    for item in items:
        if item.get_closest_marker("e2e"):
            item.add_marker(pytest.mark.xdist_group("e2e"))


_E2E_SKIPS: dict[str, int] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and "e2e" in report.keywords and isinstance(report.longrepr, tuple):
        reason = report.longrepr[2].removeprefix("Skipped: ")
        _E2E_SKIPS[reason] = _E2E_SKIPS.get(reason, 0) + 1


def pytest_terminal_summary(terminalreporter) -> None:
    """An e2e run that skipped says why without -rs: an exit 0 that tested nothing must show."""
    for reason, count in _E2E_SKIPS.items():
        terminalreporter.write_line(f"e2e: {count} test(s) skipped: {reason}", yellow=True, bold=True)


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
