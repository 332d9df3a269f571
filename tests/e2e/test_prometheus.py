"""A real Prometheus (Debian's package, scripts/e2e-setup.sh) scrapes the generated pod, finding
the metrics port and path only through the prometheus.io annotations the Deployment carries,
with the relabelling rules Prometheus's own Kubernetes example uses for them.

Kubernetes service discovery needs an API server, which this machine does not have, so the
discovered pod is written as a file_sd target carrying the meta labels kubernetes_sd would
give it (its address at the app's port, its annotations); everything after that is
Prometheus's own relabelling and scraping. The target is 127.0.0.1 (podman publishes the
pod's containerPorts on the host), not the pod IP, so no traffic leaves loopback.
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from e2e.conftest import need_image
from e2e.stacks import (APP_PORT, PROMETHEUS_IMAGE, PodStack, container, e2e_answers, kustomize, podman_play,
                        render, wait_until)

pytestmark = pytest.mark.e2e

APP = "sne2e-prometheus"
LISTEN, ADMIN, MONITOR, WEB = 28500, 28501, 28502, 28503  # apart from the other suites'
PROMETHEUS_PORT = 28509

# The "kubernetes-pods" job of https://github.com/prometheus/prometheus/blob/main/documentation/examples/prometheus-kubernetes.yml
# with its example annotations named prometheus.io/* (the convention the generated Deployment
# follows, as in the prometheus-community chart's "kubernetes-pods" job).
RELABEL = [
    {"source_labels": ["__meta_kubernetes_pod_annotation_prometheus_io_scrape"], "action": "keep",
     "regex": "true"},
    {"source_labels": ["__meta_kubernetes_pod_annotation_prometheus_io_path"], "action": "replace",
     "target_label": "__metrics_path__", "regex": "(.+)"},
    {"source_labels": ["__address__", "__meta_kubernetes_pod_annotation_prometheus_io_port"],
     "action": "replace", "regex": r"([^:]+)(?::\d+)?;(\d+)", "replacement": "$1:$2",
     "target_label": "__address__"},
    {"action": "labelmap", "regex": "__meta_kubernetes_pod_label_(.+)"},
    {"source_labels": ["__meta_kubernetes_pod_name"], "action": "replace", "target_label": "kubernetes_pod_name"},
]


def meta_label(name: str) -> str:
    """kubernetes_sd's label for an annotation or label name (non-alphanumerics become _)."""
    return "".join(c if c.isalnum() else "_" for c in name)


def discovered(deployment: dict[str, Any], pod: str) -> dict[str, Any]:
    """What kubernetes_sd (role: pod) would give for the running pod: one target per declared
    port, here the app's, with the pod template's annotations and labels as meta labels."""
    template = deployment["spec"]["template"]["metadata"]
    labels = {f"__meta_kubernetes_pod_annotation_{meta_label(k)}": v for k, v in template["annotations"].items()}
    labels |= {f"__meta_kubernetes_pod_label_{meta_label(k)}": v for k, v in template["labels"].items()}
    return {"targets": [f"127.0.0.1:{APP_PORT}"], "labels": labels | {"__meta_kubernetes_pod_name": pod}}


def api(path: str, **query: str) -> Any:
    url = f"http://127.0.0.1:{PROMETHEUS_PORT}/api/v1/{path}?{urllib.parse.urlencode(query)}"
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)["data"]


@pytest.fixture(scope="module")
def scraped(podman_engine, tmp_path_factory) -> Iterator[tuple[PodStack, dict[str, Any]]]:
    image = need_image("podman", PROMETHEUS_IMAGE)
    folder = tmp_path_factory.mktemp("prometheus")
    out = render(e2e_answers(APP, LISTEN, kubernetes_version="1.28", targets=("kubernetes",)), folder)
    manifest = kustomize(out)
    deployment = next(d for d in yaml.safe_load_all(manifest.read_text()) if d["kind"] == "Deployment")
    with podman_play(manifest, APP) as pod:
        config = folder / "prometheus"
        config.mkdir(mode=0o755)
        (config / "pods.json").write_text(json.dumps([discovered(deployment, pod.pod)]))
        (config / "prometheus.yml").write_text(yaml.safe_dump({
            "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
            "scrape_configs": [{"job_name": "kubernetes-pods", "relabel_configs": RELABEL,
                                "file_sd_configs": [{"files": ["/etc/prometheus/pods.json"]}]}]}))
        for path in config.iterdir():
            path.chmod(0o644)  # read by the container's user (nobody)
        options = ("--network", "host", "--user", "65534:65534", "-v", f"{config}:/etc/prometheus:ro",
                   "--tmpfs", "/prometheus:rw,size=64m,mode=1777")
        command = ("--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus",
                   f"--web.listen-address=127.0.0.1:{PROMETHEUS_PORT}")
        with container("podman", f"{APP}-scraper", image, options, command):
            wait_until("Prometheus's API", lambda: _answers())
            yield pod, deployment


def _answers() -> bool:
    try:
        api("status/buildinfo")
        return True
    except OSError:
        return False


def test_the_deployment_annotates_the_metrics_sidecars_port_for_prometheus(scraped) -> None:
    _, deployment = scraped
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert {k: annotations[k] for k in ("prometheus.io/scrape", "prometheus.io/port", "prometheus.io/path")} == {
        "prometheus.io/scrape": "true", "prometheus.io/port": str(WEB), "prometheus.io/path": "/metrics"}


def test_prometheus_scrapes_the_annotated_port_and_path_and_finds_the_target_up(scraped) -> None:
    pod, _ = scraped

    def active() -> list[dict[str, Any]] | None:
        targets = api("targets", state="active")["activeTargets"]
        return targets if targets and targets[0]["health"] == "up" else None

    target = wait_until("the pod's target up in Prometheus", active, timeout=60)[0]
    assert target["scrapeUrl"] == f"http://127.0.0.1:{WEB}/metrics"  # the annotation's port, not the app's
    assert target["labels"]["kubernetes_pod_name"] == pod.pod
    assert target["labels"]["app_kubernetes_io_name"] == APP


def test_prometheus_stores_the_series_the_metrics_sidecar_serves(scraped) -> None:
    def series() -> list[dict[str, Any]] | None:
        return api("query", query='sidecar_scrapes_total{job="kubernetes-pods"} > 0')["result"] or None

    # sidecar_scrapes_total is the sidecar's own counter (the app does not serve it), and
    # sidecar_new_e2e_app_up the app's, relayed through the sidecar over localhost.
    assert wait_until("the sidecar's counter in Prometheus", series, timeout=60)
    relayed = api("query", query='sidecar_new_e2e_app_up{job="kubernetes-pods"}')["result"]
    assert [r["value"][1] for r in relayed] == ["1"]
