"""Catalog stacks: --catalog team --catalog builtin (or SIDECAR_NEW_CATALOG split as PATH is)
searched in order; the record lists each catalog, and replays and updates with all of them."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from catalog_fixtures import (APP_FLAGS, TEAM_CATALOG, commit_all, cookiecutter_home, git_repo,  # noqa: F401
                              team_catalog)
from conftest import run_cli
from generator.catalog.loader import builtin_root
from generator.catalog.stack import split_path

OVERRIDE = TEAM_CATALOG["catalog.yaml"].rstrip(" ") + """\
          - name: metrics
            capability: metrics
            summary: The team's own statsd exporter build
            image: registry.example.com/platform/statsd-exporter:v0.30.0-team1
            path: templates/metrics
        """


def team_with_override(root: Path) -> Path:
    """The team catalog: its own pinger, and the built-in metrics template with the team's image."""
    team_catalog(root, **{"catalog.yaml": OVERRIDE})
    shutil.copytree(builtin_root() / "templates" / "metrics", root / "templates" / "metrics")
    return root


@pytest.mark.parametrize("value, parts", [
    ("team:builtin", ["team", "builtin"]),
    ("./a:/srv/b", ["./a", "/srv/b"]),
    ("https://git.example.com/platform/sidecars.git:builtin", ["https://git.example.com/platform/sidecars.git", "builtin"]),
    ("gh:acme/sidecars:/srv/catalog", ["gh:acme/sidecars", "/srv/catalog"]),
    ("git@github.com:acme/sidecars.git:team", ["git@github.com:acme/sidecars.git", "team"]),
    ("ssh://git@host:2222/acme/sidecars.git:builtin", ["ssh://git@host:2222/acme/sidecars.git", "builtin"]),
    ("file:///srv/repo::builtin:", ["file:///srv/repo", "builtin"]),
])
def test_the_environment_splits_as_path_does_but_not_inside_a_url(value: str, parts: list[str]) -> None:
    assert split_path(value, lambda: ["gh", "gl", "bb"]) == parts


def test_a_stack_adds_templates_and_the_first_catalog_overrides(tmp_path: Path) -> None:
    team = team_with_override(tmp_path / "team")
    listed = run_cli("list", "--catalog", str(team), "--catalog", "builtin")
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert lines[0] == f"catalog team 2.1.0 ({team})" and lines[1].startswith("catalog builtin ")
    rows = lines[3:lines.index("capabilities:")] if "capabilities:" in lines else lines[3:]
    assert [line.split()[0] for line in rows].count("metrics") == 1
    assert "statsd-exporter:v0.30.0-team1" in listed.output and "fluentd" in listed.output
    out = tmp_path / "shop"
    made = run_cli("new", *APP_FLAGS, "--with", "pinger", "--with", "metrics", "--with", "envoy",
                   "--output", str(out), "--catalog", str(team), "--catalog", "builtin")
    assert made.exit_code == 0, made.output
    compose = (out / "compose.yaml").read_text()
    assert "statsd-exporter:v0.30.0-team1" in compose and "envoyproxy/envoy" in compose and "pinger:1.2.3" in compose
    recorded = yaml.safe_load((out / ".sidecar-new.yaml").read_text())["generated_by"]["catalog"]
    assert [layer["name"] for layer in recorded] == ["team", "builtin"]
    assert recorded[0]["source"] == str(team) and len(recorded[0]["sha256"]) == 64
    replay = run_cli("new", "--answers", str(out / ".sidecar-new.yaml"), "--no-input", "--diff")
    # no --catalog needed (the overhead warnings for this small app come first)
    assert replay.exit_code == 0 and replay.output.splitlines()[-1] == f"{out}: no changes"


def test_the_environment_stacks_catalogs_and_the_flag_wins(tmp_path: Path, monkeypatch) -> None:
    team = team_with_override(tmp_path / "team")
    monkeypatch.setenv("SIDECAR_NEW_CATALOG", f"{team}:builtin")
    listed = run_cli("list")
    assert listed.exit_code == 0 and listed.output.splitlines()[1].startswith("catalog builtin ")
    assert "pinger" in listed.output and "fluentd" in listed.output
    assert run_cli("list", "--catalog", "builtin").output.count("\ncatalog ") == 0
    monkeypatch.setenv("SIDECAR_NEW_CATALOG", f"{team}:{tmp_path / 'nowhere'}")
    broken = run_cli("list")
    assert broken.exit_code == 1 and broken.output.startswith("error: SIDECAR_NEW_CATALOG: ")


def test_update_moves_a_stacked_team_catalog_and_keeps_the_rest(cookiecutter_home: Path, tmp_path: Path) -> None:
    repo = git_repo(cookiecutter_home / "repos" / "team")
    team_catalog(repo)
    commit_all(repo, "2.1.0")
    subprocess.run(["git", "tag", "v1"], cwd=repo, check=True)
    team_catalog(repo, **{"catalog.yaml": TEAM_CATALOG["catalog.yaml"].replace("2.1.0", "2.2.0")
                          .replace("pinger:1.2.3", "pinger:1.2.4")})
    v2 = commit_all(repo, "2.2.0")
    subprocess.run(["git", "tag", "v2"], cwd=repo, check=True)
    out = tmp_path / "shop"
    assert run_cli("new", *APP_FLAGS, "--with", "pinger", "--with", "envoy", "--output", str(out), "--catalog",
                   f"file://{repo}", "--checkout", "v1", "--catalog", "builtin").exit_code == 0
    result = run_cli("update", str(out))
    assert result.exit_code == 0, result.output
    assert " -> team 2.2.0 " in result.output and "+ builtin " in result.output
    recorded = yaml.safe_load((out / ".sidecar-new.yaml").read_text())["generated_by"]["catalog"]
    assert recorded[0]["commit"] == v2 and recorded[1]["source"] == "builtin"
    assert "pinger:1.2.4" in (out / "compose.yaml").read_text()
