"""The generated configs of the nginx and pgbouncer templates, loaded by the real programs
(Debian's nginx and pgbouncer on this machine): `nginx -t`, and PgBouncer started on the
config until it listens. Without the binary the test skips, except under CI=true, where a
missing binary fails (.ci/run and scripts/e2e-setup.sh install them)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from conftest import in_ci
from generator.input.spec import parse_spec
from generator.pipeline import build

APP = {"name": "shop", "image": "registry.example.com/shop:1.0.0", "port": 8080}
NGINX = {"name": "nginx", "params": {"tls_secret": "shop-tls"}}
PGBOUNCER = {"name": "pgbouncer", "params": {"db_host": "db.example.com", "db_name": "shop",
                                             "credentials_secret": "shop-db"}}


def program(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
    if found is None:
        if in_ci():
            pytest.fail(f"{name} is not installed; CI must install it (apt-get install {name})")
        pytest.skip(f"{name} is not installed (apt-get install {name})")
    return found


def rendered(catalog, sidecars: list, path: str, **answers) -> str:
    spec = parse_spec({"app": APP, "sidecars": sidecars, **answers}, catalog)
    return build(spec, catalog)[path].decode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- nginx -----------------------------------------------------------------------------

def nginx_test(conf: str, tmp_path: Path) -> subprocess.CompletedProcess:
    """`nginx -t` on the config with its absolute paths moved under tmp_path: the certificate
    (a fresh self-signed one, as the Secret would hold) and /tmp (pid, temp paths)."""
    nginx, openssl = program("nginx"), program("openssl")
    tls, run = tmp_path / "tls", tmp_path / "run"
    tls.mkdir()
    run.mkdir()
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-keyout", str(tls / "tls.key"), "-out", str(tls / "tls.crt")], check=True, capture_output=True)
    assert "/etc/nginx/tls/tls.crt" in conf and "pid /tmp/nginx.pid;" in conf  # the documented contract
    conf = conf.replace("/tmp/", f"{run}/").replace("/etc/nginx/tls/", f"{tls}/")
    (tmp_path / "nginx.conf").write_text(conf)
    return subprocess.run([nginx, "-t", "-e", "stderr", "-c", str(tmp_path / "nginx.conf")],
                          capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("bind", ["[::]", "0.0.0.0"])
def test_nginx_accepts_the_generated_config(bind: str, builtin_catalog, tmp_path: Path) -> None:
    nginx = {**NGINX, "params": {**NGINX["params"], "bind_address": bind}}
    done = nginx_test(rendered(builtin_catalog, [nginx], "config/nginx/nginx.conf"), tmp_path)
    assert done.returncode == 0 and "test is successful" in done.stderr, done.stderr


def test_nginx_check_refuses_a_broken_config(builtin_catalog, tmp_path: Path) -> None:
    """The check has teeth: a directive nginx does not know fails it."""
    conf = rendered(builtin_catalog, [NGINX], "config/nginx/nginx.conf").replace(
        "server_tokens off;", "server_tokens off;\n    proxy_bogus on;")
    done = nginx_test(conf, tmp_path)
    assert done.returncode != 0 and 'unknown directive "proxy_bogus"' in done.stderr


# --- pgbouncer ---------------------------------------------------------------------------

def pgbouncer_load(conf: str, tmp_path: Path) -> tuple[int | None, str]:
    """PgBouncer has no check mode: start it on the config (on a free port, the credentials
    file under tmp_path) until it says it is up, or until it exits on a bad config.
    (exit code or None when it came up, its log)."""
    pgbouncer = program("pgbouncer")
    (tmp_path / "userlist.txt").write_text('"shop" "not-a-real-password"\n')
    port = free_port()
    assert "auth_file = /etc/pgbouncer/secret/userlist.txt" in conf  # the documented contract
    conf = conf.replace("/etc/pgbouncer/secret/userlist.txt", str(tmp_path / "userlist.txt"))
    conf = "\n".join(f"listen_port = {port}" if line.startswith("listen_port =") else line
                     for line in conf.splitlines()) + "\n"
    (tmp_path / "pgbouncer.ini").write_text(conf)
    # PgBouncer refuses to run as root: -u drops to nobody (after reading the files) as root.
    user = ["-u", "nobody"] if os.geteuid() == 0 else []
    log = tmp_path / "pgbouncer.log"
    with log.open("w") as out:
        process = subprocess.Popen([pgbouncer, *user, str(tmp_path / "pgbouncer.ini")], stdout=out,
                                   stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and process.poll() is None:
                if "process up" in log.read_text():
                    return None, log.read_text()
                time.sleep(0.05)
            return process.poll(), log.read_text()
        finally:
            process.terminate()
            process.wait(timeout=10)


@pytest.mark.parametrize("pool_mode", ["session", "transaction"])
def test_pgbouncer_loads_the_generated_config(pool_mode: str, builtin_catalog, tmp_path: Path) -> None:
    sidecar = {**PGBOUNCER, "params": {**PGBOUNCER["params"], "pool_mode": pool_mode,
                                       "server_tls_sslmode": "require"}}
    code, log = pgbouncer_load(rendered(builtin_catalog, [sidecar], "config/pgbouncer/pgbouncer.ini"), tmp_path)
    assert code is None, log
    assert "ERROR" not in log and "WARNING" not in log, log


def test_pgbouncer_load_refuses_a_broken_config(builtin_catalog, tmp_path: Path) -> None:
    conf = rendered(builtin_catalog, [PGBOUNCER], "config/pgbouncer/pgbouncer.ini") + "bogus_setting = 1\n"
    code, log = pgbouncer_load(conf, tmp_path)
    assert code not in (None, 0) and "unknown parameter" in log


# --- no program on this machine: the upstream option lists ------------------------------

OAUTH2 = {"name": "oauth2-proxy", "params": {"credentials_secret": "shop-oidc", "client_id": "shop",
                                             "issuer_url": "https://login.example.com/realms/team",
                                             "email_domains": "example.com, example.org"}}
VAULT = {"name": "vault-agent", "params": {"vault_addr": "https://vault.example.com:8200", "role": "shop",
                                           "secret_path": "secret/data/shop/db"}}


def test_oauth2_proxy_config_is_toml_with_only_documented_options(builtin_catalog) -> None:
    """No oauth2-proxy binary is installable here: its config must parse as TOML, and every key
    must be an option its reference documents (tests/data/oauth2-proxy-options.txt)."""
    import tomllib

    known = {line.strip() for line in (Path(__file__).parent / "data" / "oauth2-proxy-options.txt").read_text().splitlines()
             if line.strip() and not line.startswith("#")}
    config = tomllib.loads(rendered(builtin_catalog, [OAUTH2], "config/oauth2-proxy/oauth2-proxy.cfg"))
    assert set(config) <= known, sorted(set(config) - known)
    assert config["email_domains"] == ["example.com", "example.org"]
    assert config["upstreams"] == ["http://127.0.0.1:8080/"] and config["http_address"] == ":4180"
    assert "client_secret" not in config and "cookie_secret" not in config  # never a value: files
    assert config["client_secret_file"] == "/etc/oauth2-proxy/secrets/client-secret"


def test_oauth2_proxy_behind_nginx_forwards_to_the_app_and_nginx_to_it(builtin_catalog) -> None:
    import tomllib

    files = build(parse_spec({"app": APP, "sidecars": [NGINX, OAUTH2]}, builtin_catalog), builtin_catalog)
    assert tomllib.loads(files["config/oauth2-proxy/oauth2-proxy.cfg"].decode())["upstreams"] == ["http://127.0.0.1:8080/"]
    assert "server 127.0.0.1:4180;" in files["config/nginx/nginx.conf"].decode()


# Vault Agent's configuration reference: https://developer.hashicorp.com/vault/docs/agent-and-proxy/agent
# (top-level stanzas), .../agent/template (template and template_config parameters),
# .../autoauth/methods/kubernetes (role, token_path).
VAULT_TOP = {"vault", "auto_auth", "template_config", "template", "listener", "cache", "api_proxy",
             "exit_after_auth", "pid_file", "telemetry", "env_template", "exec", "log_level", "log_file"}
VAULT_TEMPLATE = {"source", "destination", "create_dest_dirs", "contents", "command", "command_timeout",
                  "error_on_missing_key", "exec", "perms", "backup", "left_delimiter", "right_delimiter",
                  "sandbox_path", "wait"}
VAULT_TEMPLATE_CONFIG = {"exit_on_retry_failure", "static_secret_render_interval", "max_connections_per_host",
                         "lease_renewal_threshold"}


@pytest.mark.parametrize("fmt", ["env", "json"])
def test_vault_agent_config_is_hcl_with_only_documented_stanzas(fmt: str, builtin_catalog) -> None:
    """No vault binary is installable here: the config must parse as HCL (python-hcl2, which
    checkov brings), with only the stanzas and parameters Vault Agent documents."""
    hcl2 = pytest.importorskip("hcl2") if not in_ci() else __import__("hcl2")
    vault = {**VAULT, "params": {**VAULT["params"], "format": fmt}}
    text = rendered(builtin_catalog, [vault], "config/vault-agent/agent.hcl")
    config = hcl2.loads(text)
    assert set(config) <= VAULT_TOP
    (method,) = config["auto_auth"][0]["method"]
    settings = method["kubernetes"]["config"]
    settings = settings[0] if isinstance(settings, list) else settings  # python-hcl2 lists objects
    assert settings == {"role": "shop", "token_path": "/var/run/secrets/vault/token"}
    (template,) = config["template"]
    assert set(template) <= VAULT_TEMPLATE and set(config["template_config"][0]) <= VAULT_TEMPLATE_CONFIG
    contents = template["contents"]
    contents = contents[0] if isinstance(contents, list) else contents  # python-hcl2 lists values
    assert '{{ with secret "secret/data/shop/db" }}' in contents and contents.count("{{") == contents.count("}}")
    assert ("| toJSON" in contents) == (fmt == "json")
