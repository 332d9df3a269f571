"""A hostile or broken team catalog is refused with one clear line, runs no code it was not
trusted to run, and writes nothing outside the output folder (nothing at all on an error)."""

from __future__ import annotations

import os
import stat
import tempfile
import textwrap
import zipfile
from pathlib import Path

import pytest

from catalog_fixtures import (APP_FLAGS, TEAM_CATALOG, commit_all, cookiecutter_home, git_repo,  # noqa: F401
                              team_catalog)
from conftest import run_cli, tree_of

ESCAPES = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__.os.system('touch MARKER') }}",
    "{{ joiner.__init__.__globals__['os'].popen('touch MARKER').read() }}",
    "{{ lipsum.__globals__['os'].system('touch MARKER') }}",
    "{{ self.__init__.__globals__ }}",
    "{{ '{0.__class__.__mro__}'.format('') }}",
    "{{ app.update({'name': 'pwned'}) }}",
    "{% for x in range(10**9) %}{% endfor %}",
]


def new(tmp_path: Path, catalog: Path | str, *extra: str):
    return run_cli("new", *APP_FLAGS, "--with", "pinger", "--output", str(tmp_path / "out"),
                   "--catalog", str(catalog), *extra)


def assert_nothing_written(tmp_path: Path) -> None:
    assert not (tmp_path / "out").exists()
    assert not list(tmp_path.rglob("MARKER")) and not list(tmp_path.rglob("pwned*"))


@pytest.mark.parametrize("escape", ESCAPES)
def test_a_sandbox_escape_in_a_config_file_is_a_render_error(tmp_path: Path, escape: str) -> None:
    marker = escape.replace("MARKER", str(tmp_path / "MARKER"))
    catalog = team_catalog(tmp_path / "team", **{"templates/pinger/files/pinger.yaml.j2": f"x: {marker}\n"})
    result = new(tmp_path, catalog)
    assert result.exit_code == 1
    assert result.output.startswith(f"error: {catalog}/templates/pinger/files/pinger.yaml.j2: ")
    assert "refused by the sandbox: " in result.output and "Error" not in result.output
    assert result.output.count("\n") == 1
    assert_nothing_written(tmp_path)


@pytest.mark.parametrize("escape", ESCAPES[:3])
def test_a_sandbox_escape_in_a_definition_is_a_render_error(tmp_path: Path, escape: str) -> None:
    marker = escape.replace("MARKER", str(tmp_path / "MARKER"))
    definition = TEAM_CATALOG["templates/pinger/sidecar.yaml"].replace(
        "run_as: 10001", f"run_as: 10001\n        env: {{GREETING: \"{marker}\"}}")
    catalog = team_catalog(tmp_path / "team", **{"templates/pinger/sidecar.yaml": definition})
    result = new(tmp_path, catalog)
    assert result.exit_code == 1
    assert result.output.startswith(f"error: {catalog}/templates/pinger/sidecar.yaml: env.GREETING: refused by the "
                                    "sandbox: access to attribute")
    assert_nothing_written(tmp_path)


def test_sandbox_escapes_cannot_reach_python_internals_directly() -> None:
    from generator.errors import RenderError
    from generator.model.render import expand, render_file

    for escape in ESCAPES:
        with pytest.raises(RenderError):
            render_file("x.conf.j2", escape, {"app": {"name": "a"}}, "x.conf.j2")
        with pytest.raises(RenderError):
            expand(escape, {"app": {"name": "a"}}, "field")


@pytest.mark.parametrize("path, problem", [
    ("../outside", "path: '../outside' must be a folder inside the catalog"),
    ("/etc", "path: '/etc' must be a folder inside the catalog"),
    ("templates/../../outside", "path: 'templates/../../outside' must be a folder inside the catalog"),
    ("templates/ghost", "path: template folder 'templates/ghost' does not exist"),
])
def test_a_template_path_out_of_the_catalog_or_missing_is_refused(tmp_path: Path, path: str, problem: str) -> None:
    (tmp_path / "outside").mkdir()
    catalog = team_catalog(tmp_path / "team", **{
        "catalog.yaml": TEAM_CATALOG["catalog.yaml"].replace("path: templates/pinger", f"path: {path}")})
    result = new(tmp_path, catalog)
    assert result.exit_code == 1
    assert result.output == f"error: {catalog}/catalog.yaml:9: templates[0].{problem}\n"
    assert_nothing_written(tmp_path)


