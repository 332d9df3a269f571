"""inject into Compose files written by other people (docker/awesome-compose, unmodified, and
hand-written ones with the syntax a compose file may use): the app joins a namespace holder as
`new` renders it, the rest of the file stays byte for byte, and --remove gives it back."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import run_cli
from generator.catalog.loader import load_catalog
from generator.errors import SpecError
from generator.inject.compose import EXTENSION, inject
from generator.inject.derive import Request
from generator.tools.check import COMPOSE_RULES

FIXTURES = Path(__file__).parent / "inject_fixtures"
FLASK = "awesome-compose-nginx-flask-mysql.yaml"
MONGO = "awesome-compose-react-express-mongodb.yaml"
CATALOG = load_catalog()

# The other syntax a Compose file may use: extension fields and anchors elsewhere, profiles,
# long-syntax ports and volumes, environment and depends_on as lists, a healthcheck with a URL.
HANDWRITTEN = """\
x-logging: &logging   # shared by hand
  driver: json-file
name: shop
services:
  api:
    image: "team/api:3.2.1"
    profiles: ["web"]
    user: "1000:1000"
    logging: *logging
    ports:
      - target: 8080
        published: "18080"
        protocol: tcp
    environment:
      - MODE=prod
    depends_on:
      - cache
    healthcheck:
      test: ["CMD", "wget", "-q", "--spider", "http://127.0.0.1:8080/status"]
      interval: 5s
    volumes:
      - type: tmpfs
        target: /tmp
  cache:
    image: redis:7.2.4
    profiles: ["web"]
