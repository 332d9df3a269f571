"""`sidecar-new catalog lint` passes the built-in and the team catalog and lists every seeded
defect with file and line; `catalog new` scaffolds a template that passes lint as generated."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest
import yaml

from catalog_fixtures import TEAM_CATALOG, commit_all, cookiecutter_home, git_repo, team_catalog  # noqa: F401
from conftest import run_cli, tree_of
from generator.catalog.loader import builtin_root, load_catalog

INDEX = textwrap.dedent(TEAM_CATALOG["catalog.yaml"])
DEFINITION = textwrap.dedent(TEAM_CATALOG["templates/pinger/sidecar.yaml"])
ECHO_ENTRY = """\
  - name: echo
    capability: health
    summary: Echoes
    image: registry.example.com/platform/echo:2.0.0
    path: templates/echo
"""


def lint(path: Path | str, *args: str):
    return run_cli("catalog", "lint", str(path), *args)


def problems_of(result) -> list[str]:
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert lines[-1].startswith("error: ") and lines[-1].endswith(f": {len(lines) - 1} problem(s)")
    return lines[:-1]


def test_the_builtin_catalog_passes_lint_with_a_one_line_summary() -> None:
    result = lint(builtin_root())
    assert result.exit_code == 0, result.output
    assert result.output.count("\n") == 1
    count = len(load_catalog().templates)  # every template the built-in catalog lists
    assert count >= 5
    assert result.output.startswith(f"{builtin_root()}: catalog builtin 1.0.0: {count} template(s) ok (schema, "
                                    "rendered with defaults for Kubernetes 1.33 and 1.28, docker-compose")


def test_the_team_catalog_passes_lint(tmp_path: Path) -> None:
    result = lint(team_catalog(tmp_path / "team"))
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"{tmp_path / 'team'}: catalog team 2.1.0: 1 template(s) ok")


def test_lint_takes_a_git_source_with_a_tag(cookiecutter_home: Path) -> None:
    repo = git_repo(cookiecutter_home / "repos" / "team-catalog")
    team_catalog(repo)
    commit_all(repo, "catalog")
    os.system(f"cd {repo} && git tag v1")
    result = lint(f"file://{repo}", "--checkout", "v1")
    assert result.exit_code == 0, result.output
    assert ": catalog team 2.1.0: 1 template(s) ok" in result.output


def test_seeded_defects_are_all_listed_with_file_and_line(tmp_path: Path) -> None:
    definition = (DEFINITION.replace("  liveness: {port: \"{{ port }}\", path: /healthz, period: 20}\n", "")
                  .replace("limits: {cpu: 100m, memory: 64Mi}", "limits: {cpu: 100m}"))
    catalog = team_catalog(tmp_path / "team", **{
        "catalog.yaml": INDEX.replace("pinger:1.2.3", "pinger:latest"),
        "templates/pinger/sidecar.yaml": definition})
    assert problems_of(lint(catalog)) == [
        f"{catalog}/catalog.yaml:8: templates[0].image: 'registry.example.com/platform/pinger:latest' is "
        "not pinned: give an exact tag or a @sha256 digest",
        f"{catalog}/templates/pinger/sidecar.yaml:8: probes.liveness: is required: a long-running "
        "container needs readiness and liveness probes",
        f"{catalog}/templates/pinger/sidecar.yaml:12: resources.limits.memory: is required: every "
        "container needs cpu and memory requests and limits",
        f"{catalog}/templates/pinger: not rendered until the problems above are fixed",
    ]


@pytest.mark.parametrize("definition, problem", [
    (DEFINITION.replace("  readiness: {", "  ready: {"),
     "sidecar.yaml:9: probes.ready: unknown key (allowed: startup, readiness, liveness)"),
    (DEFINITION.replace("requests: {cpu: 10m, memory: 16Mi}", "requests: {cpu: 10m, memory: lots}"),
     "sidecar.yaml:12: resources.requests.memory: 'lots' is not a resource quantity (e.g. 100m, 0.5, 128Mi)"),
    (DEFINITION.replace("run_as: 10001", "run_as: 0"),
     "sidecar.yaml:4: run_as: 0 is below 10000: run as a non-root uid >= 10000 that no host user has "
     "(checkov CKV_K8S_40)"),
    (DEFINITION.replace("run_as: 10001", "run_as: 10001\nenv: {DB_PASSWORD: hunter2}"),
     "sidecar.yaml:5: env.DB_PASSWORD: looks like a secret: keep secrets out of templates (use a Secret "
     "or a file the team mounts)"),
    (DEFINITION.replace("run_as: 10001", "run_as: 10001\nrun_as: 10002"),
     "sidecar.yaml:5: run_as: key given twice (YAML keeps only the last)"),
    (DEFINITION.replace("config_dir: /etc/pinger\n", ""),
     "sidecar.yaml:1: config_dir: is required: files/ has pinger.yaml.j2 to mount"),
    (DEFINITION.replace("  - {name: pinger,", "  - {name: pinger_port_too_long,"),
     "sidecar.yaml:6: ports[0].name: 'pinger_port_too_long' must be at most 15 characters of [a-z0-9-] "
     "with a letter (a Kubernetes port name)"),
    ("params: [oops\n", "sidecar.yaml:2: invalid YAML: "),
])
def test_definition_problems_name_file_line_and_field(tmp_path: Path, definition: str, problem: str) -> None:
    catalog = team_catalog(tmp_path / "team", **{"templates/pinger/sidecar.yaml": definition})
    problems = problems_of(lint(catalog))
    assert problems[0].startswith(f"{catalog}/templates/pinger/{problem}"), problems
    assert problems[-1] == f"{catalog}/templates/pinger: not rendered until the problems above are fixed"


def test_a_template_that_does_not_render_with_its_defaults_is_reported(tmp_path: Path) -> None:
    catalog = team_catalog(tmp_path / "team", **{"templates/pinger/files/pinger.yaml.j2": "x: {{ greting }}\n"})
    assert problems_of(lint(catalog)) == [
        f"{catalog}/templates/pinger/sidecar.yaml: rendered with defaults: {catalog}/templates/pinger/files/"
        "pinger.yaml.j2: 'greting' is undefined"]


def test_rendered_output_the_real_validators_refuse_is_reported(tmp_path: Path) -> None:
    # A config file named envoy.yaml goes through Envoy's v3 API, which knows no `listeners_v2`.
    catalog = team_catalog(tmp_path / "team", **{"templates/pinger/files/envoy.yaml": "listeners_v2: []\n"})
    problems = problems_of(lint(catalog))
    assert len(problems) == 1
    assert problems[0].startswith(f"{catalog}/templates/pinger/sidecar.yaml: rendered with defaults: "
                                  "config/pinger/envoy.yaml: not a valid Envoy v3 bootstrap")


def test_a_default_port_on_the_apps_port_is_reported(tmp_path: Path) -> None:
    catalog = team_catalog(tmp_path / "team", **{
        "templates/pinger/sidecar.yaml": DEFINITION.replace("default: 9400", "default: 8080")})
    assert problems_of(lint(catalog)) == [
        f"{catalog}/templates/pinger/sidecar.yaml: rendered with defaults: sidecars.pinger: port 8080/TCP "
        "(pinger) is already taken by the app; pick another port parameter"]


def two_templates(tmp_path: Path, conflicts: str = "") -> Path:
    echo = DEFINITION.replace("name: pinger,", "name: echo,").replace("/etc/pinger", "/etc/echo")
    return team_catalog(tmp_path / "team", **{
        "catalog.yaml": INDEX + ECHO_ENTRY + conflicts,
        "templates/echo/sidecar.yaml": echo})


def test_two_templates_on_one_port_must_declare_the_conflict(tmp_path: Path) -> None:
    catalog = two_templates(tmp_path)
    assert problems_of(lint(catalog)) == [
        f"{catalog}/catalog.yaml:5: templates 'pinger' and 'echo' both use port 9400/TCP; change one, "
        "or declare `conflicts: [echo]` on 'pinger'"]


def test_a_declared_conflict_satisfies_lint(tmp_path: Path) -> None:
    result = lint(two_templates(tmp_path, conflicts="    conflicts: [pinger]\n"))
    assert result.exit_code == 0, result.output
    assert ": 2 template(s) ok" in result.output


def test_a_conflict_with_an_unknown_template_is_reported(tmp_path: Path) -> None:
    catalog = team_catalog(tmp_path / "team", **{"catalog.yaml": INDEX + "    conflicts: [linkerd]\n"})
    problems = problems_of(lint(catalog))
    assert problems[0] == (f"{catalog}/catalog.yaml:10: templates[0].conflicts: 'linkerd' is not another "
                           "template of this catalog (known: pinger)")


def test_unlisted_folders_and_hooks_sidecar_new_never_runs_are_reported(tmp_path: Path) -> None:
    catalog = team_catalog(tmp_path / "team", **{"templates/draft/sidecar.yaml": DEFINITION,
                                                  "hooks/pre_gen_project.py": "print('hi')\n"})
    assert problems_of(lint(catalog)) == [
        f"{catalog}/templates/draft: template folder not listed in catalog.yaml",
        f"{catalog}/hooks/pre_gen_project.py: not a hook sidecar-new runs (only hooks/post_render, "
        "hooks/post_render.sh or .py, with --trust); remove or rename it"]


def test_a_missing_catalog_yaml_is_one_problem(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = lint(tmp_path / "empty")
    assert result.exit_code == 1
    assert result.output.startswith(f"error: --catalog: no catalog.yaml in {tmp_path / 'empty'}")


# --- catalog new ---------------------------------------------------------------------------

def test_catalog_new_in_an_empty_folder_starts_a_catalog_that_passes_lint(tmp_path: Path) -> None:
    result = run_cli("catalog", "new", "redis-exporter", "--capability", "metrics", "--catalog", str(tmp_path / "team"))
    assert result.exit_code == 0, result.output
    assert sorted(tree_of(tmp_path / "team")) == ["catalog.yaml", "templates/redis-exporter/files/config.yaml.j2",
                                                  "templates/redis-exporter/sidecar.yaml"]
    definition = (tmp_path / "team" / "templates" / "redis-exporter" / "sidecar.yaml").read_text()
    assert definition.count("TODO") >= 5
    index = yaml.safe_load((tmp_path / "team" / "catalog.yaml").read_text())
    assert index["name"] == "team" and index["templates"][0]["path"] == "templates/redis-exporter"
    linted = lint(tmp_path / "team")
    assert linted.exit_code == 0, linted.output


def test_catalog_new_adds_to_an_existing_catalog_keeping_its_comments_and_picking_a_free_port(tmp_path: Path) -> None:
    catalog = team_catalog(tmp_path / "team")
    result = run_cli("catalog", "new", "echo", "--capability", "health", "--catalog", str(catalog))
    assert result.exit_code == 0, result.output
    text = (catalog / "catalog.yaml").read_text()
    assert text.startswith(INDEX) and "  - name: echo\n" in text
    definition = yaml.safe_load((catalog / "templates" / "echo" / "sidecar.yaml").read_text())
    assert definition["params"]["port"]["default"] == 9401  # 9400 belongs to pinger
    linted = lint(catalog)
    assert linted.exit_code == 0, linted.output
    assert ": 2 template(s) ok" in linted.output


@pytest.mark.parametrize("name, catalog_yaml, message", [
    ("pinger", INDEX, "error: NAME: 'pinger' is already in {catalog}/catalog.yaml"),
    ("Bad_Name", INDEX, "error: NAME: 'Bad_Name' is not a DNS-1123 label"),
    ("echo", "name: team\nversion: 1\ntemplates: [{name: pinger, capability: x, summary: y, "
             "image: 'a/b:1.0', path: templates/pinger}]\n",
     "error: {catalog}/catalog.yaml: templates: add the entry by hand"),
])
def test_catalog_new_refuses_and_writes_nothing(tmp_path: Path, name: str, catalog_yaml: str, message: str) -> None:
    catalog = team_catalog(tmp_path / "team", **{"catalog.yaml": catalog_yaml})
    before = tree_of(catalog)
    result = run_cli("catalog", "new", name, "--capability", "health", "--catalog", str(catalog))
    assert result.exit_code == 1
    assert result.output.startswith(message.format(catalog=catalog)), result.output
    assert tree_of(catalog) == before


def test_a_team_envoy_config_with_admin_on_the_network_is_reported(tmp_path: Path) -> None:
    envoy = ("admin:\n  address:\n    socket_address: {address: 0.0.0.0, port_value: 9901}\n"
             "static_resources: {}\n")
    catalog = team_catalog(tmp_path / "team", **{"templates/pinger/files/envoy.yaml": envoy})
    problems = problems_of(lint(catalog))
    assert problems == [f"{catalog}/templates/pinger/sidecar.yaml: rendered with defaults: config/pinger/"
                        "envoy.yaml: admin listens on 0.0.0.0:9901: anything that reaches the pod can POST "
                        "/quitquitquit or /healthcheck/fail and read /config_dump; bind it to 127.0.0.1 and "
                        "serve /ready to probes through a listener of its own"]


@pytest.mark.parametrize("cap, problem", [
    ("12m", None),
    ("16m", "buffer total_limit_size 16777216 is not below its volume (emptyDir pinger-buffer"),
    (None, "file buffer without total_limit_size"),
])
def test_a_team_fluentd_buffer_not_capped_below_its_volume_is_reported(tmp_path: Path, cap, problem) -> None:
    definition = DEFINITION.replace("config_dir: /etc/pinger", "config_dir: /etc/pinger\nvolumes:\n"
                                    "  - {name: buffer, path: /buffer, size: 16Mi}")
    conf = ("<match **>\n  @type stdout\n  <buffer>\n    @type file\n    path /buffer/out\n"
            + (f"    total_limit_size {cap}\n" if cap else "") + "  </buffer>\n</match>\n")
    catalog = team_catalog(tmp_path / "team", **{"templates/pinger/sidecar.yaml": definition,
                                                 "templates/pinger/files/fluent.conf": conf})
    result = lint(catalog)
    if problem is None:
        assert result.exit_code == 0, result.output
        return
    problems = problems_of(result)
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{catalog}/templates/pinger/sidecar.yaml: rendered with defaults: "
                                  "config/pinger/fluent.conf:3: ")
    assert problem in problems[0]