def test_a_template_folder_linked_out_of_the_catalog_is_refused(tmp_path: Path) -> None:
    elsewhere = team_catalog(tmp_path / "elsewhere") / "templates" / "pinger"
    catalog = team_catalog(tmp_path / "team")
    (tmp_path / "team" / "templates" / "linked").symlink_to(elsewhere)
    catalog = team_catalog(tmp_path / "team", **{
        "catalog.yaml": TEAM_CATALOG["catalog.yaml"].replace("path: templates/pinger", "path: templates/linked")})
    result = new(tmp_path, catalog)
    assert result.exit_code == 1
    assert result.output.endswith("path: template folder 'templates/linked' is a link out of the catalog\n")
    assert_nothing_written(tmp_path)


@pytest.mark.parametrize("link", ["files/passwd.j2", "files/etc", "sidecar.yaml"])
def test_links_inside_a_template_are_refused(tmp_path: Path, link: str) -> None:
    catalog = team_catalog(tmp_path / "team")
    target = catalog / "templates" / "pinger" / link
    if link == "sidecar.yaml":
        (tmp_path / "real.yaml").write_text(TEAM_CATALOG["templates/pinger/sidecar.yaml"])
        target.unlink()
        target.symlink_to(tmp_path / "real.yaml")
    else:
        target.symlink_to("/etc/passwd" if link.endswith(".j2") else "/etc")
    result = new(tmp_path, catalog)
    assert result.exit_code == 1
    assert result.output.startswith(f"error: {target}: ")
    assert "link" in result.output
    assert_nothing_written(tmp_path)


def test_a_file_name_with_a_backslash_traversal_is_refused(tmp_path: Path) -> None:
    catalog = team_catalog(tmp_path / "team", **{"templates/pinger/files/..\\..\\evil.j2": "x\n"})
    result = new(tmp_path, catalog)
    assert result.exit_code == 1
    assert result.output == f"error: {catalog}/templates/pinger/files/..\\..\\evil.j2: unsafe file name\n"
    assert_nothing_written(tmp_path)


def test_config_files_in_subfolders_land_only_inside_the_output_folder(tmp_path: Path) -> None:
    catalog = team_catalog(tmp_path / "team", **{"templates/pinger/files/conf.d/extra.conf": "x\n"})
    result = new(tmp_path, catalog)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "config" / "pinger" / "conf.d" / "extra.conf").read_text() == "x\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "team"]


def test_a_zip_with_traversing_entry_names_unpacks_inside_the_cache(tmp_path: Path, cookiecutter_home: Path) -> None:
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("team/", "")
        for path, text in TEAM_CATALOG.items():
            bundle.writestr(f"team/{path}", text.replace("\n        ", "\n").removeprefix("        "))
        bundle.writestr("team/../../../../escape.txt", "escaped")
        bundle.writestr(f"team/{tmp_path}/absolute.txt", "escaped")
    result = run_cli("list", "--catalog", str(archive))
    assert result.exit_code == 0, result.output
    unpacked = cookiecutter_home / ".cookiecutters" / "sidecar-new" / "zips"
    for root in (tmp_path, cookiecutter_home):
        for found in [*root.rglob("escape.txt"), *root.rglob("absolute.txt")]:
            assert unpacked in found.parents, found
    # cookiecutter unpacks in a fresh folder under the system temp dir: nothing climbed out of it.
    assert not Path("/escape.txt").exists() and not Path(tempfile.gettempdir(), "escape.txt").exists()