"""


def source_of(name: str) -> str:
    return HANDWRITTEN if name == "handwritten" else (FIXTURES / name).read_text()


def run(text: str, *sidecars: str, sets: tuple[str, ...] = (), **kw):
    return inject(text, "compose.yaml", CATALOG, Request(sidecars, sets), **kw)


CASES = [  # (input, service, sidecars, --set)
    (FLASK, "backend", ("envoy", "metrics"), ()),
    (FLASK, "backend", ("fluentd",), ("app.log_dir=/var/log/backend",)),
    (MONGO, "backend", ("envoy", "fluentd", "metrics"), ("app.log_dir=/var/log/backend",)),
    ("handwritten", "api", ("envoy", "metrics"), ()),
]


def case_id(case) -> str:
    return f"{case[0].removesuffix('.yaml')}-{'+'.join(case[2])}"


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_a_second_inject_changes_nothing_and_remove_restores_the_original(case) -> None:
    name, service, sidecars, sets = case
    original = source_of(name)
    once = run(original, *sidecars, sets=sets, service=service)
    assert once.text != original and once.files
    assert run(once.text, *sidecars, service=service).text == once.text
    removed = run(once.text, service=service, remove=sidecars)
    assert removed.text == original and removed.files == {} and set(removed.owned) == set(once.files)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_the_output_passes_docker_compose_config_and_checks_rules_for_the_injected_services(case, tmp_path: Path) -> None:
    name, service, sidecars, sets = case
    outcome = run(source_of(name), *sidecars, sets=sets, service=service)
    (tmp_path / "compose.yaml").write_text(outcome.text)
    for path, data in outcome.files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes(data)
    for folder in ("backend", "frontend", "proxy", "db"):  # the build contexts and secret files it names
        (tmp_path / folder).mkdir(exist_ok=True)
    (tmp_path / "db" / "password.txt").write_text("x")
    done = subprocess.run(["docker-compose", "-f", "compose.yaml", "--profile", "web", "config", "-q"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    document = yaml.safe_load(outcome.text)
    added = json.loads(document[EXTENSION][service])["services"]
    problems = [p for s in added for rule in COMPOSE_RULES.values() for p in rule(s, document["services"][s])]
    assert problems == []


def test_the_app_joins_a_holder_that_takes_its_network_settings_and_name() -> None:
    original = source_of(FLASK)
    document = yaml.safe_load(run(original, "envoy", service="backend").text)
    backend, holder = document["services"]["backend"], document["services"]["backend-netns"]
    assert backend["network_mode"] == "service:backend-netns" and "ports" not in backend and "networks" not in backend
    assert backend["depends_on"]["backend-netns"] == {"condition": "service_started"}
    assert holder["ports"] == ["8000:10000"]  # the published port now reaches the proxy
    assert holder["networks"] == {"backnet": {"aliases": ["backend"]}, "frontnet": {"aliases": ["backend"]}}
    envoy = document["services"]["backend-envoy"]
    assert envoy["network_mode"] == "service:backend-netns"
    assert envoy["volumes"] == [{"type": "bind", "source": "./sidecar-new/backend/envoy", "target": "/etc/envoy",
                                 "read_only": True}]
    assert "    # We use a mariadb image which supports both amd64 & arm64 architecture" in run(
        original, "envoy", service="backend").text


def test_lists_stay_lists_and_profiles_follow_the_app() -> None:
    document = yaml.safe_load(run(HANDWRITTEN, "envoy", "metrics", service="api").text)
    api = document["services"]["api"]
    assert api["environment"] == ["MODE=prod", "STATSD_HOST=127.0.0.1", "STATSD_PORT=9125"]
    assert api["depends_on"] == ["cache", "api-netns"]
    holder = document["services"]["api-netns"]
    assert holder["ports"] == [{"target": 10000, "published": "18080", "protocol": "tcp"}]
    for added in ("api-netns", "api-envoy", "api-metrics"):
        assert document["services"][added]["profiles"] == ["web"]
    # The app has a healthcheck: sidecars wait for it to pass; its URL gave the health path.
    assert document["services"]["api-envoy"]["depends_on"]["api"] == {"condition": "service_healthy"}


def test_the_shared_log_volume_is_owned_by_the_apps_user() -> None:
    document = yaml.safe_load(run(HANDWRITTEN, "fluentd", sets=("app.log_dir=/var/log/api",), service="api").text)
    assert "uid=1000," in document["volumes"]["api-app-logs"]["driver_opts"]["o"]
    assert {"type": "volume", "source": "api-app-logs", "target": "/var/log/api"} in document["services"]["api"]["volumes"]


def error_of(text: str, *sidecars: str, **kw) -> str:
    with pytest.raises(SpecError) as caught:
        run(text, *sidecars, **kw)
    assert "\n" not in caught.value.message
    return caught.value.message


def test_conflicts_are_refused_in_one_line() -> None:
    flask = source_of(FLASK)
    assert "3 services (db, backend, proxy); pick one with --service NAME" in error_of(flask, "envoy")
    host = HANDWRITTEN.replace("    user: \"1000:1000\"\n", "    network_mode: host\n")
    assert error_of(host, "envoy", service="api").startswith("services.api: network_mode: host;")
    joined = HANDWRITTEN + "  debug:\n    image: busybox:1.36\n    network_mode: service:api\n"
    assert "services.debug: already joins api's network namespace" in error_of(joined, "envoy", service="api")
    taken = HANDWRITTEN + "  api-envoy:\n    image: busybox:1.36\n"
    assert error_of(taken, "envoy", service="api").startswith("services.api-envoy: the name is taken")
    env = HANDWRITTEN.replace("MODE=prod", "STATSD_HOST=10.0.0.1")
    assert "services.api: already sets STATSD_HOST" in error_of(env, "metrics", service="api")
    busy = HANDWRITTEN.replace("      - target: 8080\n", "      - target: 8080\n      - target: 9901\n")
    assert "port 9901 of api-envoy is in use by the app" in error_of(busy, "envoy", service="api")
    merged = HANDWRITTEN.replace("    logging: *logging\n", "    <<: {restart: always}\n")
    assert "uses a YAML merge key" in error_of(merged, "envoy", service="api")


def test_remove_refuses_an_app_service_edited_since() -> None:
    once = run(source_of(FLASK), "envoy", service="backend").text
    edited = once.replace("    restart: always\n    secrets:", "    restart: on-failure\n    secrets:", 1)
    assert "services.backend: changed since inject" in error_of(edited, service="backend", remove=("envoy",))


def test_in_place_writes_the_config_files_and_remove_takes_them_away(tmp_path: Path) -> None:
    compose = tmp_path / "compose.yaml"
    compose.write_text(source_of(FLASK))
    printed = run_cli("inject", str(compose), "--service", "backend", "--with", "envoy")
    assert printed.exit_code == 1 and "use --in-place" in printed.stderr and printed.stdout == ""
    added = run_cli("inject", str(compose), "--service", "backend", "--with", "envoy", "--in-place")
    assert added.exit_code == 0, added.output
    config = tmp_path / "sidecar-new" / "backend" / "envoy" / "envoy.yaml"
    assert config.is_file() and oct(config.stat().st_mode & 0o777) == "0o644"
    removed = run_cli("inject", str(compose), "--service", "backend", "--remove", "envoy", "--in-place")
    assert removed.exit_code == 0, removed.output
    assert compose.read_text() == source_of(FLASK) and not (tmp_path / "sidecar-new").exists()


def test_a_file_inject_did_not_write_is_never_replaced(tmp_path: Path) -> None:
    compose = tmp_path / "compose.yaml"
    compose.write_text(source_of(FLASK))
    mine = tmp_path / "sidecar-new" / "backend" / "envoy" / "envoy.yaml"
    mine.parent.mkdir(parents=True)
    mine.write_text("my own\n")
    result = run_cli("inject", str(compose), "--service", "backend", "--with", "envoy", "--in-place")
    assert result.exit_code == 1 and "exists and inject did not write it" in result.stderr
    assert mine.read_text() == "my own\n" and compose.read_text() == source_of(FLASK)


def test_an_edited_config_file_is_kept_on_remove(tmp_path: Path) -> None:
    compose = tmp_path / "compose.yaml"
    compose.write_text(source_of(FLASK))
    assert run_cli("inject", str(compose), "--service", "backend", "--with", "envoy", "--in-place").exit_code == 0
    config = tmp_path / "sidecar-new" / "backend" / "envoy" / "envoy.yaml"
    config.write_text(config.read_text() + "# tuned\n")
    removed = run_cli("inject", str(compose), "--service", "backend", "--remove", "envoy", "--in-place")
    assert removed.exit_code == 0 and "kept" in removed.stderr and config.read_text().endswith("# tuned\n")
    assert compose.read_text() == source_of(FLASK)
