"""The writer never loses work: atomic writes, refusals that say why, --force that keeps
the user's own files, and --diff that shows what would change."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import FULL_ANSWERS, run_cli, tree_of, write_answers
from generator.errors import WriteError
from generator.writer import write


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
    assert "docker compose up -d" in result.output and "kubectl apply -k" in result.output
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
    assert result.exit_code == 0
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


def test_failure_during_the_final_swap_restores_the_old_folder(answers_file: Path, tmp_path: Path,
                                                               monkeypatch) -> None:
    import os

    out = tmp_path / "out"
    render(answers_file, out)
    before = tree_of(out)
    real_rename, calls = os.rename, []

    def rename(src, dst):
        calls.append((src, dst))
        if len(calls) == 2:  # the staged folder moving into place
            raise KeyboardInterrupt
        return real_rename(src, dst)

    monkeypatch.setattr(os, "rename", rename)
    result = render(answers_file, out, "--force", "--port", "9090")
    assert result.exit_code == 130
    assert tree_of(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["answers.yaml", "out"]


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
    real = Path.write_bytes
    done = []

    def write_bytes(self, data):
        if len(done) == count:
            raise error()
        done.append(self)
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", write_bytes)


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