def test_a_link_committed_to_a_git_catalog_is_refused_after_the_fetch(cookiecutter_home: Path, tmp_path: Path) -> None:
    repo = git_repo(cookiecutter_home / "repos" / "team-catalog")
    team_catalog(repo)
    (repo / "templates" / "pinger" / "files" / "secrets.j2").symlink_to("/etc/passwd")
    commit_all(repo, "sneaky link")
    result = new(tmp_path, f"file://{repo}")
    assert result.exit_code == 1
    assert "secrets.j2: links are not allowed in a template's files/" in result.output
    assert_nothing_written(tmp_path)


# --- malformed catalogs: one line naming the file and the field ----------------------------

INDEX = textwrap.dedent(TEAM_CATALOG["catalog.yaml"])
DEFINITION = textwrap.dedent(TEAM_CATALOG["templates/pinger/sidecar.yaml"])


@pytest.mark.parametrize("changes, message", [
    ({"catalog.yaml": "name: team\nversion: 1\ntemplates:\n  - name: pinger\n   image: x\n"},
     "catalog.yaml:5: invalid YAML: "),
    ({"catalog.yaml": "- just\n- a list\n"}, "catalog.yaml:1: must be a mapping"),
    ({"catalog.yaml": INDEX.replace("    image: registry.example.com/platform/pinger:1.2.3\n", "")},
     "catalog.yaml:5: templates[0].image: is required"),
    ({"catalog.yaml": INDEX.replace("pinger:1.2.3", "pinger:latest")},
     "catalog.yaml:8: templates[0].image: 'registry.example.com/platform/pinger:latest' is not pinned"),
    ({"catalog.yaml": INDEX + "owner: platform\n"},
     "catalog.yaml:10: owner: unknown key (allowed: name, version, templates, namespace_holder, overhead_budget)"),
    ({"templates/pinger/sidecar.yaml": "params: [oops\n"}, "templates/pinger/sidecar.yaml:2: invalid YAML: "),
    ({"templates/pinger/sidecar.yaml": DEFINITION + "privileged: true\n"},
     "templates/pinger/sidecar.yaml:14: privileged: unknown key"),
    ({"templates/pinger/sidecar.yaml": DEFINITION.replace("default: 9400", "default: 99999")},
     "templates/pinger/sidecar.yaml:2: params.port.default: 99999 is not a port"),
    ({"templates/pinger/sidecar.yaml": None},
     "catalog.yaml:9: templates[0].path: templates/pinger/sidecar.yaml is missing"),
])
def test_a_malformed_catalog_is_one_error_naming_file_and_field(tmp_path: Path, changes, message: str) -> None:
    catalog = team_catalog(tmp_path / "team", **changes)
    result = new(tmp_path, catalog)
    assert result.exit_code == 1
    assert result.output.startswith(f"error: {catalog}/{message}"), result.output
    assert result.output.count("\n") == 1
    assert_nothing_written(tmp_path)


def test_a_folder_without_catalog_yaml_is_refused(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = run_cli("list", "--catalog", str(tmp_path / "empty"))
    assert result.exit_code == 1
    assert result.output.startswith(f"error: --catalog: no catalog.yaml in {tmp_path / 'empty'};")


# --- hooks: only after a successful write, only with --trust --------------------------------

HOOK = """\
    #!/bin/sh
    # Proves where and when it ran: inside the output folder, after compose.yaml was written.
    test -f compose.yaml && test -f .sidecar-new.yaml || exit 3
    echo "$SIDECAR_NEW_OUTPUT" > hook-ran
    """


def hooked_catalog(tmp_path: Path, name: str = "hooks/post_render", text: str = HOOK, mode: int = 0o755) -> Path:
    catalog = team_catalog(tmp_path / "team", **{name: text})
    os.chmod(catalog / name, mode)
    return catalog


def test_a_hook_is_skipped_without_trust_and_the_user_is_told(tmp_path: Path) -> None:
    result = new(tmp_path, hooked_catalog(tmp_path))
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == (f"skipped hook hooks/post_render from catalog 'team' "
                                              f"({tmp_path / 'team'}): run again with --trust to run it")
    assert (tmp_path / "out" / "compose.yaml").is_file() and not (tmp_path / "out" / "hook-ran").exists()


def test_a_trusted_hook_runs_after_the_write_inside_the_output_folder(tmp_path: Path) -> None:
    result = new(tmp_path, hooked_catalog(tmp_path), "--trust")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == f"ran hook hooks/post_render from catalog 'team' in {tmp_path / 'out'}"
    assert (tmp_path / "out" / "hook-ran").read_text() == f"{tmp_path / 'out'}\n"


def test_a_hook_zipped_without_its_executable_bit_runs_as_a_shell_script(tmp_path: Path) -> None:
    result = new(tmp_path, hooked_catalog(tmp_path, "hooks/post_render.sh", mode=0o644), "--trust")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "hook-ran").is_file()


