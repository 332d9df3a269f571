"""The telemetry wiring on a real Docker Engine: the app gets the standard
OTEL_EXPORTER_OTLP_ENDPOINT/_PROTOCOL from the telemetry sidecar's app_env, and what it exports
there reaches the sidecar over localhost.

The OpenTelemetry Collector itself cannot run here (no registry ships it): the e2e catalog's
`otlp` stand-in has the built-in template's wiring (the same app_env, an OTLP/HTTP port, a
health port for the probes) and prints each POST; tests/test_sidecar_configs.py checks the
collector's own generated config against its component schemas.
"""

from __future__ import annotations

import urllib.request
import uuid
from typing import Iterator

import pytest

from e2e.stacks import APP_IMAGE, APP_PORT, ComposeStack, compose_up, render, wait_until

pytestmark = pytest.mark.e2e

APP = "sne2e-telemetry"
OTLP, HEALTH = 18700, 18701  # apart from the other suites'


@pytest.fixture(scope="module")
def stack(docker_engine, tmp_path_factory) -> Iterator[ComposeStack]:
    answers = {
        "app": {"name": APP, "image": APP_IMAGE, "port": APP_PORT, "health_path": "/healthz",
                "health_command": ["/bin/wget", "-q", "--spider", f"http://127.0.0.1:{APP_PORT}/healthz"],
                "log_dir": "/var/log/app"},
        "sidecars": [{"name": "otlp", "params": {"http_port": OTLP, "health_port": HEALTH}}],
        "targets": ["compose"],
    }
    with compose_up(render(answers, tmp_path_factory.mktemp("telemetry")), APP) as running:
        yield running


def test_the_app_gets_the_standard_otlp_variables_pointing_at_the_sidecar_on_localhost(stack: ComposeStack) -> None:
    env = dict(item.split("=", 1) for item in stack.inspect(APP)["Config"]["Env"])
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == f"http://127.0.0.1:{OTLP}"
    assert env["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf"


def test_what_the_app_exports_to_that_endpoint_reaches_the_sidecar(stack: ComposeStack) -> None:
    token = uuid.uuid4().hex
    # The app's port is published here (no proxy in front): the app's own CGI does the export.
    published = stack.inspect("netns")["HostConfig"]["PortBindings"][f"{APP_PORT}/tcp"][0]["HostPort"]
    with urllib.request.urlopen(f"http://127.0.0.1:{published}/cgi-bin/export?{token}", timeout=10) as response:
        assert response.read().decode().strip() == "{} sent as http/protobuf"
    wait_until("the span in the sidecar's output",
               lambda: f'otlp: POST /v1/traces application/json {{"resourceSpans":[{{"scopeSpans":[{{"spans":'
                       f'[{{"name":"{token}"}}]}}]}}]}}' in stack.logs("otlp"))
