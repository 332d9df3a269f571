"""The nginx and pgbouncer templates' own generated configs, run by the real programs (Debian's
packages, built into local images by scripts/e2e-setup.sh) in a real Compose project: a TLS
request through NGINX reaches the app, and a client in the pod's network namespace reaches a
real PostgreSQL through PgBouncer, as the app would on localhost.

The catalog is the built-in one with only the images swapped for the local builds (no registry is
reachable): the templates, their config files and the wiring are the ones users get. PostgreSQL
runs in the pod's network namespace on 127.0.0.1 (joined to the Compose namespace holder), so
no traffic leaves loopback; in a real deployment it is a server elsewhere (db_host).
What this does not show: Kubernetes Secret volumes (podman 4.3's kube play is not used here);
the Compose secrets are the files the README tells users to put under secrets/. It found that
PgBouncer's pg_isready probe made no attempt at all under the template's uid, which has no
/etc/passwd entry in the image (libpq could not name the user): the probe now names one (-U).
"""

from __future__ import annotations

import hashlib
import shutil
import socket
import ssl
import subprocess
import urllib.request
import uuid
from pathlib import Path
from typing import Iterator

import pytest
import yaml

from e2e.conftest import need_image
from e2e.stacks import (APP_IMAGE, APP_PORT, NGINX_IMAGE, PAUSE_IMAGE, PGBOUNCER_IMAGE, POSTGRES_IMAGE,
                        ComposeStack, compose_up, container, render, run, wait_until)
from generator.catalog.loader import builtin_root

pytestmark = pytest.mark.e2e

APP = "sne2e-realproxies"
HTTPS, HEALTH, POOL = 18600, 18601, 18602  # apart from the other suites'
DB, USER, PASSWORD = "shop", "shop", "s3cret-" + uuid.uuid4().hex[:8]


def local_catalog(folder: Path) -> Path:
    """The built-in nginx and pgbouncer templates, as they are, with the local images."""
    index = yaml.safe_load((builtin_root() / "catalog.yaml").read_text())
    images = {"nginx": NGINX_IMAGE, "pgbouncer": PGBOUNCER_IMAGE}
    entries = [dict(e, image=images[e["name"]]) for e in index["templates"] if e["name"] in images]
    for entry in entries:
        entry.pop("conflicts", None), entry.pop("in_front_of", None)
        shutil.copytree(builtin_root() / entry["path"], folder / entry["path"])
    (folder / "catalog.yaml").write_text(yaml.safe_dump(
        {"name": "e2e-real", "version": "1.0.0", "namespace_holder": PAUSE_IMAGE, "templates": entries}))
    return folder


def psql(port: int, query: str, user: str = "postgres", db: str = "postgres",
         password: str = PASSWORD) -> subprocess.CompletedProcess:
    """psql on 127.0.0.1:port from inside the pod's network namespace, as the app connects."""
    return run("docker", "exec", "-e", f"PGPASSWORD={password}", f"{APP}-postgres", "psql", "-h", "127.0.0.1",
               "-p", str(port), "-U", user, "-d", db, "-tAc", query, check=False, timeout=30)


def self_signed(folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True)
    crt, key = folder / "tls.crt", folder / "tls.key"
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
        "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", str(key), "-out", str(crt))
    for path in (folder, crt, key):  # compose secrets are bind mounts: read as nginx's own uid
        path.chmod(0o755 if path.is_dir() else 0o644)
    return crt, key