def test_a_failing_trusted_hook_is_an_error_but_the_files_stay(tmp_path: Path) -> None:
    result = new(tmp_path, hooked_catalog(tmp_path, text="#!/bin/sh\nexit 7\n"), "--trust")
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == (f"error: hook hooks/post_render failed (exit 7); the files "
                                              f"were written to {tmp_path / 'out'}")
    assert (tmp_path / "out" / "compose.yaml").is_file()


def test_a_hook_never_runs_when_the_render_fails(tmp_path: Path) -> None:
    catalog = hooked_catalog(tmp_path)
    (catalog / "templates/pinger/files/pinger.yaml.j2").write_text("{{ cycler.__init__.__globals__ }}\n")
    result = new(tmp_path, catalog, "--trust")
    assert result.exit_code == 1 and "refused by the sandbox" in result.output
    assert_nothing_written(tmp_path)


def test_a_hook_never_runs_when_the_output_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "mine.txt").write_text("mine")
    result = new(tmp_path, hooked_catalog(tmp_path), "--trust")
    assert result.exit_code == 1 and "already exists" in result.output
    assert tree_of(tmp_path / "out") == {"mine.txt": b"mine"}


def test_a_hook_never_runs_on_a_dry_run(tmp_path: Path) -> None:
    result = new(tmp_path, hooked_catalog(tmp_path), "--trust", "--dry-run")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "catalog hooks do not run on a dry run or a diff"
    assert_nothing_written(tmp_path)


def test_a_trusted_hook_that_cannot_run_stops_before_anything_is_written(tmp_path: Path) -> None:
    catalog = hooked_catalog(tmp_path, mode=0o644)
    result = new(tmp_path, catalog, "--trust")
    assert result.exit_code == 1
    assert result.output == (f"error: {catalog / 'hooks' / 'post_render'}: not executable (chmod +x it, "
                             "or name it post_render.sh or post_render.py)\n")
    assert_nothing_written(tmp_path)


def test_a_hook_linked_out_of_the_catalog_is_refused_even_when_trusted(tmp_path: Path) -> None:
    script = tmp_path / "script.sh"
    script.write_text("#!/bin/sh\ntouch MARKER\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    catalog = team_catalog(tmp_path / "team")
    (catalog / "hooks").mkdir()
    (catalog / "hooks" / "post_render").symlink_to(script)
    result = new(tmp_path, catalog, "--trust")
    assert result.exit_code == 1 and "a hook must be a plain file inside the catalog, not a link" in result.output
    assert_nothing_written(tmp_path)


def test_cookiecutter_style_hooks_are_never_run_and_the_user_is_told(tmp_path: Path) -> None:
    catalog = hooked_catalog(tmp_path, "hooks/pre_gen_project.sh", "#!/bin/sh\ntouch MARKER\n")
    result = new(tmp_path, catalog, "--trust")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == ("ignored hooks/pre_gen_project.sh from catalog 'team': "
                                              "sidecar-new runs only hooks/post_render")
    assert not list(tmp_path.rglob("MARKER"))
