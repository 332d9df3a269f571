"""A record replays with the catalog it names (source, directory, commit) without --catalog,
asks nothing in a terminal, and works from the cache with --offline."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from catalog_fixtures import (APP_FLAGS, TEAM_CATALOG, commit_all, cookiecutter_home, git_repo,  # noqa: F401
                              team_catalog)
from conftest import run_cli, tree_of


@pytest.fixture
def moved_repo(cookiecutter_home: Path) -> tuple[Path, str, str]:
    """The team catalog in git, in a subfolder: v1 (2.1.0), then main moved on (2.2.0, new text)."""
    repo = git_repo(cookiecutter_home / "repos" / "platform")
    team_catalog(repo / "sidecars")
    first = commit_all(repo, "2.1.0")
    subprocess.run(["git", "tag", "v1"], cwd=repo, check=True)
    team_catalog(repo / "sidecars", **{
        "catalog.yaml": TEAM_CATALOG["catalog.yaml"].replace("2.1.0", "2.2.0"),
        "templates/pinger/files/pinger.yaml.j2": "greeting: {{ greeting }}!\napp: {{ app.name }}\n"})
    second = commit_all(repo, "2.2.0")
    return repo, first, second


def _render_v1(repo: Path, out: Path) -> None:
    result = run_cli("new", *APP_FLAGS, "--with", "pinger", "--output", str(out), "--catalog", f"file://{repo}",
                     "--checkout", "v1", "--directory", "sidecars")
    assert result.exit_code == 0, result.output


def test_a_record_replays_with_its_catalog_at_its_commit_without_being_told(moved_repo, tmp_path: Path,
                                                                             monkeypatch) -> None:
    repo, first, _ = moved_repo
    out = tmp_path / "shop"
    _render_v1(repo, out)
    before = tree_of(out)
    monkeypatch.setenv("SIDECAR_NEW_CATALOG", "builtin")  # the record wins over the team default
    result = run_cli("new", "--answers", str(out / ".sidecar-new.yaml"), "--no-input", "--diff")
    assert result.exit_code == 0 and result.output == f"{out}: no changes\n"
    assert run_cli("new", "--answers", str(out / ".sidecar-new.yaml"), "--no-input", "--force").exit_code == 0
    assert tree_of(out) == before
    recorded = yaml.safe_load((out / ".sidecar-new.yaml").read_text())["generated_by"]["catalog"]
    assert recorded["checkout"] == "v1" and recorded["commit"] == first and recorded["directory"] == "sidecars"


def test_checkout_moves_a_replayed_record_to_another_ref(moved_repo, tmp_path: Path) -> None:
    repo, _, second = moved_repo
    out = tmp_path / "shop"
    _render_v1(repo, out)
    result = run_cli("new", "--answers", str(out / ".sidecar-new.yaml"), "--no-input", "--checkout", "main", "--diff")
    assert result.exit_code == 1 and '+greeting: "hello"!\n' in result.output, result.output


def test_offline_replays_from_the_cache_and_names_a_ref_it_lacks(moved_repo, tmp_path: Path) -> None:
    repo, _, _ = moved_repo
    out = tmp_path / "shop"
    _render_v1(repo, out)
    shutil.rmtree(repo)  # the server is gone; the cache is all there is
    result = run_cli("new", "--answers", str(out / ".sidecar-new.yaml"), "--no-input", "--diff", "--offline")
    assert result.exit_code == 0, result.output
    missing = run_cli("list", "--catalog", f"file://{repo}", "--directory", "sidecars", "--checkout", "v7",
                      "--offline")
    assert missing.exit_code == 1
    assert missing.output.startswith(f"error: --offline: the cached copy of file://{repo} has no 'v7' (cached in ")
    assert len(missing.output.splitlines()) == 1
    never = run_cli("list", "--catalog", "file:///nowhere/else", "--offline")
    assert never.exit_code == 1 and "--offline: file:///nowhere/else is not in the cache" in never.output


def test_a_team_record_replays_in_a_terminal_without_questions(moved_repo, tmp_path: Path) -> None:
    from test_wizard import finish, spawn

    repo, _, _ = moved_repo
    _render_v1(repo, tmp_path / "shop")
    child = spawn("--answers", "shop/.sidecar-new.yaml", "--diff", cwd=tmp_path)
    output = finish(child)
    assert child.exitstatus == 0, output
    assert "?" not in output.replace("\n?", ""), output  # questionary's prompts start with '?'
    assert output.endswith("shop: no changes\n"), output[-300:]
