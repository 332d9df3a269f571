"""`inject` on files the suite did not generate, run for real: a hand-written compose file on
Docker Engine and a hand-written Deployment as a podman pod, each with sidecars from the e2e
catalog injected by the CLI (--in-place), then taken out again byte for byte."""

from __future__ import annotations

import sys
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest

from e2e.stacks import APP_IMAGE, APP_PORT, CATALOG, ComposeStack, PodStack, compose_up, podman_play, run, wait_until

pytestmark = pytest.mark.e2e

COMPOSE_PROJECT = "sne2e-inject"
POD_APP = "sne2e-inject-pod"
PUBLISHED, LISTEN, ADMIN, MONITOR = 18300, 18301, 18302, 18303  # apart from the other e2e tests'
POD_LISTEN, POD_ADMIN = 28300, 28301

# A team's own compose file: the app, published on the host, and a client that calls it by name.
COMPOSE = f"""\
# Written by hand, not by sidecar-new.
services:
  web:
    image: {APP_IMAGE}
    ports:
      - "127.0.0.1:{PUBLISHED}:{APP_PORT}"   # the way in
  client:
    image: {APP_IMAGE}
    command: ["/bin/sleep", "3600"]
"""

DEPLOYMENT = f"""\
# Written by hand, not by sidecar-new.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {POD_APP}
spec:
  replicas: 1
  selector:
    matchLabels: {{app.kubernetes.io/name: {POD_APP}}}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: {POD_APP}
    spec:
      containers:
      - name: web
        image: {APP_IMAGE}
        ports:
        - containerPort: {APP_PORT}
        readinessProbe:
          httpGet: {{path: /healthz, port: {APP_PORT}}}
"""


def inject(target: Path, *args: str) -> None:
    run(sys.executable, "-m", "generator", "inject", str(target), "--catalog", str(CATALOG), "--in-place", *args,
        timeout=60)


def get(port: int, path: str) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
        return response.read().decode()


@pytest.fixture(scope="module")
def compose_stack(docker_engine, tmp_path_factory) -> Iterator[ComposeStack]:
    folder = tmp_path_factory.mktemp("inject-compose")
    (folder / "compose.yaml").write_text(COMPOSE)
    inject(folder / "compose.yaml", "--service", "web", "--with", "proxy", "--with", "logship",
           "--set", "app.log_dir=/var/log/app", "--set", f"sidecars.proxy.listen_port={LISTEN}",
           "--set", f"sidecars.proxy.admin_port={ADMIN}", "--set", f"sidecars.logship.monitor_port={MONITOR}")
    with compose_up(folder, COMPOSE_PROJECT) as running:  # --wait: the sidecars' healthchecks passed
        yield running


def test_compose_the_published_port_reaches_the_app_through_the_injected_proxy(compose_stack: ComposeStack) -> None:
    assert get(PUBLISHED, "/healthz").strip() == "ok"
    # The proxy, not the app, listens behind the published port: the app's own port is not published.
    assert "web-proxy" in compose_stack.compose("ps", "--services").stdout.decode()
    listening = compose_stack.exec("web", "/bin/netstat", "-ltn").stdout.decode()
    assert f":{LISTEN} " in listening and f":{APP_PORT} " in listening


def test_compose_other_services_still_reach_the_app_by_its_name(compose_stack: ComposeStack) -> None:
    reply = compose_stack.exec("client", "/bin/wget", "-q", "-O-", f"http://web:{APP_PORT}/healthz")
    assert reply.stdout.decode().strip() == "ok"


def test_compose_the_app_log_reaches_the_injected_log_shipper(compose_stack: ComposeStack) -> None:
    wait_until("the app's start line in the log shipper's output",
               lambda: "logship: app started on" in compose_stack.logs("web-logship"))


def test_compose_remove_gives_the_hand_written_file_back(tmp_path: Path) -> None:
    compose = tmp_path / "compose.yaml"
    compose.write_text(COMPOSE)
    inject(compose, "--service", "web", "--with", "proxy", "--set", f"sidecars.proxy.listen_port={LISTEN}",
           "--set", f"sidecars.proxy.admin_port={ADMIN}")
    inject(compose, "--service", "web", "--remove", "proxy")
    assert compose.read_text() == COMPOSE and sorted(p.name for p in tmp_path.iterdir()) == ["compose.yaml"]


@pytest.fixture(scope="module")
def pod(podman_engine, tmp_path_factory) -> Iterator[PodStack]:
    manifest = tmp_path_factory.mktemp("inject-pod") / "deployment.yaml"
    manifest.write_text(DEPLOYMENT)
    # 1.28: podman runs no native sidecars (containers/podman#25157), see test_podman.py.
    inject(manifest, "--with", "proxy", "--kubernetes-version", "1.28",
           "--set", f"sidecars.proxy.listen_port={POD_LISTEN}", "--set", f"sidecars.proxy.admin_port={POD_ADMIN}")
    with podman_play(manifest, POD_APP) as running:
        wait_until("the injected proxy's readiness (a request through it reaches the app)", lambda: running.exec(
            "proxy", "/bin/wget", "-q", "-O-", f"http://127.0.0.1:{POD_ADMIN}/ready.sh", check=False
        ).returncode == 0)
        yield running


def test_pod_a_request_to_the_injected_proxy_reaches_the_app(pod: PodStack) -> None:
    assert set(pod.containers) >= {"web", "proxy"}
    reply = pod.exec("web", "/bin/wget", "-q", "-O-", f"http://127.0.0.1:{POD_LISTEN}/healthz")
    assert reply.stdout.decode().strip() == "ok"
    security = pod.inspect("proxy")["Config"]["User"]
    assert security.startswith("65532")  # the template's user, as `new` renders it


def test_pod_remove_gives_the_hand_written_deployment_back(tmp_path: Path) -> None:
    manifest = tmp_path / "deployment.yaml"
    manifest.write_text(DEPLOYMENT)
    inject(manifest, "--with", "proxy", "--kubernetes-version", "1.28")
    inject(manifest, "--remove", "proxy")
    assert manifest.read_text() == DEPLOYMENT
