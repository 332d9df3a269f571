"""A small team catalog, and the ways a team ships one: a folder, a git repo, a zip file."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import pytest

from conftest import build_file_tree

TEAM_CATALOG = {
    "catalog.yaml": """\
        # The platform team's catalog.
        name: team
        version: "2.1.0"
        templates:
          - name: pinger
            capability: health
            summary: Answers pings next to the app
            image: registry.example.com/platform/pinger:1.2.3
            path: templates/pinger
        """,
    "templates/pinger/sidecar.yaml": """\
        params:
          port: {type: port, default: 9400, help: Port pinger listens on}
          greeting: {type: str, default: hello, help: What pinger answers}
        run_as: 10001
        ports:
          - {name: pinger, port: "{{ port }}"}
        config_dir: /etc/pinger
        probes:
          readiness: {port: "{{ port }}", path: /ready}
          liveness: {port: "{{ port }}", path: /healthz, period: 20}
        resources:
          requests: {cpu: 10m, memory: 16Mi}
          limits: {cpu: 100m, memory: 64Mi}
        """,
    "templates/pinger/files/pinger.yaml.j2": """\
        greeting: {{ greeting }}
        app: {{ app.name }}
        """,
}

APP_FLAGS = ("--no-input", "--name", "shop", "--image", "registry.example.com/shop:1.0.0")


def team_catalog(root: Path, **changes: str) -> Path:
    """The team catalog in `root`, with files added or replaced ({path: text}; None removes)."""
    tree = {**TEAM_CATALOG, **{k: v for k, v in changes.items() if v is not None}}
    for path in [k for k, v in changes.items() if v is None]:
        tree.pop(path)
    return build_file_tree(root, tree)


def git(folder: Path, *args: str) -> str:
    done = subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com",
                           "-c", "init.defaultBranch=main", *args],
                          cwd=folder, check=True, capture_output=True, text=True)
    return done.stdout.strip()


def commit_all(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def git_repo(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    git(folder, "init", "-q")
    return folder


def zip_folder(folder: Path, archive: Path, top: str = "team-catalog") -> Path:
    """Zip `folder` under one top-level directory, as cookiecutter expects (GitHub's
    "Download ZIP" looks the same)."""
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr(f"{top}/", "")
        for path in sorted(folder.rglob("*")):
            if path.is_file() and ".git" not in path.parts:
                bundle.write(path, f"{top}/{path.relative_to(folder).as_posix()}")
    return archive


@pytest.fixture
def cookiecutter_home(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """cookiecutter reads its config paths once, at import: point it at this test's HOME
    explicitly, with an abbreviation for local repositories."""
    config = isolated_home / ".cookiecutterrc"
    config.write_text(f"cookiecutters_dir: {isolated_home / '.cookiecutters'}\n"
                      f"replay_dir: {isolated_home / '.cookiecutter_replay'}\n"
                      f"abbreviations:\n  local: file://{isolated_home / 'repos'}/{{0}}\n")
    monkeypatch.setenv("COOKIECUTTER_CONFIG", str(config))
    return isolated_home