@pytest.fixture(scope="module")
def stack(docker_engine, tmp_path_factory) -> Iterator[ComposeStack]:
    for image in (NGINX_IMAGE, PGBOUNCER_IMAGE, POSTGRES_IMAGE):
        need_image("docker", image)
    folder = tmp_path_factory.mktemp("real")
    answers = {
        "app": {"name": APP, "image": APP_IMAGE, "port": APP_PORT, "health_path": "/healthz",
                "health_command": ["/bin/wget", "-q", "--spider", f"http://127.0.0.1:{APP_PORT}/healthz"],
                "log_dir": "/var/log/app"},
        "sidecars": [
            {"name": "nginx", "params": {"tls_secret": "shop-tls", "listen_port": HTTPS, "health_port": HEALTH}},
            {"name": "pgbouncer", "params": {"db_host": "127.0.0.1", "db_name": DB, "credentials_secret": "shop-db",
                                             "listen_port": POOL, "server_tls_sslmode": "disable"}},
        ],
        "targets": ["compose"],
    }
    out = render(answers, folder, catalog=local_catalog(folder / "catalog"))
    self_signed(out / "secrets" / "shop-tls")
    userlist = out / "secrets" / "shop-db" / "userlist.txt"
    userlist.parent.mkdir(parents=True)
    userlist.write_text(f'"{USER}" "{PASSWORD}"\n')
    userlist.parent.chmod(0o755), userlist.chmod(0o644)
    with compose_up(out, APP, wait=False) as running:
        holder = running.container("netns")
        # PostgreSQL in the pod's namespace, on 127.0.0.1:5432, with the app's user and database.
        script = (f"initdb -D /tmp/data --no-locale -E UTF8 -U postgres -A scram-sha-256 --pwfile=/dev/stdin "
                  f">/tmp/initdb.log <<EOF\n{PASSWORD}\nEOF\n"
                  f"exec postgres -D /tmp/data -k /tmp -c listen_addresses=127.0.0.1 -c port=5432")
        with container("docker", f"{APP}-postgres", POSTGRES_IMAGE,
                       ("--network", f"container:{holder}", "--user", "10001:10001", "--tmpfs", "/tmp:rw,size=256m"),
                       ("/bin/sh", "-c", script)):
            wait_until("PostgreSQL", lambda: psql(5432, "select 1").returncode == 0, timeout=60)
            for statement in (f"create role {USER} login password '{PASSWORD}'", f"create database {DB} owner {USER}"):
                assert psql(5432, statement).returncode == 0, statement
            # Every healthcheck passes now, PgBouncer's pg_isready included.
            running.compose("up", "-d", "--wait", "--wait-timeout", "90", timeout=150)
            yield running


def test_a_tls_request_through_nginx_reaches_the_app_over_localhost(stack: ComposeStack) -> None:
    crt = stack.folder / "secrets" / "shop-tls" / "tls.crt"
    context = ssl.create_default_context(cafile=str(crt))
    token = uuid.uuid4().hex
    with urllib.request.urlopen(f"https://localhost:{HTTPS}/cgi-bin/hello?token={token}", context=context,
                                timeout=10) as response:
        answer = response.read().decode()
    assert f"hello from the app: /cgi-bin/hello?token={token} from" in answer
    assert "127.0.0.1" in answer.split(" from ")[-1]  # NGINX reached the app over localhost
    # NGINX serves the certificate from the secret files, with TLS 1.2 or 1.3 only.
    served = ssl.PEM_cert_to_DER_cert(ssl.get_server_certificate(("127.0.0.1", HTTPS)))
    assert hashlib.sha256(served).digest() == hashlib.sha256(ssl.PEM_cert_to_DER_cert(crt.read_text())).digest()
    with socket.create_connection(("127.0.0.1", HTTPS), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname="localhost") as tls:
            assert tls.version() == "TLSv1.3"


def test_plain_http_on_the_tls_port_is_refused_and_the_app_port_is_not_published(stack: ComposeStack) -> None:
    with pytest.raises(Exception):
        urllib.request.urlopen(f"http://127.0.0.1:{HTTPS}/", timeout=5).read()
    ports = stack.inspect("netns")["HostConfig"]["PortBindings"]
    assert f"{HTTPS}/tcp" in ports and f"{APP_PORT}/tcp" not in ports


def test_the_apps_connection_through_pgbouncer_reaches_the_real_database(stack: ComposeStack) -> None:
    through = psql(POOL, "select current_user, current_database(), inet_server_port()", user=USER, db=DB)
    assert through.returncode == 0, through.stdout + through.stderr
    # Connected on PgBouncer's port; the server saw PgBouncer on its own (5432).
    assert through.stdout.decode().strip() == f"{USER}|{DB}|5432"
    # PgBouncer checks the password against the userlist from the Secret before any pooling.
    wrong = psql(POOL, "select 1", user=USER, db=DB, password="wrong")
    assert wrong.returncode != 0 and b"SASL authentication failed" in wrong.stderr
