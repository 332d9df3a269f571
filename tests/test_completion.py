"""Shell completion: the installed script offers --install-completion and --show-completion for
bash, zsh and fish, and completes template names for --with and show from the catalog in use."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from generator.catalog.loader import load_catalog

from catalog_fixtures import team_catalog

SCRIPT = str(Path(sys.executable).parent / "sidecar-new")  # the console script, as a shell runs it
NO_DETECTION = {"_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}  # name the shell, do not guess it


def sidecar_new(*args: str, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([SCRIPT, *args], env={**os.environ, **env}, cwd=cwd, capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)


def bash_completes(line: str, **env: str) -> list[str]:
    words = line.split(" ")
    done = sidecar_new(_SIDECAR_NEW_COMPLETE="complete_bash", COMP_WORDS=line, COMP_CWORD=str(len(words) - 1), **env)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


@pytest.mark.parametrize("line, names", [
    ("sidecar-new show ", [t.name for t in load_catalog().templates]),  # every one, in catalog order
    ("sidecar-new show e", ["envoy"]),
    ("sidecar-new new --with fluentd", ["fluentd"]),
    ("sidecar-new new --name x --with fluentd --with m", ["metrics"]),
])
def test_bash_completes_template_names_for_with_and_show(line: str, names: list[str]) -> None:
    assert bash_completes(line) == names


def test_completion_reads_the_catalog_given_before_it(tmp_path: Path) -> None:
    catalog = team_catalog(tmp_path / "team")
    assert bash_completes(f"sidecar-new new --catalog {catalog} --with ") == ["pinger"]
    assert bash_completes("sidecar-new show ", SIDECAR_NEW_CATALOG=str(catalog)) == ["pinger"]


def test_a_remote_catalog_is_not_fetched_to_complete_a_name() -> None:
    assert bash_completes("sidecar-new new --catalog gh:nobody/nothing --with ") == []


@pytest.mark.parametrize("shell, variable", [("zsh", "complete_zsh"), ("fish", "complete_fish")])
def test_zsh_and_fish_complete_names_with_their_summaries(shell: str, variable: str) -> None:
    done = sidecar_new(_SIDECAR_NEW_COMPLETE=variable, _TYPER_COMPLETE_ARGS="sidecar-new show en",
                       _TYPER_COMPLETE_FISH_ACTION="get-args")
    assert done.returncode == 0, done.stderr
    assert "envoy" in done.stdout and "Envoy ingress proxy" in done.stdout
    assert "fluentd" not in done.stdout


@pytest.mark.parametrize("shell, marker", [("bash", "complete -o default -F _sidecar_new_completion sidecar-new"),
                                           ("zsh", "#compdef sidecar-new"),
                                           ("fish", "complete --command sidecar-new")])
def test_show_completion_prints_the_script_for_each_shell(shell: str, marker: str) -> None:
    done = sidecar_new("--show-completion", shell, **NO_DETECTION)
    assert done.returncode == 0, done.stderr
    assert marker in done.stdout and "_SIDECAR_NEW_COMPLETE" in done.stdout


def test_install_completion_writes_the_script_where_bash_reads_it(isolated_home: Path) -> None:
    done = sidecar_new("--install-completion", "bash", **NO_DETECTION)
    assert done.returncode == 0, done.stderr
    assert "bash completion installed" in done.stdout
    assert "_SIDECAR_NEW_COMPLETE" in (isolated_home / ".bash_completions" / "sidecar-new.sh").read_text()
    assert ".bash_completions/sidecar-new.sh" in (isolated_home / ".bashrc").read_text()


def test_help_lists_the_completion_options() -> None:
    done = sidecar_new("--help")
    assert "--install-completion" in done.stdout and "--show-completion" in done.stdout
