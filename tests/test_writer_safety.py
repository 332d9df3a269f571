"""Nothing lost: the writer replaces only files its record shows it wrote, never races a
folder or file that appears while it renders, keeps subfolders as they are, and after a
kill at any moment the next run finishes or drops the update and leaves no debris."""

from __future__ import annotations

import os
import random
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import FULL_ANSWERS, run_cli, tree_of, write_answers
from generator.output import transaction
from generator.output.naming import TX
from generator.output.writer import write


@pytest.fixture
def answers_file(tmp_path: Path) -> Path:
    return write_answers(tmp_path / "answers.yaml", FULL_ANSWERS)


def render(answers_file: Path, output: Path, *extra: str):
    return run_cli("new", "--answers", str(answers_file), "--no-input", "--output", str(output), *extra)


# Finding 1: only files the record lists may be replaced.

def test_force_refuses_to_replace_the_users_own_files_at_generated_paths(answers_file: Path,
                                                                        tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "README.md").write_text("# my service\n")
    (out / "compose.yaml").write_text("services: {mine: {image: x}}\n")
    for extra in ((), ("--force",)):
        result = render(answers_file, out, *extra)
        assert result.exit_code == 1, result.output
        assert "did not write" in result.output
        assert "README.md" in result.output and "compose.yaml" in result.output
        assert tree_of(out) == {"README.md": b"# my service\n",
                                "compose.yaml": b"services: {mine: {image: x}}\n"}


def test_a_hand_written_manifest_is_not_replaced_when_kubernetes_is_added(tmp_path: Path) -> None:
    out = tmp_path / "out"
    compose_only = {**FULL_ANSWERS, "targets": ["compose"]}
    assert render(write_answers(tmp_path / "a.yaml", compose_only), out).exit_code == 0
    (out / "k8s").mkdir()
    (out / "k8s" / "service.yaml").write_text("kind: Service  # mine\n")
    result = render(write_answers(tmp_path / "b.yaml", FULL_ANSWERS), out, "--force")
    assert result.exit_code == 1 and "k8s/service.yaml" in result.output
    assert (out / "k8s" / "service.yaml").read_text() == "kind: Service  # mine\n"
    assert not (out / "k8s" / "deployment.yaml").exists()


def test_a_file_where_a_generated_folder_goes_is_named_and_kept(answers_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "k8s").write_text("my notes about k8s\n")
    result = render(answers_file, out, "--force")
    assert result.exit_code == 1 and "k8s" in result.output and "did not write" in result.output
    assert tree_of(out) == {"k8s": b"my notes about k8s\n"}


def test_the_report_says_which_edited_files_were_kept_and_which_replaced(tmp_path: Path) -> None:
    out = tmp_path / "out"
    render(write_answers(tmp_path / "a.yaml", FULL_ANSWERS), out)
    (out / "k8s" / "service.yaml").write_text("# edited\n")
    (out / "compose.yaml").write_text("# edited\n")
    compose_only = {**FULL_ANSWERS, "targets": ["compose"]}
    result = render(write_answers(tmp_path / "b.yaml", compose_only), out, "--force")
    assert result.exit_code == 0, result.output
    assert "replaced files you had edited: compose.yaml\n" in result.output
    assert "kept files you had edited that are no longer generated: k8s/service.yaml" in result.output
    assert (out / "k8s" / "service.yaml").read_text() == "# edited\n"


# Finding 2: no race between the check and the write.

def _meanwhile(monkeypatch, act) -> None:
    """Someone else acts on the output folder each time the writer stages a file."""
    real = transaction.write_file

    def write_file(path, data):
        act()
        return real(path, data)

    monkeypatch.setattr(transaction, "write_file", write_file)


