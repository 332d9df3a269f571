"""Team catalogs from a folder, a git repo (tag, subdirectory), a zip file, an abbreviation or
SIDECAR_NEW_CATALOG, fetched through the same code path as a remote URL, and traced in
.sidecar-new.yaml."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from catalog_fixtures import (APP_FLAGS, TEAM_CATALOG, commit_all, cookiecutter_home, git_repo,  # noqa: F401
                              team_catalog, zip_folder)
from conftest import run_cli


def render(tmp_path: Path, *catalog_args: str) -> dict:
    out = tmp_path / "out"
    result = run_cli("new", *APP_FLAGS, "--with", "pinger", "--output", str(out), *catalog_args)
    assert result.exit_code == 0, result.output
    return yaml.safe_load((out / ".sidecar-new.yaml").read_text())["generated_by"]["catalog"]


@pytest.fixture
def tagged_repo(cookiecutter_home: Path) -> tuple[Path, str]:
    """A git repo with the team catalog: v1 tagged (greeting hello, 2.1.0), then a newer commit."""
    repo = git_repo(cookiecutter_home / "repos" / "team-catalog")
    team_catalog(repo)
    first = commit_all(repo, "team catalog 2.1.0")
    subprocess.run(["git", "tag", "v1"], cwd=repo, check=True)
    team_catalog(repo, **{"catalog.yaml": TEAM_CATALOG["catalog.yaml"].replace("2.1.0", "2.2.0")})
    commit_all(repo, "team catalog 2.2.0")
    return repo, first


def test_a_local_folder_catalog_is_listed_with_its_templates(tmp_path: Path) -> None:
    team_catalog(tmp_path / "team")
    result = run_cli("list", "--catalog", str(tmp_path / "team"))
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == f"catalog team 2.1.0 ({tmp_path / 'team'})"
    assert result.output.splitlines()[2].split()[:3] == ["pinger", "health", "registry.example.com/platform/pinger:1.2.3"]


def test_a_folder_render_records_source_and_content_hash(tmp_path: Path) -> None:
    team_catalog(tmp_path / "team")
    recorded = render(tmp_path, "--catalog", str(tmp_path / "team"))
    assert recorded["name"] == "team" and recorded["version"] == "2.1.0"
    assert recorded["source"] == str(tmp_path / "team")
    assert len(recorded["sha256"]) == 64 and "commit" not in recorded
    assert (tmp_path / "out" / "config" / "pinger" / "pinger.yaml").read_text() == 'greeting: "hello"\napp: "shop"\n'


def test_the_content_hash_changes_when_a_template_changes(tmp_path: Path) -> None:
    team_catalog(tmp_path / "team")
    before = render(tmp_path, "--catalog", str(tmp_path / "team"))["sha256"]
    (tmp_path / "team" / "templates" / "pinger" / "files" / "pinger.yaml.j2").write_text("greeting: hi\n")
    result = run_cli("new", *APP_FLAGS, "--with", "pinger", "--output", str(tmp_path / "out"), "--force",
                     "--catalog", str(tmp_path / "team"))
    assert result.exit_code == 0, result.output
    after = yaml.safe_load((tmp_path / "out" / ".sidecar-new.yaml").read_text())["generated_by"]["catalog"]
    assert after["sha256"] != before


def test_a_git_url_renders_the_tag_asked_for_and_records_its_commit(tagged_repo, tmp_path: Path) -> None:
    repo, first = tagged_repo
    recorded = render(tmp_path, "--catalog", f"file://{repo}", "--checkout", "v1")
    assert recorded == {"name": "team", "version": "2.1.0", "source": f"file://{repo}",
                        "checkout": "v1", "commit": first}


def test_a_git_url_without_checkout_takes_the_default_branch(tagged_repo) -> None:
    repo, _ = tagged_repo
    result = run_cli("list", "--catalog", f"file://{repo}")
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"catalog team 2.2.0 (file://{repo})")


def test_a_second_fetch_uses_the_cache_without_prompting(tagged_repo, isolated_home: Path) -> None:
    repo, first = tagged_repo
    assert run_cli("list", "--catalog", f"file://{repo}", "--checkout", "v1").exit_code == 0
    result = run_cli("list", "--catalog", f"file://{repo}", "--checkout", "v1", input="")
    assert result.exit_code == 0, result.output
    assert "2.1.0" in result.output.splitlines()[0] and "re-download" not in result.output
    cache = isolated_home / ".cache" / "sidecar-new"
    assert len(list((cache / "git").glob("*.git"))) == 1  # one mirror per URL
    assert [p.name for p in (cache / "trees").iterdir()] == [first]  # one folder per commit


def test_the_cache_follows_xdg_cache_home(tagged_repo, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert run_cli("list", "--catalog", f"file://{tagged_repo[0]}").exit_code == 0
    assert len(list((tmp_path / "xdg" / "sidecar-new" / "git").glob("*.git"))) == 1


def test_a_catalog_in_a_subdirectory_of_a_repo_is_found_with_directory(cookiecutter_home: Path, tmp_path: Path) -> None:
    repo = git_repo(cookiecutter_home / "repos" / "platform")
    team_catalog(repo / "catalogs" / "team")
    (repo / "README.md").write_text("platform things\n")
    head = commit_all(repo, "catalog in a subfolder")
    recorded = render(tmp_path, "--catalog", f"file://{repo}", "--directory", "catalogs/team")
    assert recorded["directory"] == "catalogs/team" and recorded["commit"] == head


def test_a_repo_without_catalog_yaml_at_the_top_says_to_pass_directory(cookiecutter_home: Path) -> None:
    repo = git_repo(cookiecutter_home / "repos" / "platform")
    team_catalog(repo / "catalogs" / "team")
    commit_all(repo, "catalog in a subfolder")
    result = run_cli("list", "--catalog", f"file://{repo}")
    assert result.exit_code == 1
    assert result.output == (f"error: --catalog: no catalog.yaml in file://{repo}; a catalog is "
                             "catalog.yaml + templates/ (pass --directory if it sits in a subfolder)\n")


def test_an_abbreviation_from_the_cookiecutter_config_is_expanded(tagged_repo) -> None:
    result = run_cli("list", "--catalog", "local:team-catalog", "--checkout", "v1")
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"catalog team 2.1.0 (file://{tagged_repo[0]})")


def test_a_zip_file_is_unpacked_and_recorded_with_a_content_hash(tmp_path: Path, cookiecutter_home: Path) -> None:
    archive = zip_folder(team_catalog(tmp_path / "team"), tmp_path / "team.zip")
    recorded = render(tmp_path, "--catalog", str(archive))
    assert recorded["source"] == str(archive) and len(recorded["sha256"]) == 64
    # Same files, same hash: a zip and the folder it was made from trace to the same templates.
    folder_hash = render(tmp_path / "again", "--catalog", str(tmp_path / "team"))["sha256"]
    assert recorded["sha256"] == folder_hash


def test_a_zip_with_a_subdirectory_and_a_second_fetch(tmp_path: Path, cookiecutter_home: Path) -> None:
    team_catalog(tmp_path / "bundle" / "catalogs" / "team")
    archive = zip_folder(tmp_path / "bundle", tmp_path / "bundle.zip")
    for _ in range(2):
        result = run_cli("list", "--catalog", str(archive), "--directory", "catalogs/team")
        assert result.exit_code == 0, result.output
    assert result.output.startswith(f"catalog team 2.1.0 ({archive})")


def test_the_environment_variable_sets_the_team_default_and_the_flag_wins(tmp_path: Path, monkeypatch) -> None:
    team_catalog(tmp_path / "team")
    monkeypatch.setenv("SIDECAR_NEW_CATALOG", str(tmp_path / "team"))
    assert run_cli("list").output.startswith("catalog team 2.1.0")
    assert run_cli("list", "--catalog", "builtin").output.startswith("catalog builtin")
    monkeypatch.setenv("SIDECAR_NEW_CATALOG", str(tmp_path / "nowhere"))
    result = run_cli("list")
    assert result.exit_code == 1 and result.output.startswith("error: SIDECAR_NEW_CATALOG: ")


def test_the_environment_can_pin_a_ref_for_the_team_default(tagged_repo, monkeypatch) -> None:
    monkeypatch.setenv("SIDECAR_NEW_CATALOG", f"file://{tagged_repo[0]}")
    monkeypatch.setenv("SIDECAR_NEW_CATALOG_CHECKOUT", "v1")
    assert run_cli("list").output.startswith("catalog team 2.1.0")


@pytest.mark.parametrize("args, message", [
    (("--catalog", "file:///nonexistent/team-catalog"),
     "error: --catalog: cannot fetch file:///nonexistent/team-catalog: fatal: '/nonexistent/team-catalog' "
     "does not appear to be a git repository\n"),
    (("--catalog", "not-a-folder"),
     "error: --catalog: 'not-a-folder' is not a catalog folder, a git or hg URL, a .zip file or an "
     "abbreviation (known: bb:, gh:, gl:, local:)\n"),
    (("--catalog", "missing.zip"), "error: --catalog: missing.zip: no such zip file\n"),
    (("--catalog", "builtin", "--checkout", "v1"),
     "error: --checkout and --directory need a --catalog other than the built-in one\n"),
    (("--checkout", "--upload-pack=touch /tmp/x", "--catalog", "file:///x/y"),
     "error: --checkout: '--upload-pack=touch /tmp/x' is not a branch, tag or commit\n"),
])
def test_fetch_errors_are_one_line_naming_the_source(cookiecutter_home: Path, args, message) -> None:
    result = run_cli("list", *args)
    assert result.exit_code == 1
    assert result.output == message


def test_an_unknown_tag_is_a_fetch_error_naming_it(tagged_repo) -> None:
    result = run_cli("list", "--catalog", f"file://{tagged_repo[0]}", "--checkout", "v9")
    assert result.exit_code == 1
    assert result.output == (f"error: --catalog: cannot fetch file://{tagged_repo[0]}: no branch, tag "
                             "or commit 'v9' in it\n")


def test_checkout_on_a_local_folder_is_refused(tmp_path: Path) -> None:
    team_catalog(tmp_path / "team")
    result = run_cli("list", "--catalog", str(tmp_path / "team"), "--checkout", "v1")
    assert result.exit_code == 1 and "is a local folder; --checkout is for git and hg sources" in result.output


def test_a_directory_leading_out_of_the_source_is_refused(tmp_path: Path) -> None:
    team_catalog(tmp_path / "team")
    result = run_cli("list", "--catalog", str(tmp_path / "team"), "--directory", "../..")
    assert result.exit_code == 1
    assert result.output == "error: --directory: '../..' must be a relative path inside " f"{tmp_path / 'team'}\n"


def test_show_reads_a_template_of_a_team_catalog(tmp_path: Path) -> None:
    team_catalog(tmp_path / "team")
    result = run_cli("show", "pinger", "--catalog", str(tmp_path / "team"))
    assert result.exit_code == 0, result.output
    assert "pinger (health): Answers pings next to the app" in result.output
    assert "pinger: 9400/TCP" in result.output


@pytest.mark.parametrize("argv", [["list"], ["list", "--catalog", "CATALOG"], ["show", "envoy"]])
def test_the_builtin_catalog_and_local_folders_never_import_cookiecutter(tmp_path: Path, argv) -> None:
    team_catalog(tmp_path / "team")
    argv = [str(tmp_path / "team") if a == "CATALOG" else a for a in argv]
    code = ("import sys\nfrom generator.cli import main\nsys.argv = ['sidecar-new', *sys.argv[1:]]\n"
            "try:\n    main()\nexcept SystemExit as exit:\n    assert exit.code == 0, exit.code\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('cookiecutter', 'requests')))\n")
    done = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines()[-1] == "[]"


def test_the_content_hash_covers_paths_and_bytes(tmp_path: Path) -> None:
    from generator.catalog.fetch import content_hash

    team_catalog(tmp_path / "a")
    team_catalog(tmp_path / "b")
    assert content_hash(tmp_path / "a") == content_hash(tmp_path / "b")
    (tmp_path / "b" / "templates" / "pinger" / "files" / "pinger.yaml.j2").rename(
        tmp_path / "b" / "templates" / "pinger" / "files" / "other.yaml.j2")
    assert content_hash(tmp_path / "a") != content_hash(tmp_path / "b")
    assert content_hash(tmp_path / "a") != hashlib.sha256(b"").hexdigest()
