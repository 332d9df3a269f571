"""`sidecar-new inject` on the command line: stdin to stdout (a kubectl pipe), --in-place,
--diff, and one-line errors with nothing written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import run_cli

FIXTURES = Path(__file__).parent / "inject_fixtures"
FRONTEND = FIXTURES / "microservices-demo-frontend.yaml"


def sidecar_new(*args: str, input: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)}
    return subprocess.run([sys.executable, "-m", "generator", *args], input=input, capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=60)


def test_a_pipe_in_and_out_adds_then_removes_the_sidecar() -> None:
    original = FRONTEND.read_text()
    added = sidecar_new("inject", "-", "--with", "envoy", input=original)
    assert added.returncode == 0, added.stderr
    assert "name: envoy" in added.stdout and "Service/frontend: port 80 targetPort 8080 -> 10000" in added.stderr
    removed = sidecar_new("inject", "-", "--remove", "envoy", input=added.stdout)
    assert removed.returncode == 0 and removed.stdout == original


def test_in_place_replaces_the_file_and_a_second_run_leaves_it_alone(tmp_path: Path) -> None:
    target = tmp_path / "frontend.yaml"
    target.write_text(FRONTEND.read_text())
    target.chmod(0o640)
    first = run_cli("inject", str(target), "--with", "metrics", "--in-place")
    assert first.exit_code == 0, first.output
    written = target.read_text()
    assert "name: metrics" in written and oct(target.stat().st_mode & 0o777) == "0o640"
    second = run_cli("inject", str(target), "--with", "metrics", "--in-place")
    assert second.exit_code == 0 and "no changes" in second.stderr and target.read_text() == written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["frontend.yaml"]  # no temp file left


def test_diff_shows_the_change_writes_nothing_and_exits_1(tmp_path: Path) -> None:
    target = tmp_path / "frontend.yaml"
    target.write_text(FRONTEND.read_text())
    result = run_cli("inject", str(target), "--with", "envoy", "--diff")
    assert result.exit_code == 1
    assert "+        - name: envoy" in result.stdout and "-    targetPort: 8080" in result.stdout
    assert target.read_text() == FRONTEND.read_text()
    injected = run_cli("inject", str(target), "--with", "envoy", "--in-place")
    assert injected.exit_code == 0
    again = run_cli("inject", str(target), "--with", "envoy", "--diff")
    assert again.exit_code == 0 and "no changes" in again.stdout


def test_errors_are_one_line_and_write_nothing(tmp_path: Path) -> None:
    target = tmp_path / "daemonset.yaml"
    target.write_text((FIXTURES / "examples-newrelic-daemonset.yaml").read_text())
    cases = {
        ("inject", str(target), "--with", "metrics", "--in-place"): "hostNetwork: true",
        ("inject", "-", "--with", "metrics", "--in-place"): "--in-place: needs a FILE",
        ("inject", str(target)): "give --with SIDECAR",
        ("inject", str(target), "--with", "nope"): "--with: 'nope' is not in catalog",
        ("inject", str(tmp_path / "missing.yaml"), "--with", "envoy"): "cannot read",
        ("inject", str(target), "--with", "envoy", "--kubernetes-version", "1.2"): "--kubernetes-version",
    }
    for args, expected in cases.items():
        result = run_cli(*args, input="")
        assert result.exit_code == 1, args
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], (args, result.stderr)
    assert target.read_text() == (FIXTURES / "examples-newrelic-daemonset.yaml").read_text()


def test_the_file_kind_decides_which_options_apply(tmp_path: Path) -> None:
    compose = FIXTURES / "awesome-compose-nginx-flask-mysql.yaml"
    wrong = run_cli("inject", str(compose), "--with", "envoy", "--workload", "Deployment/backend")
    assert wrong.exit_code == 1 and "is a Compose file: name the app with --service" in wrong.stderr
    other = run_cli("inject", str(FRONTEND), "--with", "envoy", "--service", "frontend")
    assert other.exit_code == 1 and "is Kubernetes YAML, not a Compose file" in other.stderr


def test_in_a_terminal_what_the_file_cannot_tell_is_asked(tmp_path: Path) -> None:
    """fluentd needs the app's log folder, which a Deployment does not say: a terminal asks."""
    import pexpect

    target = tmp_path / "frontend.yaml"
    target.write_text(FRONTEND.read_text())
    env = {**os.environ, "TERM": "xterm", "PYTHONPATH": str(Path(__file__).parent.parent)}
    child = pexpect.spawn(sys.executable, ["-m", "generator", "inject", str(target), "--with", "fluentd",
                                           "--in-place"], env=env, encoding="utf-8", timeout=30)
    child.expect_exact("app.log_dir: is required by sidecar 'fluentd'")
    child.expect_exact("app.log_dir")
    child.sendline("/var/log/frontend")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    assert "mountPath: /var/log/frontend" in target.read_text()