def test_a_folder_created_at_the_output_while_rendering_is_not_replaced(answers_file: Path, tmp_path: Path,
                                                                        monkeypatch) -> None:
    out = tmp_path / "out"

    def someone_creates_the_folder():
        if not out.exists():
            out.mkdir()
            (out / "theirs.txt").write_text("theirs\n")

    _meanwhile(monkeypatch, someone_creates_the_folder)
    result = render(answers_file, out)
    assert result.exit_code == 1 and "already exists" in result.output
    assert tree_of(out) == {"theirs.txt": b"theirs\n"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["answers.yaml", "out"]


def test_a_file_saved_into_the_folder_during_a_force_run_is_kept(answers_file: Path, tmp_path: Path,
                                                                 monkeypatch) -> None:
    out = tmp_path / "out"
    render(answers_file, out)
    _meanwhile(monkeypatch, lambda: (out / "saved-meanwhile.txt").write_text("work\n"))
    result = render(answers_file, out, "--force", "--port", "9090")
    assert result.exit_code == 0, result.output
    assert (out / "saved-meanwhile.txt").read_text() == "work\n"
    assert "port_value: 9090" in (out / "config/envoy/envoy.yaml").read_text()


def test_a_generated_file_edited_during_a_force_run_stops_it_before_any_change(answers_file: Path,
                                                                               tmp_path: Path,
                                                                               monkeypatch) -> None:
    out = tmp_path / "out"
    render(answers_file, out)
    before = {**tree_of(out), "config/envoy/envoy.yaml": b"# edited meanwhile\n"}
    _meanwhile(monkeypatch, lambda: (out / "config/envoy/envoy.yaml").write_text("# edited meanwhile\n"))
    result = render(answers_file, out, "--force", "--port", "9090")
    assert result.exit_code == 1 and "config/envoy/envoy.yaml changed while rendering" in result.output
    assert tree_of(out) == before


# Finding 3: subfolders keep their modes, owners and hard links.

def test_force_keeps_subfolder_modes_owners_and_hard_links(answers_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    render(answers_file, out)
    (out / "private").mkdir()
    (out / "private" / "key.txt").write_text("secret\n")
    os.chmod(out / "private", 0o700)
    os.chmod(out / "config", 0o2775)  # setgid: new files take the folder's group
    os.link(out / "private" / "key.txt", out / "key-link.txt")
    if os.geteuid() == 0:
        os.chown(out / "private", 12345, 12345)
    before = {p: os.stat(out / p) for p in ("private", "config", "private/key.txt", "key-link.txt")}
    assert render(answers_file, out, "--force", "--port", "9090").exit_code == 0
    for path, old in before.items():
        now = os.stat(out / path)
        assert (now.st_mode, now.st_uid, now.st_gid, now.st_ino) == \
            (old.st_mode, old.st_uid, old.st_gid, old.st_ino), path
    assert os.stat(out / "key-link.txt").st_nlink == 2
    assert stat.S_IMODE(os.stat(out / "config").st_mode) == 0o2775


# Finding 4: kills.

def test_stale_staging_and_an_unfinished_stage_are_removed_by_the_next_run(answers_file: Path,
                                                                           tmp_path: Path) -> None:
    out = tmp_path / "out"
    render(answers_file, out)
    (tmp_path / transaction.staging_name("out", 999999)).mkdir()
    (tmp_path / transaction.staging_name("out", 999999) / "compose.yaml").write_text("half\n")
    (out / TX / "new").mkdir(parents=True)  # killed while staging: no journal
    (out / TX / "new" / "compose.yaml").write_text("half\n")
    before = tree_of(out)
    result = render(answers_file, out, "--force")
    assert result.exit_code == 0, result.output
    assert "changed nothing" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["answers.yaml", "out"]
    assert not (out / TX).exists()
    assert {k: v for k, v in before.items() if not k.startswith(TX)} == tree_of(out)


def test_a_live_runs_staging_folder_is_not_removed(tmp_path: Path) -> None:
    live = tmp_path / transaction.staging_name("out", 1)
    live.mkdir()
    with transaction.locked(live, live):
        transaction.clean_stale_staging(tmp_path, "out")
        assert live.is_dir()
    transaction.clean_stale_staging(tmp_path, "out")
    assert not live.exists()


def _expected_trees(tmp_path: Path, answers_file: Path) -> tuple[dict, dict]:
    trees = []
    for port in ("8080", "9090"):
        folder = tmp_path / f"expected-{port}"
        assert render(answers_file, folder, "--port", port).exit_code == 0
        trees.append({**tree_of(folder), "notes.txt": b"mine\n"})
    return trees[0], trees[1]


def _other(port: str) -> str:
    return "9090" if port == "8080" else "8080"


@pytest.mark.parametrize("kill", [signal.SIGKILL, signal.SIGINT, signal.SIGTERM])
def test_a_kill_at_every_step_of_an_update_leaves_old_or_new_after_the_next_run(
        kill, answers_file: Path, tmp_path: Path) -> None:
    """Fork a writer and kill it at each file written, renamed or removed, one step later each time."""
    from generator.catalog.loader import load_catalog
    from generator.input.answers import load_answers
    from generator.input.spec import parse_spec
    from generator.pipeline import build

    old_tree, new_tree = _expected_trees(tmp_path, answers_file)
    catalog = load_catalog()
    raw = load_answers(answers_file)
    filesets = {port: build(parse_spec({**raw, "app": {**raw["app"], "port": int(port)}}, catalog), catalog)
                for port in ("8080", "9090")}
    out = tmp_path / "out"
    assert render(answers_file, out, "--port", "8080").exit_code == 0
    (out / "notes.txt").write_text("mine\n")
    port, trees, outcomes = "8080", {"8080": old_tree, "9090": new_tree}, set()
    for step in range(1, 100):
        child = os.fork()
        if child == 0:  # the child: a writer killed at its `step`th file operation
            calls = [0]

            def counting(real):
                def operation(*args, **kwargs):
                    calls[0] += 1
                    if calls[0] == step:
                        os.kill(os.getpid(), kill)
                    return real(*args, **kwargs)
                return operation

            os.replace, os.unlink, os.rename = counting(os.replace), counting(os.unlink), counting(os.rename)
            transaction.write_file = counting(transaction.write_file)
            landed = []
            try:
                write(filesets[_other(port)], out, force=True, on_landed=lambda: landed.append(1))
                os._exit(0)
            except BaseException:
                os._exit(131 if landed else 130)  # what the CLI would report: written or not
        _, status = os.waitpid(child, 0)
        finished = os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
        with transaction.locked(out, out):
            transaction.recover(out)  # what the next run does first
        now = tree_of(out)
        assert now in (trees[port], trees[_other(port)]), f"step {step}: neither old nor new"
        assert not (out / TX).exists()
        if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 130:
            assert now == trees[port], f"step {step}: interrupted, said nothing written, yet changed"
        outcomes.add(now == trees[port])
        if now != trees[port]:
            port = _other(port)
        transaction.clean_stale_staging(tmp_path, "out")
        assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("expected")) == \
            ["answers.yaml", "out"]
        if finished:
            break  # the kill came after the last step: every step was tried
    assert step > 5 and outcomes == {True, False}  # some kills came before the commit, some after


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "generator", *args]


