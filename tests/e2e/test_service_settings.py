"""A service's own settings on the real engines: a plain environment variable, a Secret's key
and a custom user (with a writable folder beside the read-only root) reach the app process,
in Compose (the env file the user keeps) and in a podman pod (a podman secret, read by
`kube play` for the rendered secretKeyRef); no generated file holds the secret's value.

podman 4.3's `kube play` reads a secretKeyRef from a podman secret whose data is JSON of
key -> base64 value (what it stores for a Secret it plays), not from a `kind: Secret` document
in the same file; so the test creates that secret with `podman secret create`, as a user of
podman would, and removes it afterwards.
"""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest

from e2e.stacks import APP_IMAGE, APP_PORT, PREFIX, compose_up, kustomize, podman_play, render, run, wait_until

pytestmark = pytest.mark.e2e

APP = "sne2e-settings"
# Apart from the other suites', and per engine: both stacks of this module are up together.
COMPOSE_PORTS, POD_PORTS = (28600, 28601), (28610, 28611)
UID, GID = 20001, 20002
SECRET = f"s3cr3t-{uuid.uuid4().hex[:12]}"  # a value no file could hold by chance
SECRET_NAME = f"{PREFIX}settings-db"


def answers(targets: tuple[str, ...], ports: tuple[int, int], kubernetes_version: str = "1.33") -> dict[str, Any]:
    return {
        "app": {"name": APP, "image": APP_IMAGE, "port": APP_PORT, "health_path": "/healthz",
                "health_command": ["/bin/wget", "-q", "--spider", f"http://127.0.0.1:{APP_PORT}/healthz"],
                "log_dir": "/var/log/app", "replicas": 1,
                "env": {"LOG_LEVEL": "debug", "DB_PASSWORD": {"secret": f"{SECRET_NAME}/password"}},
                "user": {"uid": UID, "gid": GID}, "writable_paths": ["/var/cache/app"]},
        # The proxy stand-in is the way in, so the app's own port is published nowhere.
        "sidecars": [{"name": "proxy", "params": {"listen_port": ports[0], "admin_port": ports[1]}}],
        "targets": list(targets),
        "kubernetes": {"version": kubernetes_version},
    }


def environ(exec_in) -> dict[str, str]:
    """The app process's environment (PID 1 of its container), as the app itself sees it."""
    raw = exec_in("/bin/cat", "/proc/1/environ").stdout.decode()
    return dict(item.split("=", 1) for item in raw.split("\0") if "=" in item)


def assert_settings_reach_the_app(exec_in) -> None:
    env = environ(exec_in)
    assert env["LOG_LEVEL"] == "debug"
    assert env["DB_PASSWORD"] == SECRET
    assert exec_in("/bin/id", "-u").stdout.decode().strip() == str(UID)
    assert exec_in("/bin/id", "-g").stdout.decode().strip() == str(GID)
    assert exec_in("/bin/touch", "/var/cache/app/written").returncode == 0  # the writable path
    assert exec_in("/bin/touch", "/written", check=False).returncode != 0  # the root stays read-only


def assert_no_file_holds_the_secret(out: Path, user_file: Path | None = None) -> None:
    holding = [str(p.relative_to(out)) for p in out.rglob("*") if p.is_file() and p != user_file
               and SECRET.encode() in p.read_bytes()]
    assert holding == []


@pytest.fixture(scope="module")
def compose_out(docker_engine, tmp_path_factory) -> Iterator[tuple[Any, Path]]:
    out = render(answers(("compose",), COMPOSE_PORTS), tmp_path_factory.mktemp("settings-compose"))
    user_file = out / "env" / f"{APP}.env"  # the file the user keeps; sidecar-new never writes it
    user_file.write_text(f"DB_PASSWORD={SECRET}\n")
    with compose_up(out, APP) as stack:
        yield stack, out


def test_compose_gives_the_app_its_env_its_secret_and_its_user(compose_out) -> None:
    stack, out = compose_out
    assert_settings_reach_the_app(lambda *command, check=True: stack.exec(APP, *command, check=check))
    assert_no_file_holds_the_secret(out, out / "env" / f"{APP}.env")


@pytest.fixture(scope="module")
def pod_out(podman_engine, tmp_path_factory) -> Iterator[tuple[Any, Path]]:
    # 1.28: podman runs no native sidecars (tests/e2e/test_podman.py says why).
    out = render(answers(("kubernetes",), POD_PORTS, "1.28"), tmp_path_factory.mktemp("settings-podman"))
    data = tmp_path_factory.mktemp("secret") / "secret.json"
    data.write_text(json.dumps({"password": base64.b64encode(SECRET.encode()).decode()}))
    run("podman", "secret", "rm", SECRET_NAME, check=False)  # a leftover of an interrupted run
    run("podman", "secret", "create", SECRET_NAME, str(data))
    data.unlink()
    try:
        manifest = kustomize(out)
        with podman_play(manifest, APP) as pod:
            wait_until("the app's health endpoint", lambda: pod.exec(
                APP, "/bin/wget", "-q", "--spider", f"http://127.0.0.1:{APP_PORT}/healthz", check=False
            ).returncode == 0)
            yield pod, out
    finally:
        run("podman", "secret", "rm", SECRET_NAME, check=False)


def test_a_pod_gives_the_app_its_env_its_secret_and_its_user(pod_out) -> None:
    pod, out = pod_out
    assert_settings_reach_the_app(lambda *command, check=True: pod.exec(APP, *command, check=check))
    assert_no_file_holds_the_secret(out)
