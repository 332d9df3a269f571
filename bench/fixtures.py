"""Inputs the benchmark makes in a temporary folder: a cookiecutter baseline template,
a test catalog of N trivial sidecars, and the answers files that use them."""

from __future__ import annotations

import json
from pathlib import Path

# A cookiecutter template comparable to our render: the same app and three sidecars,
# written as two Jinja files (compose.yaml and k8s/deployment.yaml).
COOKIECUTTER_CONTEXT = {
    "app_name": "orders-api",
    "image": "registry.example.com:5000/team/orders:1.4.2",
    "port": "8080",
    "health_path": "/healthz",
    "namespace": "orders",
    "replicas": "2",
    "sidecars": "fluentd envoy metrics",
}

_COMPOSE_J2 = """\
name: {{ cookiecutter.app_name }}
services:
  {{ cookiecutter.app_name }}:
    image: {{ cookiecutter.image }}
    ports: ["{{ cookiecutter.port }}:{{ cookiecutter.port }}", "10000:10000", "9102:9102"]
    read_only: true
    cap_drop: [ALL]
    security_opt: [no-new-privileges:true]
    volumes: [app-logs:/var/log/app]
    healthcheck:
      test: [CMD, wget, -q, --spider, "http://127.0.0.1:{{ cookiecutter.port }}{{ cookiecutter.health_path }}"]
{%- for sidecar in cookiecutter.sidecars.split() %}
  {{ sidecar }}:
    image: example/{{ sidecar }}:1.0.0
    network_mode: "service:{{ cookiecutter.app_name }}"
    read_only: true
    cap_drop: [ALL]
    volumes: [app-logs:/var/log/app:ro, ./config/{{ sidecar }}:/etc/{{ sidecar }}:ro]
    depends_on:
      {{ cookiecutter.app_name }}: {condition: service_healthy, restart: true}
    deploy:
      resources:
        limits: {cpus: "0.5", memory: 256M}
{%- endfor %}
volumes:
  app-logs: {}
"""

_DEPLOYMENT_J2 = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ cookiecutter.app_name }}
  namespace: {{ cookiecutter.namespace }}
  labels: {app.kubernetes.io/name: {{ cookiecutter.app_name }}}
spec:
  replicas: {{ cookiecutter.replicas }}
  selector:
    matchLabels: {app.kubernetes.io/name: {{ cookiecutter.app_name }}}
  template:
    metadata:
      labels: {app.kubernetes.io/name: {{ cookiecutter.app_name }}}
    spec:
      initContainers:
{%- for sidecar in cookiecutter.sidecars.split() %}
        - name: {{ sidecar }}
          image: example/{{ sidecar }}:1.0.0
          restartPolicy: Always
          securityContext: {runAsNonRoot: true, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true}
          resources:
            requests: {cpu: 50m, memory: 64Mi}
            limits: {cpu: 500m, memory: 256Mi}
{%- endfor %}
      containers:
        - name: {{ cookiecutter.app_name }}
          image: {{ cookiecutter.image }}
          ports: [{containerPort: {{ cookiecutter.port }}, name: http}]
          readinessProbe: {httpGet: {path: {{ cookiecutter.health_path }}, port: {{ cookiecutter.port }}}}
          livenessProbe: {httpGet: {path: {{ cookiecutter.health_path }}, port: {{ cookiecutter.port }}}}
          securityContext: {runAsNonRoot: true, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true}
          resources:
            requests: {cpu: 100m, memory: 128Mi}
            limits: {cpu: 500m, memory: 512Mi}
"""


def make_cookiecutter_template(root: Path) -> Path:
    project = root / "cookiecutter-service"
    files = project / "{{cookiecutter.app_name}}"
    (files / "k8s").mkdir(parents=True)
    (project / "cookiecutter.json").write_text(json.dumps(COOKIECUTTER_CONTEXT, indent=2))
    (files / "compose.yaml").write_text(_COMPOSE_J2)
    (files / "k8s" / "deployment.yaml").write_text(_DEPLOYMENT_J2)
    return project


def sidecar_name(index: int) -> str:
    return f"sc-{index:03d}"  # a DNS label


def make_scale_catalog(root: Path, count: int) -> Path:
    """A catalog of `count` trivial sidecars, each with its own port, probes, resources,
    one parameter and one Jinja config file (so every sidecar exercises the whole path)."""
    catalog = root / f"catalog-{count}"
    entries = []
    for index in range(count):
        name = sidecar_name(index)
        folder = catalog / "templates" / name
        (folder / "files").mkdir(parents=True)
        port = 20000 + index
        (folder / "sidecar.yaml").write_text(
            "params:\n"
            f"  port: {{type: port, default: {port}, help: listen port}}\n"
            "run_as: 10001\n"
            f"ports:\n  - {{name: p{index}-http, port: \"{{{{ port }}}}\"}}\n"  # <= 15 chars, unique
            "config_dir: /etc/sidecar\n"
            "probes:\n"
            "  readiness: {port: \"{{ port }}\", path: /ready, period: 5}\n"
            "  liveness: {port: \"{{ port }}\", path: /healthz, period: 10}\n"
            "resources:\n"
            "  requests: {cpu: 10m, memory: 16Mi, ephemeral-storage: 8Mi}\n"
            "  limits: {cpu: 100m, memory: 64Mi, ephemeral-storage: 32Mi}\n"
        )
        (folder / "files" / "config.yaml.j2").write_text(
            "listen: {{ port }}\nupstream: {{ app.port }}\nservice: {{ app.name }}\n")
        entries.append(f"  - name: {name}\n    capability: tool{index}\n"
                       f"    summary: test sidecar {index}\n    image: example/{name}:1.0.{index}\n"
                       f"    path: templates/{name}\n")
    (catalog / "catalog.yaml").write_text(f"name: scale-{count}\nversion: \"1\"\ntemplates:\n"
                                          + "".join(entries))
    return catalog


def make_scale_answers(root: Path, count: int) -> Path:
    path = root / f"answers-{count}.yaml"
    sidecars = "".join(f"  - {sidecar_name(i)}\n" for i in range(count))
    path.write_text("app:\n  name: scale-app\n  image: example/app:1.0.0\n  port: 8080\n"
                    f"sidecars:\n{sidecars}targets: [compose, kubernetes]\n"
                    "kubernetes:\n  version: \"1.31\"\n")
    return path


# Library form: the CLI renders one service per run; a batch of services is N calls of
# generator.pipeline.build in one process. Argument: the number of services.
LIBRARY_SCRIPT = """\
import sys
from pathlib import Path
from generator.input.answers import load_answers
from generator.catalog.loader import load_catalog
from generator.pipeline import build
from generator.input.spec import parse_spec
raw, catalog = load_answers(Path(sys.argv[2])), load_catalog()
total = 0
for index in range(int(sys.argv[1])):
    raw["app"]["name"] = f"svc-{index}"
    total += len(build(parse_spec(raw, catalog), catalog))
print(total)
"""
