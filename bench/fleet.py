"""Fleet benchmark: generate N services from a git catalog at v1, edit some by hand, move the
catalog to v2 (an image tag and a probe changed), then time `sidecar-new update` over all of
them, and a second, no-op update. Budget: 500 services in under 60 s on this 2-core machine.

Run `python bench/fleet.py` (see --help). Exits 1 when the budget is missed or an update
does not report every service as expected.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUDGET_S = 60.0
# The sidecar mixes the services use, in turn (names from the built-in catalog).
MIXES = (["envoy"], ["metrics"], ["fluentd"], ["envoy", "metrics"], ["fluentd", "envoy", "metrics"])


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com",
                           "-c", "init.defaultBranch=main", *args], cwd=repo, check=True,
                          capture_output=True, text=True)
    return done.stdout.strip()


def make_catalog(repo: Path) -> None:
    """The built-in catalog in git: tag v1, then v2 with its first image's tag and a probe
    period of the envoy template changed."""
    repo.mkdir(parents=True)
    shutil.copy(ROOT / "catalog.yaml", repo / "catalog.yaml")
    shutil.copytree(ROOT / "templates", repo / "templates")
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "v1")
    git(repo, "tag", "v1")
    index = (repo / "catalog.yaml").read_text()
    (repo / "catalog.yaml").write_text(re.sub(r"(image: \S+)", r"\1-b2", index, count=1)
                                       .replace('version: "', 'version: "2.', 1))
    envoy = repo / "templates" / "envoy" / "sidecar.yaml"
    text = envoy.read_text()
    envoy.write_text(re.sub(r"(period: )(\d+)", lambda m: f"{m[1]}{int(m[2]) + 1}", text, count=1))
    git(repo, "commit", "-q", "-am", "v2")
    git(repo, "tag", "v2")


def make_services(url: str, folder: Path, count: int, edit_every: int) -> int:
    """`count` services rendered in-process from the catalog at v1 (what `new` would write);
    every `edit_every`-th gets a hand edit far from what v2 changes. Returns the edit count."""
    sys.path.insert(0, str(ROOT))
    from generator.catalog.fetch import Source, load_source
    from generator.input.spec import parse_spec
    from generator.output.writer import write
    from generator.pipeline import build

    catalog = load_source(Source(url, "v1"))
    edited = 0
    for i in range(count):
        sidecars = MIXES[i % len(MIXES)]
        app = {"name": f"svc-{i:04}", "image": f"registry.example.com/team/svc-{i:04}:1.{i % 7}.0",
               "metrics_path": "/metrics"}
        if "fluentd" in sidecars:
            app["log_dir"] = "/var/log/app"
        answers = {"app": app, "sidecars": list(sidecars), "targets": ["compose", "kubernetes"]}
        dest = folder / app["name"]
        write(build(parse_spec(answers, catalog), catalog), dest)
        if edit_every and i % edit_every == 0:
            deployment = dest / "k8s" / "deployment.yaml"
            deployment.write_text(deployment.read_text().replace("revisionHistoryLimit: 5", "revisionHistoryLimit: 9", 1))
            edited += 1
    return edited


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str, int]:
    """(wall s, CPU s of the process and its workers and git runs, output, exit status)."""
    _children_cpu()
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    return wall, _children_cpu(), done.stdout + done.stderr, done.returncode


_last_cpu = [0.0]


def _children_cpu() -> float:
    """CPU seconds of the children waited for since the last call."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = usage.ru_utime + usage.ru_stime
    spent, _last_cpu[0] = total - _last_cpu[0], total
    return spent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=500, help="fleet size (default 500)")
    parser.add_argument("--jobs", type=int, default=None, help="update --jobs (default: its own, the CPU count)")
    parser.add_argument("--edit-every", type=int, default=10, help="hand-edit every Nth service (default 10)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder and print it")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sidecar-new-fleet-"))
    env = {**os.environ, "HOME": str(work / "home"), "XDG_CACHE_HOME": str(work / "cache"),
           "PYTHONPATH": str(ROOT)}
    os.environ.update({k: env[k] for k in ("HOME", "XDG_CACHE_HOME")})
    try:
        repo = work / "catalog"
        make_catalog(repo)
        url = f"file://{repo}"
        start = time.perf_counter()
        edited = make_services(url, work / "services", args.services, args.edit_every)
        made = time.perf_counter() - start
        folders = sorted(str(p) for p in (work / "services").iterdir())
        cmd = [sys.executable, "-m", "generator", "update", *folders]
        if args.jobs:
            cmd += ["--jobs", str(args.jobs)]
        load_before = os.getloadavg()[0]
        wall, cpu, output, status = timed(cmd, env)
        again_wall, again_cpu, again_output, again_status = timed(cmd, env)
        load_after = os.getloadavg()[0]
        summary = output.strip().splitlines()[-1] if output.strip() else ""
        again_summary = again_output.strip().splitlines()[-1] if again_output.strip() else ""
        print(f"fleet: {args.services} services ({edited} edited by hand) generated in {made:.1f} s")
        print(f"update to v2:     {wall:6.1f} s wall, {cpu:6.1f} s CPU  -> {summary}")
        print(f"second (no-op):   {again_wall:6.1f} s wall, {again_cpu:6.1f} s CPU  -> {again_summary}")
        print(f"per service:      {wall / args.services * 1000:.0f} ms wall; {os.cpu_count()} CPUs; "
              f"load average {load_before:.1f} before, {load_after:.1f} after")
        problems = []
        if status != 0 or summary != f"{args.services} services: {args.services} updated":
            problems.append(f"the update did not update every service (exit {status}): {output[-400:]}")
        if again_status != 0 or again_summary != f"{args.services} services: {args.services} unchanged":
            problems.append(f"the second update was not a no-op (exit {again_status}): {again_output[-400:]}")
        if args.services >= 500 and wall >= BUDGET_S:
            problems.append(f"budget missed: {wall:.1f} s >= {BUDGET_S:.0f} s")
        for problem in problems:
            print(f"FAIL: {problem}")
        return 1 if problems else 0
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
