"""`sidecar-new update`: a team catalog in git at v1 and v2 (a changed image tag, a changed
probe, a new parameter with a default, a removed file), merged three ways into services whose
owners edited them."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from catalog_fixtures import (APP_FLAGS, TEAM_CATALOG, commit_all, cookiecutter_home, git_repo,  # noqa: F401
                              team_catalog)
from conftest import run_cli, tree_of

PINGER = "templates/pinger/sidecar.yaml"
V1 = {"templates/pinger/files/motd.txt": "welcome\n"}
V2 = {
    "catalog.yaml": TEAM_CATALOG["catalog.yaml"].replace("2.1.0", "2.2.0").replace("pinger:1.2.3", "pinger:1.2.4"),
    PINGER: TEAM_CATALOG[PINGER].replace("path: /ready}", "path: /readyz}").replace(
        "  greeting:", "  verbose: {type: bool, default: false, help: Log every ping}\n          greeting:"),
    "templates/pinger/files/pinger.yaml.j2": "        verbose: {{ verbose }}\n" + TEAM_CATALOG["templates/pinger/files/pinger.yaml.j2"],
}
REMOVED_IN_V2 = "templates/pinger/files/motd.txt"


@pytest.fixture
def catalog_repo(cookiecutter_home: Path) -> dict[str, str]:
    """The team catalog in git: tag v1, then tag v2; returns their commits and the URL."""
    repo = git_repo(cookiecutter_home / "repos" / "team")
    team_catalog(repo, **V1)
    v1 = commit_all(repo, "2.1.0")
    subprocess.run(["git", "tag", "v1"], cwd=repo, check=True)
    team_catalog(repo, **V2)
    (repo / REMOVED_IN_V2).unlink()
    v2 = commit_all(repo, "2.2.0")
    subprocess.run(["git", "tag", "v2"], cwd=repo, check=True)
    return {"url": f"file://{repo}", "v1": v1, "v2": v2, "repo": str(repo)}


def service(catalog_repo: dict, folder: Path, name: str = "shop") -> Path:
    flags = [f if f != "shop" else name for f in APP_FLAGS]
    result = run_cli("new", *flags, "--with", "pinger", "--output", str(folder), "--catalog", catalog_repo["url"],
                     "--checkout", "v1")
    assert result.exit_code == 0, result.output
    return folder


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def record(folder: Path) -> dict:
    return yaml.safe_load((folder / ".sidecar-new.yaml").read_text())


def test_update_brings_the_catalog_change_and_keeps_edits_elsewhere(catalog_repo, tmp_path: Path) -> None:
    shop = service(catalog_repo, tmp_path / "shop")
    assert (shop / "config/pinger/motd.txt").read_text() == "welcome\n"
    edit(shop / "k8s/deployment.yaml", "memory: 512Mi", "memory: 1Gi")  # the app's limit, by hand
    edit(shop / "config/pinger/pinger.yaml", "app: \"shop\"\n", "app: \"shop\"\nextra: ours\n")
    (shop / "NOTES.md").write_text("our own notes\n")
    (shop / "k8s/extra.yaml").write_text("kind: ConfigMap\n")
    result = run_cli("update", str(shop))
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"updated   {shop}: catalog team 2.1.0 {catalog_repo['v1'][:12]} -> "
                                    f"team 2.2.0 {catalog_repo['v2'][:12]}")
    deployment = (shop / "k8s/deployment.yaml").read_text()
    assert "pinger:1.2.4" in deployment and "path: /readyz" in deployment  # the catalog's changes
    assert "memory: 1Gi" in deployment and "memory: 512Mi" not in deployment  # the edit
    assert "pinger:1.2.4" in (shop / "compose.yaml").read_text()
    assert (shop / "config/pinger/pinger.yaml").read_text() == 'verbose: false\ngreeting: "hello"\napp: "shop"\nextra: ours\n'
    assert not (shop / "config/pinger/motd.txt").exists()  # removed by the catalog, unedited
    assert (shop / "NOTES.md").read_text() == "our own notes\n" and (shop / "k8s/extra.yaml").exists()
    made = record(shop)["generated_by"]["catalog"]
    assert made["commit"] == catalog_repo["v2"] and made["version"] == "2.2.0" and made["checkout"] == "v2"
    pinger = next(s for s in record(shop)["sidecars"] if isinstance(s, dict) and s["name"] == "pinger")
    assert pinger["params"]["verbose"] is False  # the new parameter, with its default
    assert not (shop / ".sidecar-new.tx").exists()


def test_a_second_update_is_a_no_op(catalog_repo, tmp_path: Path) -> None:
    shop = service(catalog_repo, tmp_path / "shop")
    edit(shop / "k8s/deployment.yaml", "memory: 512Mi", "memory: 1Gi")
    assert run_cli("update", str(shop)).exit_code == 0
    after = tree_of(shop)
    again = run_cli("update", str(shop))
    assert again.exit_code == 0 and again.output == f"unchanged {shop}\n"
    assert tree_of(shop) == after
    drift = run_cli("update", str(shop), "--diff")
    assert drift.exit_code == 0 and drift.output == f"unchanged {shop}\n"


def test_an_edit_on_the_same_line_is_a_conflict_with_markers(catalog_repo, tmp_path: Path) -> None:
    shop = service(catalog_repo, tmp_path / "shop")
    edit(shop / "compose.yaml", "pinger:1.2.3", "pinger:1.2.3-patched")
    result = run_cli("update", str(shop))
    assert result.exit_code == 1
    assert f"conflicts {shop}: " in result.output and "conflict markers in compose.yaml" in result.output
    compose = (shop / "compose.yaml").read_text()
    assert (f"<<<<<<< yours ({shop})\n    image: registry.example.com/platform/pinger:1.2.3-patched\n"
            f"||||||| catalog team 2.1.0 {catalog_repo['v1'][:12]}\n") not in compose  # no base section
    assert f"<<<<<<< yours ({shop})\n    image: registry.example.com/platform/pinger:1.2.3-patched\n=======\n" \
           "    image: registry.example.com/platform/pinger:1.2.4\n>>>>>>> catalog team 2.2.0" in compose
    assert "pinger:1.2.4" in (shop / "k8s/deployment.yaml").read_text()  # the other files merged
    assert record(shop)["generated_by"]["catalog"]["commit"] == catalog_repo["v2"]
    again = run_cli("update", str(shop))  # markers not resolved yet: still a conflict
    assert again.exit_code == 1 and f"conflicts {shop}: catalog team 2.2.0" in again.output
    edit(shop / "compose.yaml", compose[compose.index("<<<<<<<"):compose.index("pinger:1.2.4\n>>>>>>>")],
         "    image: registry.example.com/platform/")
    resolved = (shop / "compose.yaml").read_text()
    resolved = resolved[:resolved.index(">>>>>>>")] + resolved[resolved.index("\n", resolved.index(">>>>>>>")) + 1:]
    (shop / "compose.yaml").write_text(resolved)
    assert run_cli("update", str(shop)).output == f"unchanged {shop}\n"


def test_an_edited_file_the_catalog_removed_is_kept_and_said(catalog_repo, tmp_path: Path) -> None:
    shop = service(catalog_repo, tmp_path / "shop")
    (shop / "config/pinger/motd.txt").write_text("welcome to the shop\n")
    result = run_cli("update", str(shop))
    assert result.exit_code == 0, result.output
    assert "kept config/pinger/motd.txt: edited here, no longer generated" in result.output
    assert (shop / "config/pinger/motd.txt").read_text() == "welcome to the shop\n"


def test_diff_shows_the_update_writes_nothing_and_exits_1(catalog_repo, tmp_path: Path) -> None:
    shop = service(catalog_repo, tmp_path / "shop")
    edit(shop / "k8s/deployment.yaml", "memory: 512Mi", "memory: 1Gi")
    before = tree_of(shop)
    result = run_cli("update", str(shop), "--diff")
    assert result.exit_code == 1
    assert "-        image: registry.example.com/platform/pinger:1.2.3\n+        image: registry.example.com/platform/pinger:1.2.4\n" in result.output
    assert "--- a/config/pinger/motd.txt\n+++ /dev/null" in result.output
    assert "memory: 1Gi" not in result.output  # the edit stays: not part of the change
    assert tree_of(shop) == before


def test_answers_change_through_the_same_merge(catalog_repo, tmp_path: Path) -> None:
    shop = service(catalog_repo, tmp_path / "shop")
    edit(shop / "k8s/deployment.yaml", "memory: 512Mi", "memory: 1Gi")
    result = run_cli("update", str(shop), "--checkout", "v1", "--set", "app.replicas=3",
                     "--set", "sidecars.pinger.greeting=hi")
    assert result.exit_code == 0, result.output
    deployment = (shop / "k8s/deployment.yaml").read_text()
    assert "replicas: 3" in deployment and "memory: 1Gi" in deployment and "pinger:1.2.3" in deployment
    assert 'greeting: "hi"' in (shop / "config/pinger/pinger.yaml").read_text()
    assert run_cli("update", str(shop), "--checkout", "v1", "--without", "pinger").exit_code == 0
    assert not (shop / "config/pinger").exists() and "pinger" not in (shop / "k8s/deployment.yaml").read_text()
    assert "memory: 1Gi" in (shop / "k8s/deployment.yaml").read_text()
    bad = run_cli("update", str(shop), "--without", "pinger")
    assert bad.exit_code == 1 and "--without pinger: not among this service's sidecars" in bad.output


def test_the_default_target_is_the_newest_tag_or_the_followed_branch(catalog_repo, tmp_path: Path) -> None:
    repo = Path(catalog_repo["repo"])
    default = tmp_path / "default"  # made from the default branch (no --checkout), at v2
    assert run_cli("new", *APP_FLAGS, "--with", "pinger", "--output", str(default), "--catalog",
                   catalog_repo["url"]).exit_code == 0
    team_catalog(repo, **{**V2, "catalog.yaml": V2["catalog.yaml"].replace("2.2.0", "3.0.0-dev")})
    head = commit_all(repo, "work in progress on main")
    tagged = service(catalog_repo, tmp_path / "tagged")
    assert run_cli("update", str(tagged)).exit_code == 0
    assert record(tagged)["generated_by"]["catalog"]["commit"] == catalog_repo["v2"]  # not main's head
    following = tmp_path / "following"
    assert run_cli("new", *APP_FLAGS, "--with", "pinger", "--output", str(following), "--catalog",
                   catalog_repo["url"], "--checkout", "v1").exit_code == 0
    data = record(following)
    data["generated_by"]["catalog"]["checkout"] = "main"  # rendered from main when main was at v1
    (following / ".sidecar-new.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    assert run_cli("update", str(following)).exit_code == 0
    assert record(following)["generated_by"]["catalog"]["commit"] == head
    assert run_cli("update", str(default)).exit_code == 0
    made = record(default)["generated_by"]["catalog"]
    assert made["commit"] == head and "checkout" not in made  # still following the default branch


def test_many_services_one_line_each_and_a_failure_changes_no_other(catalog_repo, tmp_path: Path) -> None:
    folders = [service(catalog_repo, tmp_path / "services" / f"svc{i}", name=f"svc{i}") for i in range(3)]
    edit(folders[1] / "compose.yaml", "pinger:1.2.3", "pinger:1.2.3-patched")
    (tmp_path / "services" / "stray").mkdir()
    result = run_cli("update", *map(str, folders), str(tmp_path / "services" / "stray"), "--jobs", "2")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert f"updated   {folders[0]}: catalog team 2.1.0" in result.output
    assert f"conflicts {folders[1]}: " in result.output
    assert any(line.startswith(f"failed    {tmp_path / 'services' / 'stray'}: ") and "no .sidecar-new.yaml" in line
               for line in lines)
    assert "4 services: 2 updated, 1 conflicts, 1 failed" in result.output
    assert "pinger:1.2.4" in (folders[2] / "compose.yaml").read_text()
    assert list((tmp_path / "services" / "stray").iterdir()) == []


def test_a_service_from_the_builtin_catalog_is_unchanged_by_the_same_tool(tmp_path: Path) -> None:
    out = tmp_path / "pay"
    assert run_cli("new", "--no-input", "--name", "pay", "--image", "team/pay:1.0", "--with", "envoy",
                   "--output", str(out)).exit_code == 0
    edit(out / "compose.yaml", "max-file: '5'", "max-file: '9'")
    result = run_cli("update", str(out))
    assert result.exit_code == 0 and result.output == f"unchanged {out}\n"
    changed = run_cli("update", str(out), "--set", "app.replicas=4")
    assert changed.exit_code == 0 and changed.output.startswith(f"updated   {out}")
    assert "max-file: '9'" in (out / "compose.yaml").read_text()


def test_offline_update_uses_the_cache_and_names_a_ref_it_lacks(catalog_repo, tmp_path: Path) -> None:
    shop = service(catalog_repo, tmp_path / "shop")  # fetched v1 and v2 into the cache
    subprocess.run(["git", "tag", "v3"], cwd=catalog_repo["repo"], check=True)  # after: not cached
    missing = run_cli("update", str(shop), "--offline", "--checkout", "v3")
    assert missing.exit_code == 1
    assert f"the cached copy of {catalog_repo['url']} has no 'v3'" in missing.output
    shutil.rmtree(catalog_repo["repo"])  # the server is gone
    result = run_cli("update", str(shop), "--offline")
    assert result.exit_code == 0, result.output
    assert record(shop)["generated_by"]["catalog"]["commit"] == catalog_repo["v2"]


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.slow
@pytest.mark.parametrize("after", [0, 1, 6, 12])
def test_kill_9_during_a_batch_update_leaves_every_folder_old_or_new(catalog_repo, tmp_path: Path, after: int) -> None:
    """The whole process group killed once `after` folders are done (0: while it starts)."""
    import os
    import signal
    import sys
    import time

    from generator.output import transaction

    services = tmp_path / "services"
    folders = [service(catalog_repo, services / f"svc{i:02}", name=f"svc{i:02}") for i in range(16)]
    for folder in folders:
        edit(folder / "k8s/deployment.yaml", "memory: 512Mi", "memory: 1Gi")
    old = {f.name: _tree(f) for f in folders}
    shutil.copytree(services, tmp_path / "expected")
    assert run_cli("update", *(str(tmp_path / "expected" / f.name) for f in folders)).exit_code == 0
    new = {f.name: _tree(tmp_path / "expected" / f.name) for f in folders}
    child = subprocess.Popen([sys.executable, "-m", "generator", "update", *map(str, folders)],
                             start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while after and time.monotonic() < deadline and child.poll() is None:
        if sum(catalog_repo["v2"] in (f / ".sidecar-new.yaml").read_text() for f in folders) >= after:
            break
        time.sleep(0.01)
    if not after:
        time.sleep(0.3)
    os.killpg(child.pid, signal.SIGKILL)  # the parent and every worker, wherever they are
    child.wait()
    states = []
    for folder in folders:
        transaction.recover(folder)  # what the next run does first: finish a committed journal
        tree = _tree(folder)
        assert tree in (old[folder.name], new[folder.name]), f"{folder.name} is mixed"
        states.append("new" if tree == new[folder.name] else "old")
    assert sorted(p.name for p in services.iterdir()) == [f.name for f in folders]  # no debris beside
    assert states.count("new") >= min(after, 16)


def test_ctrl_c_during_a_batch_leaves_every_folder_old_or_new_and_says_so(catalog_repo, tmp_path: Path) -> None:
    import os
    import signal
    import sys
    import time

    folders = [service(catalog_repo, tmp_path / f"svc{i}", name=f"svc{i}") for i in range(12)]
    old = {f.name: _tree(f) for f in folders}
    child = subprocess.Popen([sys.executable, "-m", "generator", "update", *map(str, folders)],
                             start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and child.poll() is None:
        if any(catalog_repo["v2"] in (f / ".sidecar-new.yaml").read_text() for f in folders):
            break
        time.sleep(0.01)
    os.killpg(child.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole group
    out, err = child.communicate(timeout=60)
    assert child.returncode == 130, err  # 12 folders take far longer than one poll
    assert "Traceback" not in err and "interrupted: " in err and "the others are as they were" in err
    for folder in folders:
        assert not (folder / ".sidecar-new.tx").exists()
        tree = _tree(folder)
        assert tree == old[folder.name] or catalog_repo["v2"] in tree[".sidecar-new.yaml"].decode()
        if tree != old[folder.name]:
            assert f"updated   {folder}" in out  # every folder written is listed


def test_your_own_file_where_the_update_adds_one_is_merged_not_lost(tmp_path: Path) -> None:
    out = tmp_path / "pay"
    assert run_cli("new", "--no-input", "--name", "pay", "--image", "team/pay:1.0", "--with", "envoy",
                   "--metrics-path", "/metrics", "--output", str(out)).exit_code == 0
    (out / "config/metrics").mkdir(parents=True)
    (out / "config/metrics/mapping.yaml").write_text("# our own mapping\nmappings: []\n")
    result = run_cli("update", str(out), "--with", "metrics")
    assert result.exit_code == 1 and "conflict markers in config/metrics/mapping.yaml" in result.output
    merged = (out / "config/metrics/mapping.yaml").read_text()
    assert f"<<<<<<< yours ({out})\n# our own mapping\n" in merged and ">>>>>>> catalog builtin" in merged
    assert "statsd-exporter" in (out / "compose.yaml").read_text()
