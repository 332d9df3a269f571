"""Nothing hangs, nothing ends in a traceback: check never reads a named pipe and stops a hung
validator with everything it started; a zip catalog is bounded before it is unpacked; whatever
a template's code raises is one line naming the template file."""

from __future__ import annotations

import os
import signal
import stat
import time
import zipfile
from pathlib import Path

import pytest

from catalog_fixtures import APP_FLAGS, TEAM_CATALOG, cookiecutter_home, team_catalog  # noqa: F401
from conftest import FULL_ANSWERS, run_cli, write_answers


@pytest.fixture
def rendered(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    result = run_cli("new", "--answers", str(write_answers(tmp_path / "a.yaml", FULL_ANSWERS)), "--no-input",
                     "--output", str(out))
    assert result.exit_code == 0, result.output
    return out


# Finding 12.


def _hung_kubectl(tmp_path: Path, monkeypatch, body: str) -> None:
    """A `kubectl` first on PATH that runs BODY (a shell script) and never answers."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    hung = bin_dir / "kubectl"
    hung.write_text(f"#!/bin/sh\n{body}\n")
    hung.chmod(hung.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")

def test_check_reports_a_named_pipe_in_config_without_reading_it(rendered: Path) -> None:
    os.mkfifo(rendered / "config" / "envoy" / "extra.yaml")
    os.unlink(rendered / "config" / "fluentd" / "fluent.conf")
    os.mkfifo(rendered / "config" / "fluentd" / "fluent.conf")
    started = time.monotonic()
    result = run_cli("check", str(rendered))
    assert time.monotonic() - started < 10
    assert result.exit_code == 1
    assert "fluent.conf: a named pipe, socket or device, not a file" in result.output
    assert "extra.yaml: a named pipe" in result.output and "Traceback" not in result.output


def test_a_hung_validator_is_one_problem_and_its_processes_are_stopped(rendered: Path, tmp_path: Path,
                                                                       monkeypatch) -> None:
    from generator.tools import check

    pid_file = tmp_path / "grandchild.pid"
    _hung_kubectl(tmp_path, monkeypatch, f"sleep 300 &\necho $! > {pid_file}\nwait")
    monkeypatch.setattr(check, "TOOL_TIMEOUT", 1)
    result = run_cli("check", str(rendered))
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "kubectl gave no answer within 1 s and was stopped" in result.output
    assert _stopped(int(pid_file.read_text()))


def test_a_5000_deep_envoy_config_is_one_problem(rendered: Path) -> None:
    (rendered / "config" / "envoy" / "envoy.yaml").write_text("a: " + "[" * 5000 + "]" * 5000 + "\n")
    result = run_cli("check", str(rendered))
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "envoy.yaml: nested deeper than 100 levels" in result.output


def test_a_tampered_record_version_never_reaches_the_validator(rendered: Path) -> None:
    record = rendered / ".sidecar-new.yaml"
    record.write_text(record.read_text().replace("version: '1.31'", "version: ../../../etc"))
    assert "../../../etc" in record.read_text()
    result = run_cli("check", str(rendered))
    assert ".sidecar-new.yaml: kubernetes.version: '../../../etc' is not a supported Kubernetes version" \
        in result.output
    assert "etc" not in result.output.replace("'../../../etc'", "")


# Finding 11: zip catalogs.

def _zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for name, data in entries.items():
            bundle.writestr(name, data)
    return path


def _catalog_entries(top: str) -> dict[str, bytes]:
    # cookiecutter wants the folder's own entry first, as GitHub's "Download ZIP" has it.
    return {f"{top}/": b"", **{f"{top}/{p}": t.replace("\n        ", "\n").removeprefix("        ").encode()
                              for p, t in TEAM_CATALOG.items()}}


def test_a_zip_that_expands_a_thousandfold_is_refused_before_unpacking(tmp_path: Path,
                                                                      cookiecutter_home: Path) -> None:
    archive = _zip(tmp_path / "bomb.zip", {**_catalog_entries("team"), "team/zeros.txt": b"\0" * (8 * 2**20)})
    started = time.monotonic()
    result = run_cli("list", "--catalog", str(archive))
    assert time.monotonic() - started < 5
    assert result.exit_code == 1 and "fold, more than the limit of 100-fold" in result.output
    assert not list(cookiecutter_home.rglob("zeros.txt"))


def test_a_zip_with_two_top_level_folders_is_refused(tmp_path: Path, cookiecutter_home: Path) -> None:
    archive = _zip(tmp_path / "two.zip", {**_catalog_entries("team"), "other/catalog.yaml": b"name: x\n"})
    result = run_cli("list", "--catalog", str(archive))
    assert result.exit_code == 1
    assert "2 top-level entries (other, team); a catalog zip holds one folder" in result.output


# Finding 13: template errors.

@pytest.mark.parametrize("body, kind", [
    ("{{ '{0}'.format() }}", "cannot render: tuple index out of range"),
    ("{{ 'x'.encode('no-such-codec') }}", "cannot render: unknown encoding: no-such-codec"),
    ("{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}", "calls itself too deeply"),
    ("{{ '\\ud800' }}", "lone surrogate"),
    ("{{ " + "[" * 600 + "]" * 600 + " }}", "calls itself too deeply"),
])
def test_a_failing_template_is_one_line_naming_its_file(tmp_path: Path, body: str, kind: str) -> None:
    catalog = team_catalog(tmp_path / "team", **{"templates/pinger/files/pinger.conf.j2": body + "\n"})
    result = run_cli("new", *APP_FLAGS, "--with", "pinger", "--output", str(tmp_path / "out"),
                     "--catalog", str(catalog))
    assert result.exit_code == 1, result.output
    assert result.output.startswith(f"error: {catalog}/templates/pinger/files/pinger.conf.j2: ")
    assert kind in result.output and result.output.count("\n") == 1
    assert "Error" not in result.output  # words, not Python's exception names
    assert not (tmp_path / "out").exists()


# Finding 14: catalog new.

def test_catalog_new_writes_catalog_yaml_readable_like_any_new_file(tmp_path: Path) -> None:
    mask = os.umask(0o022)
    try:
        result = run_cli("catalog", "new", "pinger", "--capability", "health", "--catalog", str(tmp_path / "cat"))
    finally:
        os.umask(mask)
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE((tmp_path / "cat" / "catalog.yaml").stat().st_mode) == 0o644


def test_interrupting_check_stops_the_validator_too(rendered: Path, tmp_path: Path, monkeypatch) -> None:
    from generator.tools import check

    pid_file = tmp_path / "child.pid"
    _hung_kubectl(tmp_path, monkeypatch, f"echo $$ > {pid_file}\nexec sleep 300")
    monkeypatch.setattr(signal, "SIGALRM", signal.SIGALRM)
    signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    signal.alarm(2)
    try:
        with pytest.raises(KeyboardInterrupt):
            check.check_kubernetes(rendered / "k8s", "1.31")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
    assert _stopped(int(pid_file.read_text()))


def _stopped(pid: int) -> bool:
    """Gone, or a zombie waiting for init to reap it (killed all the same)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.05)
    return False


def test_a_zip_bomb_fetched_by_url_is_refused_before_unpacking(tmp_path: Path, cookiecutter_home: Path) -> None:
    import functools
    import http.server
    import threading

    served = tmp_path / "served"
    served.mkdir()
    _zip(served / "bomb.zip", {**_catalog_entries("team"), "team/zeros.txt": b"\0" * (8 * 2**20)})
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/bomb.zip"
        result = run_cli("list", "--catalog", url)
    finally:
        server.shutdown()
    assert result.exit_code == 1 and "fold, more than the limit of 100-fold" in result.output, result.output
    assert not list(cookiecutter_home.rglob("zeros.txt"))
