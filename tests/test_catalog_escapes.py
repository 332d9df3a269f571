"""Nothing leaked: a team catalog cannot read files from outside itself through a linked
files/ folder, cannot make Compose substitute the caller's environment, and a linked hooks/
folder stops the render before anything is written."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from catalog_fixtures import (APP_FLAGS, TEAM_CATALOG, commit_all, cookiecutter_home, git_repo,  # noqa: F401
                              team_catalog)
from conftest import run_cli


def new(tmp_path: Path, catalog: Path | str, *extra: str):
    return run_cli("new", *APP_FLAGS, "--with", "pinger", "--output", str(tmp_path / "out"),
                   "--catalog", str(catalog), *extra)


def _link_files_outside(catalog: Path, tmp_path: Path) -> Path:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "stolen.conf").write_text("secret from outside the catalog\n")
    shutil.rmtree(catalog / "templates" / "pinger" / "files")
    (catalog / "templates" / "pinger" / "files").symlink_to(outside)
    return outside


def test_a_linked_files_folder_is_refused_in_a_folder_catalog(tmp_path: Path) -> None:
    catalog = team_catalog(tmp_path / "team")
    _link_files_outside(catalog, tmp_path)
    result = new(tmp_path, catalog)
    assert result.exit_code == 1
    assert result.output == (f"error: {catalog}/templates/pinger/files: a template's files/ must be a folder "
                             "inside the catalog, not a link\n")
    assert not (tmp_path / "out").exists()


def test_a_linked_files_folder_is_refused_in_a_git_catalog(cookiecutter_home: Path, tmp_path: Path) -> None:
    repo = git_repo(cookiecutter_home / "repos" / "team-catalog")
    team_catalog(repo)
    _link_files_outside(repo, tmp_path)
    commit_all(repo, "files/ points elsewhere")
    result = new(tmp_path, f"file://{repo}")
    assert result.exit_code == 1 and "files: a template's files/ must be a folder" in result.output
    assert not (tmp_path / "out").exists()


def test_catalog_lint_reports_a_linked_files_folder(tmp_path: Path) -> None:
    catalog = team_catalog(tmp_path / "team")
    _link_files_outside(catalog, tmp_path)
    result = run_cli("catalog", "lint", str(catalog))
    assert result.exit_code == 1
    assert "templates/pinger/files" in result.output and "not a link" in result.output


DOLLAR_DEFINITION = TEAM_CATALOG["templates/pinger/sidecar.yaml"].replace(
    "run_as: 10001", "run_as: 10001\n        env: {KEY: \"${AWS_SECRET_ACCESS_KEY}\", GREETING: \"{{ greeting }}\"}\n"
                     "        args: [\"--key=$AWS_SECRET_ACCESS_KEY\"]")


def test_every_dollar_in_compose_is_data_not_the_callers_environment(tmp_path: Path) -> None:
    catalog = team_catalog(tmp_path / "team", **{"templates/pinger/sidecar.yaml": DOLLAR_DEFINITION})
    answers = tmp_path / "answers.yaml"
    answers.write_text(yaml.safe_dump({
        "app": {"name": "shop", "image": "registry.example.com/shop:1.0.0",
                "health_command": ["sh", "-c", "test -d $HOME"]},
        "sidecars": [{"name": "pinger", "params": {"greeting": "costs $5"}}], "targets": ["compose"]}))
    result = run_cli("new", "--answers", str(answers), "--no-input", "--output", str(tmp_path / "out"),
                     "--catalog", str(catalog))
    assert result.exit_code == 0, result.output
    compose = tmp_path / "out" / "compose.yaml"
    services = yaml.safe_load(compose.read_text())["services"]
    assert services["pinger"]["environment"] == {"KEY": "$${AWS_SECRET_ACCESS_KEY}", "GREETING": "costs $$5"}
    assert services["pinger"]["command"] == ["--key=$$AWS_SECRET_ACCESS_KEY"]
    assert services["shop"]["healthcheck"]["test"] == ["CMD", "sh", "-c", "test -d $$HOME"]
    # What docker compose itself makes of it, with the secret in the caller's environment.
    if shutil.which("docker-compose"):
        done = subprocess.run(["docker-compose", "-f", str(compose), "config"], capture_output=True, text=True,
                              env={"PATH": os.environ["PATH"], "AWS_SECRET_ACCESS_KEY": "leaked",
                                   "HOME": "/leaked-home"})
        assert done.returncode == 0, done.stderr
        assert "leaked" not in done.stdout
        # `config` prints the model re-escaped: a literal $ shows as $$, a substituted one as its value.
        assert "KEY: $${AWS_SECRET_ACCESS_KEY}" in done.stdout and "costs $$5" in done.stdout
    assert run_cli("check", str(tmp_path / "out")).exit_code == 0


def test_check_reports_a_lone_dollar_in_compose() -> None:
    from generator.tools.check import lint_compose

    problems = [p for p in lint_compose({"services": {
        "app": {"environment": {"KEY": "${AWS_SECRET_ACCESS_KEY}"}},
        "fine": {"command": ["echo", "$$HOME costs $$5"]}}}) if "$" in p]
    assert problems == ["service app: '${AWS_SECRET_ACCESS_KEY}' holds a lone $: docker compose up "
                        "substitutes it from the caller's environment; write $$ for a literal $"]


@pytest.mark.parametrize("trust", [False, True])
def test_a_linked_hooks_folder_is_refused_before_anything_is_written(tmp_path: Path, trust: bool) -> None:
    catalog = team_catalog(tmp_path / "team")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "post_render").write_text("#!/bin/sh\ntouch MARKER\n")
    (catalog / "hooks").symlink_to(elsewhere)
    result = new(tmp_path, catalog, *(["--trust"] if trust else []))
    assert result.exit_code == 1
    assert result.output == f"error: {catalog / 'hooks'}: hooks/ must be a folder inside the catalog, not a link\n"
    assert not (tmp_path / "out").exists() and not list(tmp_path.rglob("MARKER"))