def _kill_loop(rounds: int, answers_file: Path, tmp_path: Path) -> None:
    old_tree, new_tree = _expected_trees(tmp_path, answers_file)
    trees = {"8080": old_tree, "9090": new_tree}
    out = tmp_path / "out"
    assert render(answers_file, out, "--port", "8080").exit_code == 0
    (out / "notes.txt").write_text("mine\n")
    env = {**os.environ, "PYTHONPATH": str(Path(transaction.__file__).parents[2])}
    started = time.monotonic()
    base = [*_cli("new", "--answers", str(answers_file), "--no-input", "-o", str(out), "--force")]
    subprocess.run([*base, "--port", "8080"], env=env, check=True, capture_output=True)
    duration = time.monotonic() - started
    port, rng = "8080", random.Random(19)
    for round_ in range(rounds):
        kill = (signal.SIGKILL, signal.SIGINT)[round_ % 2]
        process = subprocess.Popen([*base, "--port", _other(port)], env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        time.sleep(rng.uniform(0.5, 1.1) * duration)
        process.send_signal(kill)
        stdout, stderr = process.communicate(timeout=60)
        now = tree_of(out) if not (out / TX).exists() else None
        if kill == signal.SIGINT and process.returncode in (0, 130):
            # Interrupts are handled: what the process said matches what is there, at once.
            assert now is not None, stderr
            written = process.returncode == 0 or "written to" in stderr
            assert now == trees[_other(port) if written else port], (process.returncode, stderr)
            assert "Traceback" not in stderr
        with transaction.locked(out, out):
            transaction.recover(out)
        now = tree_of(out)
        assert now in (trees[port], trees[_other(port)]), (round_, kill, process.returncode, stderr)
        if now != trees[port]:
            port = _other(port)
    done = subprocess.run([*base, "--port", port], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert tree_of(out) == trees[port]
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("expected")) == \
        ["answers.yaml", "out"]


def test_killed_force_renders_leave_old_or_new_and_no_debris_quick(answers_file: Path, tmp_path: Path) -> None:
    _kill_loop(4, answers_file, tmp_path)


@pytest.mark.slow
def test_killed_force_renders_leave_old_or_new_and_no_debris_many(answers_file: Path, tmp_path: Path) -> None:
    _kill_loop(40, answers_file, tmp_path)


def test_the_next_run_finishing_an_update_keeps_a_file_changed_since(answers_file: Path, tmp_path: Path) -> None:
    import hashlib
    import json

    out = tmp_path / "out"
    render(answers_file, out)
    (out / TX / "new").mkdir(parents=True)
    (out / TX / "new" / "compose.yaml").write_text("new\n")
    (out / TX / "new" / "added.txt").write_text("added\n")
    old = hashlib.sha256((out / "compose.yaml").read_bytes()).hexdigest()
    entries = [{"path": "compose.yaml", "before": old, "after": hashlib.sha256(b"new\n").hexdigest()},
               {"path": "added.txt", "before": None, "after": hashlib.sha256(b"added\n").hexdigest()}]
    (out / TX / "journal.json").write_text(json.dumps({"pid": 1, "entries": entries}))
    (out / "compose.yaml").write_text("# edited after the kill\n")  # someone's work since
    with transaction.locked(out, out):
        note = transaction.recover(out)
    assert "finished an update" in note and "kept compose.yaml" in note
    assert (out / "compose.yaml").read_text() == "# edited after the kill\n"
    assert (out / "added.txt").read_text() == "added\n" and not (out / TX).exists()


def test_a_second_run_on_the_same_folder_waits_for_the_first(answers_file: Path, tmp_path: Path,
                                                             monkeypatch) -> None:
    out = tmp_path / "out"
    render(answers_file, out)
    monkeypatch.setattr(transaction, "LOCK_WAIT", 0.2)
    with transaction.locked(out, out):  # another run, mid-update
        result = render(answers_file, out, "--force", "--port", "9090")
    assert result.exit_code == 1 and "another sidecar-new run has been writing to" in result.output
    assert render(answers_file, out, "--force", "--port", "9090").exit_code == 0
