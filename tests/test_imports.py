"""Start-up stays fast: the CLI loads the wizard's heavy packages only on the interactive path."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("questionary", "prompt_toolkit", "cookiecutter")
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "orders-api.yaml"
# Runs the real CLI in a fresh interpreter, then prints which heavy packages it loaded.
_PROBE = """
import sys
from {entry} import main
sys.argv = ["sidecar-new", *sys.argv[1:]]
code = 0
try:
    main()
except SystemExit as exit:
    code = exit.code or 0
print("EXIT", code, "LOADED", sorted(m for m in {heavy!r} if m in sys.modules))
"""


def _loaded(*args: str, cwd: Path, heavy: tuple[str, ...] = HEAVY, entry: str = "generator.cli") -> str:
    done = subprocess.run([sys.executable, "-c", _PROBE.format(heavy=heavy, entry=entry), *args], cwd=cwd,
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)
    assert "LOADED" in done.stdout, done.stderr
    # A command that failed early would load little and pass for fast: it must have succeeded.
    assert done.stdout.rsplit("EXIT", 1)[1].split()[0] == "0", done.stdout + done.stderr
    return done.stdout.rsplit("LOADED", 1)[1].strip()


def test_importing_the_cli_loads_no_wizard_or_cookiecutter(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", "import sys, generator.cli; print(sorted(m for m in "
                           f"{HEAVY!r} if m in sys.modules))"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "[]", done.stderr


@pytest.mark.parametrize("args", [["--help"], ["list"], ["new", "--no-input", "--name", "web", "--image",
                                                          "team/web:1.0", "--with", "envoy", "--output", "out"]])
def test_help_list_and_a_non_interactive_render_do_not_import_questionary(args: list[str], tmp_path: Path) -> None:
    assert _loaded(*args, cwd=tmp_path) == "[]"
    if "new" in args:
        assert (tmp_path / "out" / "compose.yaml").is_file()  # the render really ran


@pytest.mark.parametrize("entry", ["generator.cli", "generator.__main__"])  # the console script's entry
def test_the_full_example_render_imports_no_wizard_or_cookiecutter(entry: str, tmp_path: Path) -> None:
    # The benchmark's render: all three built-in sidecars, compose and kubernetes.
    assert _loaded("new", "--answers", str(EXAMPLE), "--no-input", "--output", "out",
                   cwd=tmp_path, entry=entry) == "[]"
    assert (tmp_path / "out" / "compose.yaml").is_file() and (tmp_path / "out" / "k8s").is_dir()


@pytest.mark.parametrize("args", [["--help"], ["list"], ["--version"]])
def test_help_and_list_do_not_import_jinja2_or_the_render_path(args: list[str], tmp_path: Path) -> None:
    # jinja2 alone is ~20 ms; help and list have nothing to render.
    assert _loaded(*args, cwd=tmp_path, heavy=(*HEAVY, "jinja2", "generator.pipeline")) == "[]"


def test_the_probe_fails_a_command_that_fails(tmp_path: Path) -> None:
    """A failing command loads little: the probe must not take it for a fast one."""
    with pytest.raises(AssertionError):
        _loaded("show", "no-such-template", cwd=tmp_path)


@pytest.mark.parametrize("args", [["--help"], ["list"], ["new", "--no-input", "--name", "web", "--image",
                                                          "team/web:1.0", "--with", "envoy", "--output", "out"]])
def test_help_list_and_new_do_not_load_inject(args: list[str], tmp_path: Path) -> None:
    # inject's text splicing is for inject alone; the other commands stay as fast as before.
    assert _loaded(*args, cwd=tmp_path, heavy=("generator.inject", "generator.inject.splice")) == "[]"


def test_a_render_without_the_helm_target_does_not_load_the_chart_code(tmp_path: Path) -> None:
    # The chart model and emitter cost ~20 ms of imports; only `--target helm` needs them.
    assert _loaded("new", "--no-input", "--name", "web", "--image", "team/web:1.0", "--port", "8080",
                   "--with", "envoy", "--output", "out", cwd=tmp_path,
                   heavy=("generator.emit.helm", "generator.model.chart")) == "[]"
