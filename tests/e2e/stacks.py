"""Running generated output on real engines: a Compose project and a podman pod, each
torn down on the way out (also when the body raised), plus what either left behind."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

import yaml

CATALOG = Path(__file__).parent / "catalog"
PREFIX = "sne2e-"  # every project, pod and app name the suite creates starts with it


def run(*command: str, timeout: float = 120, check: bool = True, cwd: Path | None = None,
        stdin: bytes | None = None, umask: int | None = None) -> subprocess.CompletedProcess:
    """Run a command; on failure (with check) raise AssertionError carrying its output."""
    try:
        done = subprocess.run(command, cwd=cwd, input=stdin, capture_output=True, timeout=timeout,
                              umask=-1 if umask is None else umask)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"{' '.join(command)}: still running after {timeout} s") from None
    if check and done.returncode:
        raise AssertionError(f"{' '.join(command)}: exit {done.returncode}\n{_text(done)}")
    return done


def _text(done: subprocess.CompletedProcess) -> str:
    return (done.stdout + done.stderr).decode(errors="replace").strip()


def wait_until(what: str, probe: Callable[[], Any], timeout: float = 30, every: float = 0.5) -> Any:
    """Poll probe() until it returns something truthy; fail naming `what` after timeout."""
    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"{what}: not after {timeout} s (last: {last!r})")


APP_IMAGE = "localhost/sidecar-new-test/app:1.0"  # built by conftest; pinned (no :latest)
APP_PORT = 8080  # fixed in the app image (tests/e2e/app)
PAUSE_IMAGE = "localhost/sidecar-new-test/pause:1.0"  # built by conftest; the e2e catalog names it
# Real programs from Debian's packages, built by scripts/e2e-setup.sh (no registry is reachable).
PROMETHEUS_IMAGE = "localhost/sidecar-new-test/prometheus:1.0"
NGINX_IMAGE = "localhost/sidecar-new-test/nginx:1.0"
PGBOUNCER_IMAGE = "localhost/sidecar-new-test/pgbouncer:1.0"
POSTGRES_IMAGE = "localhost/sidecar-new-test/postgresql:1.1"


def e2e_answers(name: str, first_port: int, kubernetes_version: str = "1.33",
                targets: tuple[str, ...] = ("compose", "kubernetes")) -> dict[str, Any]:
    """The app image with all three stand-ins. Sidecar ports are first_port..+3, distinct per
    test: podman publishes every containerPort on the host. One replica: a second pod
    would fight the first for those ports."""
    return {
        "app": {"name": name, "image": APP_IMAGE, "port": APP_PORT, "health_path": "/healthz",
                "health_command": ["/bin/wget", "-q", "--spider", f"http://127.0.0.1:{APP_PORT}/healthz"],
                "log_dir": "/var/log/app", "metrics_path": "/metrics", "replicas": 1},
        "sidecars": [
            {"name": "logship", "params": {"monitor_port": first_port + 2}},
            {"name": "proxy", "params": {"listen_port": first_port, "admin_port": first_port + 1}},
            {"name": "metrics", "params": {"web_port": first_port + 3}},
        ],
        "targets": list(targets),
        "kubernetes": {"version": kubernetes_version},
    }


def kustomize(out: Path) -> Path:
    """The kustomize build of the rendered base: what `kubectl apply -k` would send."""
    manifest = out / "all.yaml"
    manifest.write_bytes(run("kubectl", "kustomize", str(out / "k8s"), timeout=60).stdout)
    return manifest


def render(answers: dict[str, Any], folder: Path, umask: int | None = None, catalog: Path = CATALOG) -> Path:
    """Render through the real CLI with the e2e catalog (exercises --catalog PATH) or another,
    under `umask` when given (as on a hardened host)."""
    folder.mkdir(parents=True, exist_ok=True)
    answers_file = folder / "answers.yaml"
    answers_file.write_text(yaml.safe_dump(answers, sort_keys=False))
    out = folder / "out"
    run(sys.executable, "-m", "generator", "new", "--answers", str(answers_file), "--catalog", str(catalog),
        "--no-input", "--output", str(out), timeout=60, umask=umask)
    return out


def docker_time(stamp: str) -> datetime:
    """Docker's RFC 3339 times carry nanoseconds; datetime takes microseconds."""
    head, _, rest = stamp.rstrip("Z").partition(".")
    return datetime.fromisoformat(f"{head}.{(rest or '0')[:6]:0<6}").replace(tzinfo=timezone.utc)


