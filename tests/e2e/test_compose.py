"""Generated compose.yaml on a real Docker Engine: the app gets healthy first, the proxy is
the way in over localhost, logs flow through the shared volume, limits and hardening hold."""

from __future__ import annotations

import urllib.request
import uuid
from typing import Iterator

import pytest

from e2e.stacks import ComposeStack, compose_up, docker_time, e2e_answers, render, wait_until

pytestmark = pytest.mark.e2e

APP = "sne2e-compose"  # app name = service name = Compose project
LISTEN, ADMIN, MONITOR, WEB = 18100, 18101, 18102, 18103
SIDECARS = ("logship", "proxy", "metrics")
MiB = 1024 * 1024
# service: (uid, memory limit, CPU limit in nano-CPUs, memory reservation), as the app
# defaults and the e2e catalog's templates ask for them; the memory limit also holds the tmpfs
# volumes the service writes (the app: tmp 64Mi and app-logs 256Mi; metrics: www 1Mi).
EXPECTED = {
    APP: (10001, (512 + 64 + 256) * MiB, 500_000_000, 128 * MiB),
    "logship": (10001, 32 * MiB, 100_000_000, 8 * MiB),
    "proxy": (65532, 48 * MiB, 200_000_000, 8 * MiB),
    "metrics": (65534, (16 + 1) * MiB, 50_000_000, 8 * MiB),
}


@pytest.fixture(scope="module")
def stack(docker_engine, tmp_path_factory) -> Iterator[ComposeStack]:
    out = render(e2e_answers(APP, LISTEN), tmp_path_factory.mktemp("compose"))
    with compose_up(out, APP) as running:  # --wait: every healthcheck has passed
        running.at_start.update({name: running.inspect(name) for name in (APP, *SIDECARS)})
        yield running


def get(path: str) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{LISTEN}{path}", timeout=10) as response:
        return response.read().decode()


def test_sidecars_start_only_after_the_app_is_healthy(stack: ComposeStack) -> None:
    app = stack.at_start[APP]
    assert app["State"]["Health"]["Status"] == "healthy"
    first_ok = min(docker_time(entry["End"]) for entry in app["State"]["Health"]["Log"]
                   if entry["ExitCode"] == 0)
    for name in SIDECARS:
        sidecar = stack.at_start[name]
        assert docker_time(sidecar["State"]["StartedAt"]) > first_ok, f"{name} started before the app was healthy"
        assert sidecar["State"]["Health"]["Status"] == "healthy", name
        assert sidecar["RestartCount"] == 0, name
        # The namespace is the holder's (it never restarts), not the app's.
        assert sidecar["HostConfig"]["NetworkMode"] == app["HostConfig"]["NetworkMode"], name
    assert app["HostConfig"]["NetworkMode"] == f"container:{stack.inspect('netns')['Id']}"


def test_a_request_through_the_published_proxy_port_reaches_the_app_over_localhost(stack: ComposeStack) -> None:
    # The proxy's healthcheck passes only once a request through it reaches the app.
    assert stack.inspect("proxy")["State"]["Health"]["Status"] == "healthy"
    token = uuid.uuid4().hex
    answer = get(f"/cgi-bin/hello?token={token}")
    # The app saw the request come from 127.0.0.1 (IPv4-mapped): the proxy, inside the pod.
    assert f"hello from the app: /cgi-bin/hello?token={token} from" in answer
    assert "127.0.0.1" in answer
    # Only the proxy's port is published; the app's own port is not reachable from outside.
    # (They are published on the namespace holder, which the app and the sidecars join.)
    assert set(stack.inspect("netns")["HostConfig"]["PortBindings"]) == {f"{LISTEN}/tcp"}
    assert not stack.inspect(APP)["HostConfig"]["PortBindings"]


def test_a_line_the_app_logs_is_shipped_by_the_log_sidecar_through_the_shared_volume(stack: ComposeStack) -> None:
    hostname = stack.inspect(APP)["Config"]["Hostname"]
    wait_until("the app's start line in the shipper's output",
               lambda: f"logship: app started on {hostname} as 10001" in stack.logs("logship"))
    token = uuid.uuid4().hex
    get(f"/cgi-bin/hello?token={token}")
    wait_until("the request line in the shipper's output",
               lambda: f"logship: request /cgi-bin/hello?token={token} from" in stack.logs("logship"))
    # The shipper only reads the app's logs.
    mounts = {m["Destination"]: m for m in stack.inspect("logship")["Mounts"]}
    assert mounts["/var/log/app"]["RW"] is False
    refused = stack.exec("logship", "/bin/touch", "/var/log/app/x", check=False)
    assert refused.returncode != 0 and b"Read-only file system" in refused.stderr


def test_the_metrics_sidecar_serves_the_apps_metrics_scraped_over_localhost(stack: ComposeStack) -> None:
    def scraped() -> str | None:
        done = stack.exec("metrics", "/bin/wget", "-q", "-O-", f"http://127.0.0.1:{WEB}/metrics", check=False)
        return done.stdout.decode() if done.returncode == 0 else None

    metrics = wait_until("/metrics on the metrics sidecar", scraped)
    assert "sidecar_new_e2e_app_up 1" in metrics  # from the app's own /metrics
    assert "sidecar_scrapes_total" in metrics


@pytest.mark.parametrize("service", EXPECTED)
def test_resource_limits_are_in_force(stack: ComposeStack, service: str) -> None:
    _, memory, nano_cpus, reservation = EXPECTED[service]
    host = stack.inspect(service)["HostConfig"]
    assert (host["Memory"], host["NanoCpus"], host["MemoryReservation"]) == (memory, nano_cpus, reservation)
    # What the kernel enforces inside the container (cgroup v2, else v1).
    limit = stack.exec(service, "/bin/sh", "-c", "cat /sys/fs/cgroup/memory.max 2>/dev/null"
                       " || cat /sys/fs/cgroup/memory/memory.limit_in_bytes")
    assert int(limit.stdout) == memory


@pytest.mark.parametrize("service", EXPECTED)
def test_every_container_is_read_only_unprivileged_and_runs_as_its_user(stack: ComposeStack, service: str) -> None:
    uid = EXPECTED[service][0]
    container = stack.inspect(service)
    assert container["HostConfig"]["ReadonlyRootfs"] is True
    assert container["HostConfig"]["CapDrop"] == ["ALL"]
    assert "no-new-privileges:true" in container["HostConfig"]["SecurityOpt"]
    assert container["Config"]["User"] == f"{uid}:10001"
    refused = stack.exec(service, "/bin/touch", "/e2e-probe", check=False)
    assert refused.returncode != 0 and b"Read-only file system" in refused.stderr
    assert stack.exec(service, "/bin/id", "-u").stdout.decode().strip() == str(uid)
    status = stack.exec(service, "/bin/cat", "/proc/self/status").stdout.decode()
    assert "CapEff:\t0000000000000000" in status and "NoNewPrivs:\t1" in status
