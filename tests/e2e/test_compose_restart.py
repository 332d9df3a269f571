"""Compose output that keeps working when things go wrong, on a real Docker Engine: rendered
on a hardened host (umask 077), and an app that crashes and is restarted by Docker.

What the busybox stand-ins can and cannot show: the proxy stand-in forwards plain TCP with
busybox nc (not Envoy's HTTP), the metrics stand-in scrapes the app's /metrics over
localhost (not StatsD pushed to 127.0.0.1:9125, though both cross the same namespace), and
the log shipper tails the shared volume (not Fluentd). The namespace holder is a shell
loop standing in for registry.k8s.io/pause, which cannot be pulled here.
"""

from __future__ import annotations

import urllib.request
import uuid
from typing import Iterator

import pytest

from e2e.stacks import ComposeStack, compose_up, e2e_answers, render, run, wait_until

pytestmark = pytest.mark.e2e

APP = "sne2e-restart"
LISTEN, ADMIN, MONITOR, WEB = 18200, 18201, 18202, 18203  # apart from the other suites'
SIDECARS = ("logship", "proxy", "metrics")
HOLDER = "netns"


@pytest.fixture(scope="module")
def stack(docker_engine, tmp_path_factory) -> Iterator[ComposeStack]:
    # umask 077, as on a hardened host: before the fix config/ was 0700/0600, owned by the
    # user who rendered it, and every sidecar (uids 10001, 65532, 65534) crash-looped on it.
    out = render(e2e_answers(APP, LISTEN), tmp_path_factory.mktemp("restart"), umask=0o077)
    with compose_up(out, APP) as running:  # --wait: every healthcheck has passed
        yield running


def get(path: str) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{LISTEN}{path}", timeout=10) as response:
        return response.read().decode()


def scrapes(stack: ComposeStack) -> int:
    """How many times the metrics sidecar has scraped the app over localhost so far."""
    done = stack.exec("metrics", "/bin/wget", "-q", "-O-", f"http://127.0.0.1:{WEB}/metrics", check=False)
    lines = [line for line in done.stdout.decode().splitlines() if line.startswith("sidecar_scrapes_total ")]
    return int(lines[0].split()[1]) if done.returncode == 0 and lines else -1


def test_config_rendered_under_umask_077_is_readable_by_every_sidecar(stack: ComposeStack) -> None:
    config = stack.folder / "config"
    for path in [config, *config.rglob("*")]:
        assert path.stat().st_mode & 0o777 == (0o755 if path.is_dir() else 0o644), path
    assert (stack.folder / "compose.yaml").stat().st_mode & 0o777 == 0o600  # the rest keeps the umask
    for name, config_file in (("logship", "/etc/logship/ship.sh"), ("proxy", "/etc/proxy/httpd.conf"),
                              ("metrics", "/etc/metrics/scrape.sh")):
        assert stack.exec(name, "/bin/cat", config_file).stdout, name  # read as the sidecar's own uid
        assert stack.inspect(name)["RestartCount"] == 0, name


def test_the_namespace_belongs_to_the_holder_which_publishes_the_proxy_port(stack: ComposeStack) -> None:
    holder = stack.inspect(HOLDER)
    assert set(holder["HostConfig"]["PortBindings"]) == {f"{LISTEN}/tcp"}
    assert holder["Config"]["User"] == "65535:65535" and holder["HostConfig"]["ReadonlyRootfs"] is True
    for name in (APP, *SIDECARS):
        assert stack.inspect(name)["HostConfig"]["NetworkMode"] == f"container:{holder['Id']}", name


def test_after_docker_restarts_a_crashed_app_the_sidecars_still_reach_it(stack: ComposeStack) -> None:
    before = stack.inspect(APP)
    wait_until("a first scrape by the metrics sidecar", lambda: scrapes(stack) > 0)
    # A crash as Docker sees one: the app's process dies by SIGKILL from outside. (`docker kill`
    # would not do: Docker counts it as a manual stop and does not apply the restart policy.)
    run("kill", "-9", str(before["State"]["Pid"]))

    # Docker counts the restart before the new process runs: wait for both.
    def restarted() -> dict | None:
        now = stack.inspect(APP)
        return now if (now["RestartCount"] > before["RestartCount"] and now["State"]["Running"]
                       and now["State"]["StartedAt"] != before["State"]["StartedAt"]) else None

    after = wait_until("Docker restarting the app", restarted, timeout=60)
    hostname = after["Config"]["Hostname"]
    # The restarted app wrote its start line to the shared volume: the shipper ships it.
    wait_until("the restarted app's start line in the shipper's output",
               lambda: stack.logs("logship").count(f"logship: app started on {hostname} as 10001") >= 2)
    # Through the published port on the holder, the proxy, localhost, to the new app process.
    token = uuid.uuid4().hex

    def through_the_proxy() -> str | None:
        try:
            return get(f"/cgi-bin/hello?token={token}")
        except OSError:
            return None

    answer = wait_until("a request through the published proxy port reaching the restarted app",
                        through_the_proxy, timeout=30)
    assert f"hello from the app: /cgi-bin/hello?token={token} from" in answer
    # ... and the line it logged after the restart reaches the log shipper.
    wait_until("the request line in the shipper's output",
               lambda: f"logship: request /cgi-bin/hello?token={token} from" in stack.logs("logship"))
    # The metrics sidecar still scrapes the app over localhost (the count keeps growing).
    seen = scrapes(stack)
    wait_until("the metrics sidecar scraping the restarted app", lambda: scrapes(stack) >= seen + 2)
    # None of the sidecars had to restart, and all of them still share the holder's namespace.
    holder_id = stack.inspect(HOLDER)["Id"]
    for name in SIDECARS:
        sidecar = stack.inspect(name)
        assert sidecar["RestartCount"] == 0 and sidecar["State"]["Running"], name
        assert sidecar["HostConfig"]["NetworkMode"] == f"container:{holder_id}", name
    assert stack.inspect(HOLDER)["RestartCount"] == 0