# --- Compose -------------------------------------------------------------------------------

@dataclass
class ComposeStack:
    folder: Path
    project: str
    # `docker inspect` right after `up`: health logs keep only the last five checks.
    at_start: dict[str, dict[str, Any]] = field(default_factory=dict)

    def container(self, service: str) -> str:
        return f"{self.project}-{service}-1"

    def inspect(self, service: str) -> dict[str, Any]:
        return json.loads(run("docker", "inspect", self.container(service)).stdout)[0]

    def logs(self, service: str) -> str:
        return _text(run("docker", "logs", self.container(service)))

    def exec(self, service: str, *command: str, check: bool = True) -> subprocess.CompletedProcess:
        return run("docker", "exec", self.container(service), *command, check=check, timeout=30)

    def compose(self, *args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
        return run("docker-compose", "-p", self.project, *args, cwd=self.folder, timeout=timeout, check=check)


@contextmanager
def compose_up(folder: Path, project: str, wait: bool = True) -> Iterator[ComposeStack]:
    """`docker-compose up -d` (--wait: every healthcheck passed), then always `down -v`."""
    stack = ComposeStack(folder, project)
    # -t 0: busybox as PID 1 ignores SIGTERM, so each container would take the full 10 s.
    down = ("down", "-v", "-t", "0", "--remove-orphans")
    stack.compose(*down)  # leftovers of an interrupted earlier run
    try:
        up = stack.compose("up", "-d", *(("--wait", "--wait-timeout", "90") if wait else ()),
                           timeout=150, check=False)
        if up.returncode:
            logs = _text(stack.compose("logs", "--no-color", check=False))
            raise AssertionError(f"docker-compose up: exit {up.returncode}\n{_text(up)}\n{logs}")
        yield stack
    except BaseException:
        stack.compose(*down, check=False)  # keep the original error in front
        raise
    stack.compose(*down)


def compose_leftovers(prefix: str = PREFIX) -> list[str]:
    """Containers, volumes and networks of any Compose project whose name starts with prefix."""
    found = []
    for kind, listing in (("container", ("ps", "-a")), ("volume", ("volume", "ls")),
                          ("network", ("network", "ls"))):
        rows = run("docker", *listing, "--filter", "label=com.docker.compose.project", "--format",
                   '{{.Label "com.docker.compose.project"}} {{.Name}}' if kind != "container"
                   else '{{.Label "com.docker.compose.project"}} {{.Names}}').stdout.decode().split("\n")
        found += [f"{kind} {row.split()[1]}" for row in rows if row.startswith(prefix)]
    return found


# --- podman kube play ----------------------------------------------------------------------

@dataclass
class PodStack:
    manifest: Path
    pod: str
    containers: dict[str, str]  # Kubernetes container name -> podman container name

    def inspect(self, container: str) -> dict[str, Any]:
        return json.loads(run("podman", "inspect", self.containers[container]).stdout)[0]

    def logs(self, container: str) -> str:
        return _text(run("podman", "logs", self.containers[container]))

    def exec(self, container: str, *command: str, check: bool = True) -> subprocess.CompletedProcess:
        return run("podman", "exec", self.containers[container], *command, check=check, timeout=30)


def manifest_volumes(documents: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """(emptyDir names, ConfigMap names): podman turns each into a named volume."""
    deployment = next(d for d in documents if d and d.get("kind") == "Deployment")
    volumes = deployment["spec"]["template"]["spec"].get("volumes", [])
    return ([v["name"] for v in volumes if "emptyDir" in v],
            [v["configMap"]["name"] for v in volumes if "configMap" in v])


@contextmanager
def podman_play(manifest: Path, app: str) -> Iterator[PodStack]:
    """`podman kube play` a kustomize build, then always `kube down` and remove the
    ConfigMap volumes, which podman 4.3 leaves behind."""
    scratch, config_maps = manifest_volumes(list(yaml.safe_load_all(manifest.read_text())))

    def down(scratch: list[str] | tuple = scratch) -> None:
        run("podman", "kube", "down", str(manifest), timeout=60, check=False)
        for pod in _labelled_pods(app):  # in case kube down could not
            run("podman", "pod", "rm", "-f", "-t", "0", pod, timeout=60, check=False)
        for volume in (*config_maps, *scratch):
            run("podman", "volume", "rm", "-f", volume, timeout=30, check=False)

    down(scratch=())  # leftovers of an interrupted earlier run (named after this app)
    # emptyDir volume names are global in podman (tmp, app-logs): never take over, or later
    # delete, a volume this run did not create.
    taken = [v for v in scratch if run("podman", "volume", "exists", v, check=False).returncode == 0]
    assert not taken, (f"podman volumes {taken} already exist; the pod would share them. "
                       f"Remove them (podman volume rm {' '.join(taken)}) and run again")
    try:
        # A timeout always: an init container that never exits blocks `kube play` forever.
        run("podman", "kube", "play", str(manifest), timeout=90)
        pod = _labelled_pods(app)
        assert len(pod) == 1, f"podman kube play: expected one pod labelled {app}, got {pod}"
        names = run("podman", "ps", "-a", "--filter", f"pod={pod[0]}", "--format",
                    "{{.Names}}").stdout.decode().split()
        containers = {name.removeprefix(f"{pod[0]}-"): name for name in names
                      if name.startswith(f"{pod[0]}-")}
        yield PodStack(manifest, pod[0], containers)
    finally:
        down()


def _labelled_pods(app: str) -> list[str]:
    return run("podman", "pod", "ps", "--filter", f"label=app.kubernetes.io/name={app}",
               "--format", "{{.Name}}").stdout.decode().split()


def podman_leftovers(prefix: str = PREFIX, volumes: tuple[str, ...] = ()) -> list[str]:
    """Pods and containers named prefix*, and volumes named prefix* or in `volumes`."""
    pods = run("podman", "pod", "ps", "--format", "{{.Name}}").stdout.decode().split()
    containers = run("podman", "ps", "-a", "--format", "{{.Names}}").stdout.decode().split()
    names = run("podman", "volume", "ls", "--format", "{{.Name}}").stdout.decode().split()
    return ([f"pod {p}" for p in pods if p.startswith(prefix)]
            + [f"container {c}" for c in containers if c.startswith(prefix)]
            + [f"volume {v}" for v in names if v.startswith(prefix) or v in volumes])


# --- real programs beside a stack (Prometheus, ...) ------------------------------------------

@contextmanager
def container(engine: str, name: str, image: str, options: tuple[str, ...] = (),
              command: tuple[str, ...] = ()) -> Iterator[str]:
    """`ENGINE run -d --name NAME OPTIONS IMAGE COMMAND`, always removed on the way out (test
    failed or not). Hardened as the generated services are: read-only root, no capabilities,
    no new privileges."""
    remove = (engine, "rm", "-f", *(("-t", "0") if engine == "podman" else ()), name)  # docker rm has no -t
    run(*remove, check=False)  # a leftover of an interrupted earlier run
    try:
        run(engine, "run", "-d", "--name", name, "--read-only", "--cap-drop", "ALL",
            "--security-opt", "no-new-privileges", *options, image, *command, timeout=60)
        yield name
    finally:
        run(*remove, check=False)
