"""The writer never loses work: atomic writes, refusals that say why, --force that keeps
the user's own files, and --diff that shows what would change."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import FULL_ANSWERS, run_cli, tree_of, write_answers
from generator.errors import WriteError
from generator.output.writer import write


@pytest.fixture
def answers_file(tmp_path: Path) -> Path:
    return write_answers(tmp_path / "answers.yaml", FULL_ANSWERS)


def render(answers_file: Path, output: Path, *extra: str):
    return run_cli("new", "--answers", str(answers_file), "--no-input", "--output", str(output), *extra)


def test_first_render_writes_the_documented_layout(answers_file: Path, tmp_path: Path) -> None:
    result = render(answers_file, tmp_path / "out")
    assert result.exit_code == 0, result.output
    files = set(tree_of(tmp_path / "out"))
    assert {"compose.yaml", "README.md", ".sidecar-new.yaml", "k8s/kustomization.yaml",
            "k8s/deployment.yaml", "k8s/service.yaml", "k8s/configmaps.yaml", "k8s/serviceaccount.yaml",
            "k8s/networkpolicy.yaml", "k8s/poddisruptionbudget.yaml", "config/envoy/envoy.yaml",
            "config/fluentd/fluent.conf", "config/metrics/mapping.yaml"} <= files
    assert "docker compose -f" in result.output and "kubectl apply -k" in result.output
    # Nothing is left beside the target: no staging or backup folders.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["answers.yaml", "out"]


def test_dry_run_lists_files_and_writes_nothing(answers_file: Path, tmp_path: Path) -> None:
    result = render(answers_file, tmp_path / "out", "--dry-run")
    assert result.exit_code == 0
    assert "compose.yaml" in result.output and "nothing written" in result.output
    assert not (tmp_path / "out").exists()


def test_existing_folder_is_refused_without_force(answers_file: Path, tmp_path: Path) -> None:
    render(answers_file, tmp_path / "out")
    before = tree_of(tmp_path / "out")
    result = render(answers_file, tmp_path / "out")
    assert result.exit_code == 1
    assert "already exists" in result.output and "--diff" in result.output and "--force" in result.output
    assert tree_of(tmp_path / "out") == before


def test_edited_generated_files_are_named_in_the_refusal(answers_file: Path, tmp_path: Path) -> None:
    render(answers_file, tmp_path / "out")
    (tmp_path / "out" / "compose.yaml").write_text("# my tweaks\n")
    result = render(answers_file, tmp_path / "out")
    assert result.exit_code == 1
    assert "edited since they were generated: compose.yaml" in result.output
    assert (tmp_path / "out" / "compose.yaml").read_text() == "# my tweaks\n"


def test_force_replaces_generated_files_and_keeps_the_users_own(answers_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    render(answers_file, out)
    (out / "notes.txt").write_text("my notes\n")
    (out / "k8s" / "extra-patch.yaml").write_text("kind: Patch\n")
    (out / "compose.yaml").write_text("# edited\n")
    result = render(answers_file, out, "--force")
    assert result.exit_code == 0, result.output
    assert "replaced files you had edited: compose.yaml" in result.output
    assert (out / "notes.txt").read_text() == "my notes\n"
    assert (out / "k8s" / "extra-patch.yaml").read_text() == "kind: Patch\n"
    assert (out / "compose.yaml").read_text().startswith("name: orders-api")


def test_force_removes_generated_files_that_are_no_longer_generated(tmp_path: Path) -> None:
    out = tmp_path / "out"
    render(write_answers(tmp_path / "a.yaml", FULL_ANSWERS), out)
    compose_only = {**FULL_ANSWERS, "targets": ["compose"]}
    result = render(write_answers(tmp_path / "b.yaml", compose_only), out, "--force")
    assert result.exit_code == 0
    assert not (out / "k8s").exists() or not any((out / "k8s").iterdir())
    assert (out / "compose.yaml").is_file()


def test_recorded_answers_replay_to_identical_files(answers_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    render(answers_file, out)
    before = tree_of(out)
    result = run_cli("new", "--answers", str(out / ".sidecar-new.yaml"), "--no-input", "--output",
                     str(out), "--diff")
    assert result.exit_code == 0 and "no changes" in result.output
    assert render(out / ".sidecar-new.yaml", out, "--force").exit_code == 0
    assert tree_of(out) == before


def test_diff_shows_what_would_change_and_writes_nothing(answers_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    render(answers_file, out)
    before = tree_of(out)
    result = run_cli("new", "--answers", str(answers_file), "--no-input", "--output", str(out),
                     "--port", "9090", "--diff")
    assert result.exit_code == 1  # differences: a drift check fails
    assert "--- a/config/envoy/envoy.yaml\n+++ b/config/envoy/envoy.yaml" in result.output
    assert "-                    socket_address: {address: 127.0.0.1, port_value: 8080}" in result.output
    assert "+                    socket_address: {address: 127.0.0.1, port_value: 9090}" in result.output
    assert "--- a/compose.yaml" not in result.output  # behind the proxy the app port is not published
    assert tree_of(out) == before


class Boom(Exception):
    pass


@pytest.mark.parametrize("error", [Boom, KeyboardInterrupt])
def test_failure_mid_write_leaves_a_new_target_absent(error, tmp_path: Path, monkeypatch) -> None:
    files = {f"f{i}.txt": b"x" for i in range(10)}
    fail_after_writes(monkeypatch, 5, error)
    with pytest.raises(error):
        write(files, tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize("error", [Boom, KeyboardInterrupt])
def test_failure_mid_write_leaves_an_existing_target_unchanged(error, answers_file: Path, tmp_path: Path,
                                                               monkeypatch) -> None:
    out = tmp_path / "out"
    render(answers_file, out)
    (out / "notes.txt").write_text("mine\n")
    before = tree_of(out)
    fail_after_writes(monkeypatch, 3, error)
    result = run_cli("new", "--answers", str(answers_file), "--no-input", "--output", str(out),
                     "--port", "9090", "--force")
    assert result.exit_code == (130 if error is KeyboardInterrupt else 1)
    assert tree_of(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["answers.yaml", "out"]


def test_an_interrupt_after_the_commit_finishes_the_update_and_says_so(answers_file: Path, tmp_path: Path,
                                                                        monkeypatch) -> None:
    import os

    out = tmp_path / "out"
    render(answers_file, out)
    real_replace, calls = os.replace, []

    def interrupted_replace(src, dst):
        calls.append(dst)
        if len(calls) == 3:  # the journal, then two files in place: a Ctrl-C now
            raise KeyboardInterrupt
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", interrupted_replace)
    result = render(answers_file, out, "--force", "--port", "9090")
    monkeypatch.undo()
    assert result.exit_code == 130
    assert "nothing written" not in result.output and f"written to {out}" in result.output
    assert "port_value: 9090" in (out / "config/envoy/envoy.yaml").read_text()
    assert render(out / ".sidecar-new.yaml", out, "--diff").output.endswith("no changes\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["answers.yaml", "out"]
    assert not (out / ".sidecar-new.tx").exists()


def test_writer_refuses_paths_outside_the_folder(tmp_path: Path) -> None:
    for bad in ("../escape.txt", "/etc/passwd", "a/../../b", "a\\b"):
        with pytest.raises(WriteError):
            write({bad: b"x"}, tmp_path / "out")
    assert not (tmp_path / "out").exists() and not (tmp_path / "escape.txt").exists()


def test_output_that_is_a_file_is_refused(answers_file: Path, tmp_path: Path) -> None:
    (tmp_path / "out").write_text("a file")
    result = render(answers_file, tmp_path / "out")
    assert result.exit_code == 1 and "is not a folder" in result.output


def fail_after_writes(monkeypatch, count: int, error) -> None:
    from generator.output import transaction

    real = transaction.write_file
    done = []

    def write_file(path, data):
        if len(done) == count:
            raise error()
        done.append(path)
        return real(path, data)

    monkeypatch.setattr(transaction, "write_file", write_file)


def test_a_new_output_folder_gets_the_usual_permissions(answers_file: Path, tmp_path: Path) -> None:
    import os
    import stat

    mask = os.umask(0o022)
    try:
        render(answers_file, tmp_path / "out")
    finally:
        os.umask(mask)
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o755
    (tmp_path / "out").chmod(0o750)
    render(answers_file, tmp_path / "out", "--force", "--port", "9090")
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o750


def test_the_current_folder_works_as_the_output(answers_file: Path, tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.chdir(out)
    assert render(answers_file, Path(".")).exit_code == 0
    (out / "notes.txt").write_text("mine\n")
    result = render(answers_file, Path("."), "--force", "--port", "9090")
    assert result.exit_code == 0, result.output
    assert "port_value: 9090" in (out / "config/envoy/envoy.yaml").read_text()
    assert (out / "notes.txt").read_text() == "mine\n"
    assert not any(p.name.startswith(".") and p.name != ".sidecar-new.yaml" for p in out.iterdir())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["answers.yaml", "out"]
    # The process's folder is the new output, not the old one that was swapped out and removed.
    assert Path(".").resolve() == out and Path("compose.yaml").is_file()


def test_a_current_folder_that_was_removed_is_a_one_line_error(answers_file: Path, tmp_path: Path,
                                                               monkeypatch) -> None:
    # What a shell is left in after `-o . --force` replaced its folder (until `cd .`).
    (tmp_path / "gone").mkdir()
    monkeypatch.chdir(tmp_path / "gone")
    (tmp_path / "gone").rmdir()
    result = render(answers_file, Path("."))
    assert result.exit_code == 1 and "cannot write .: No such file or directory" in result.output


def test_an_output_path_under_a_file_is_a_one_line_error(answers_file: Path, tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("a file\n")
    result = render(answers_file, tmp_path / "afile" / "sub")
    assert result.exit_code == 1
    assert f"cannot write {tmp_path / 'afile' / 'sub'}" in result.output and "afile" in result.output
    assert "Traceback" not in result.output
    assert (tmp_path / "afile").read_text() == "a file\n"


def test_a_named_pipe_in_the_output_is_left_alone(answers_file: Path, tmp_path: Path) -> None:
    import os

    out = tmp_path / "out"
    render(answers_file, out)
    os.mkfifo(out / "pipe")
    result = render(answers_file, out, "--force", "--port", "9090")
    assert result.exit_code == 0, result.output
    assert (out / "pipe").exists() and "port_value: 9090" in (out / "config/envoy/envoy.yaml").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["answers.yaml", "out"]


@pytest.fixture
def mount(tmp_path: Path):
    """Mount a tmpfs on a folder (needs root); unmounted at the end."""
    import os
    import subprocess

    mounted = []

    def mount(folder: Path, *options: str) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", *options, "none", str(folder)],
                                               capture_output=True).returncode != 0:
            pytest.skip("mounting a tmpfs needs root")
        mounted.append(folder)
        return folder

    yield mount
    for folder in reversed(mounted):
        subprocess.run(["umount", str(folder)], check=True)


def test_a_mount_point_works_as_the_output_and_keeps_the_users_files(answers_file: Path, tmp_path: Path,
                                                                     mount) -> None:
    out = mount(tmp_path / "out")
    (out / "notes.txt").write_text("mine\n")
    result = render(answers_file, out, "--force")
    assert result.exit_code == 0, result.output
    assert (out / "notes.txt").read_text() == "mine\n" and (out / "compose.yaml").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["answers.yaml", "out"]


def test_a_read_only_parent_is_a_one_line_error(answers_file: Path, tmp_path: Path, mount) -> None:
    parent = mount(tmp_path / "ro", "-o", "ro")
    result = render(answers_file, parent / "out")
    assert result.exit_code == 1
    assert f"cannot write {parent / 'out'}" in result.output and "Read-only file system" in result.output


def test_a_symlinked_output_folder_is_written_through(answers_file: Path, tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "linkout").symlink_to("real")
    assert render(answers_file, tmp_path / "linkout").exit_code == 0
    assert (tmp_path / "real" / "compose.yaml").is_file()
    assert render(answers_file, tmp_path / "linkout", "--force", "--port", "9090").exit_code == 0
    assert "port_value: 9090" in (tmp_path / "real/config/envoy/envoy.yaml").read_text()
    assert (tmp_path / "linkout").is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["answers.yaml", "linkout", "real"]


def test_force_keeps_links_in_the_output_as_links(answers_file: Path, tmp_path: Path) -> None:
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "data.txt").write_text("shared\n")
    render(answers_file, out)
    (out / "linkdir").symlink_to(elsewhere)
    (out / "linkfile").symlink_to(elsewhere / "data.txt")
    (out / "dangling").symlink_to(tmp_path / "nowhere")
    assert render(answers_file, out, "--force", "--port", "9090").exit_code == 0
    for name, target in [("linkdir", elsewhere), ("linkfile", elsewhere / "data.txt"),
                         ("dangling", tmp_path / "nowhere")]:
        assert (out / name).is_symlink() and (out / name).readlink() == target
    assert tree_of(elsewhere) == {"data.txt": b"shared\n"}


def test_force_refuses_to_write_generated_files_through_a_link(answers_file: Path, tmp_path: Path) -> None:
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    render(answers_file, out)
    (out / "config").rename(elsewhere)
    (out / "config").symlink_to(elsewhere)
    before = tree_of(elsewhere)
    result = render(answers_file, out, "--force", "--port", "9090")
    assert result.exit_code == 1 and "config" in result.output and "link" in result.output
    assert tree_of(elsewhere) == before and (out / "config").is_symlink()


def test_force_drops_folders_left_empty_and_keeps_the_users_empty_folders(tmp_path: Path) -> None:
    out = tmp_path / "out"
    render(write_answers(tmp_path / "a.yaml", FULL_ANSWERS), out)
    (out / "mine" / "empty").mkdir(parents=True)
    (out / "config" / "scratch").mkdir()
    compose_only = {**FULL_ANSWERS, "targets": ["compose"]}
    assert render(write_answers(tmp_path / "b.yaml", compose_only), out, "--force").exit_code == 0
    assert not (out / "k8s").exists()
    assert (out / "mine" / "empty").is_dir() and (out / "config" / "scratch").is_dir()


def test_save_answers_is_not_written_when_the_render_is_refused(answers_file: Path, tmp_path: Path) -> None:
    render(answers_file, tmp_path / "out")
    result = render(answers_file, tmp_path / "out", "--save-answers", str(tmp_path / "saved.yaml"))
    assert result.exit_code == 1
    assert not (tmp_path / "saved.yaml").exists()
    result = render(answers_file, tmp_path / "out", "--force", "--save-answers", str(tmp_path / "saved.yaml"))
    assert result.exit_code == 0 and (tmp_path / "saved.yaml").is_file()


def test_replaying_a_folders_record_re_renders_that_folder(answers_file: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    render(answers_file, tmp_path / "deploy")
    (tmp_path / "deploy" / "notes.txt").write_text("mine\n")
    result = run_cli("new", "--answers", "deploy/.sidecar-new.yaml", "--no-input", "--force", "--port", "9090")
    assert result.exit_code == 0, result.output
    assert "port_value: 9090" in (tmp_path / "deploy" / "config/envoy/envoy.yaml").read_text()
    assert (tmp_path / "deploy" / "notes.txt").read_text() == "mine\n"
    assert not (tmp_path / "orders-api").exists()


def test_rendering_into_the_current_folder_keeps_the_shell_in_it(answers_file: Path, tmp_path: Path,
                                                                  monkeypatch) -> None:
    (tmp_path / "svc").mkdir()
    monkeypatch.chdir(tmp_path / "svc")
    before = os.stat(".")
    result = run_cli("new", "--answers", str(answers_file), "--no-input", "--output", ".", "--force")
    assert result.exit_code == 0, result.output
    # Updated in place: the folder a shell sits in is the folder with the new files.
    assert os.stat(".").st_ino == before.st_ino and Path("compose.yaml").is_file()
    assert "run `cd .`" not in result.output


def test_a_read_only_output_folder_error_names_the_folder_not_a_staging_path(answers_file: Path,
                                                                             tmp_path: Path, mount) -> None:
    import subprocess

    out = mount(tmp_path / "out")
    assert render(answers_file, out, "--force").exit_code == 0
    subprocess.run(["mount", "-o", "remount,ro", str(out)], check=True)
    result = render(answers_file, out, "--force", "--port", "9090")
    assert result.exit_code == 1
    assert f"cannot write {out}: Read-only file system" in result.output
    assert ".sidecar-new.tx" not in result.output and ".tmp" not in result.output
