"""environments: k8s/overlays/<env>/ on a base moved to k8s/base/ and compose.<env>.yaml
overrides, each with that environment's replicas, app resources, app environment and ingress
host; every overlay builds and passes the same checks as the base."""

from __future__ import annotations

import copy
import subprocess
from pathlib import Path

import yaml

from conftest import FULL_ANSWERS
from generator.input.spec import parse_spec
from generator.pipeline import build
from generator.tools.check import check_folder, kustomize

ENVIRONMENTS = {
    "dev": {"replicas": 1, "resources": {"limits": {"memory": "1Gi"}},
            "env": {"LOG_LEVEL": "debug", "FLAGS": {"config_map": "dev-flags/flags"}},
            "ingress": {"host": "orders.dev.example.com"}},
    "prod": {"replicas": 4},
}


def answers_with(environments=ENVIRONMENTS, **kubernetes) -> dict:
    answers = copy.deepcopy(FULL_ANSWERS)
    answers["app"]["env"] = {"LOG_LEVEL": "info", "DB_PASSWORD": {"secret": "orders-db/password"}}
    answers["kubernetes"]["ingress"] = {"kind": "ingress", "host": "orders.example.com", "tls_secret": "orders-tls"}
    answers["kubernetes"].update(kubernetes)
    answers["environments"] = environments
    return answers


def written(catalog, answers: dict, dest: Path) -> Path:
    for path, data in build(parse_spec(answers, catalog), catalog).items():
        (dest / path).parent.mkdir(parents=True, exist_ok=True)
        (dest / path).write_bytes(data)
    return dest


def built(folder: Path, env: str) -> dict[str, dict]:
    return {d["kind"]: d for d in yaml.safe_load_all(kustomize(folder / "k8s" / "overlays" / env))}


def test_each_overlay_carries_its_environments_settings(builtin_catalog, tmp_path: Path) -> None:
    folder = written(builtin_catalog, answers_with(), tmp_path)
    dev, prod = built(folder, "dev"), built(folder, "prod")
    assert dev["Deployment"]["spec"]["replicas"] == 1 and prod["Deployment"]["spec"]["replicas"] == 4
    app = dev["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    assert app["name"] == "orders-api"
    # The app's own memory limit; ephemeral storage still covers the emptyDirs it writes.
    assert app["resources"]["limits"]["memory"] == "1Gi"
    env = {e["name"]: e for e in app["env"]}
    assert env["LOG_LEVEL"]["value"] == "debug"
    assert env["FLAGS"]["valueFrom"] == {"configMapKeyRef": {"name": "dev-flags", "key": "flags"}}
    assert env["DB_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "orders-db"  # the base's, kept
    assert dev["Ingress"]["spec"]["rules"][0]["host"] == "orders.dev.example.com"
    assert dev["Ingress"]["spec"]["tls"][0]["hosts"] == ["orders.dev.example.com"]
    assert prod["Ingress"]["spec"]["rules"][0]["host"] == "orders.example.com"
    prod_app = prod["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    assert prod_app["resources"]["limits"]["memory"] == "512Mi"
    assert {d["metadata"]["namespace"] for d in dev.values()} == {"orders"}


def test_every_overlay_and_override_passes_check(builtin_catalog, tmp_path: Path) -> None:
    folder = written(builtin_catalog, answers_with(), tmp_path)
    assert sorted(p.name for p in (folder / "k8s" / "overlays").iterdir()) == ["dev", "prod"]
    assert check_folder(folder) == []


def test_the_base_moves_to_k8s_base_and_k8s_still_builds_it(builtin_catalog, tmp_path: Path) -> None:
    folder = written(builtin_catalog, answers_with(), tmp_path)
    assert yaml.safe_load((folder / "k8s" / "kustomization.yaml").read_text())["resources"] == ["base"]
    assert (folder / "k8s" / "base" / "deployment.yaml").is_file() and not (folder / "k8s" / "deployment.yaml").exists()
    assert {d["kind"] for d in yaml.safe_load_all(kustomize(folder / "k8s"))} >= {"Deployment", "Ingress"}
    plain = written(builtin_catalog, answers_with(environments={}), tmp_path / "plain")
    assert (plain / "k8s" / "deployment.yaml").is_file() and not (plain / "k8s" / "overlays").exists()


def test_compose_overrides_change_the_apps_environment_and_resources(builtin_catalog, tmp_path: Path) -> None:
    folder = written(builtin_catalog, answers_with(), tmp_path)
    assert not (folder / "compose.prod.yaml").exists()  # replicas mean nothing to Compose
    done = subprocess.run(["docker-compose", "-f", "compose.yaml", "-f", "compose.dev.yaml", "config"],
                          cwd=folder, capture_output=True, text=True, check=True)
    app = yaml.safe_load(done.stdout)["services"]["orders-api"]
    assert app["environment"]["LOG_LEVEL"] == "debug"
    assert app["environment"]["STATSD_HOST"] == "127.0.0.1"  # the base's variables stay
    # 1Gi plus the tmpfs volumes the app writes (tmp 64Mi, logs 256Mi), in bytes.
    assert int(app["deploy"]["resources"]["limits"]["memory"]) == (1024 + 64 + 256) * 2**20
    # `config` reads env files into `environment` (the file is absent here: nothing to read).
    assert "DB_PASSWORD" not in app["environment"]


def test_the_record_keeps_the_environments_as_given_and_replays(builtin_catalog) -> None:
    files = dict(build(parse_spec(answers_with(), builtin_catalog), builtin_catalog))
    record = yaml.safe_load(files[".sidecar-new.yaml"])
    assert record["environments"] == ENVIRONMENTS
    replayed = {k: v for k, v in record.items() if k not in ("generated_by", "files")}
    assert dict(build(parse_spec(replayed, builtin_catalog), builtin_catalog)) == files


def test_with_an_hpa_an_overlay_changes_no_replica_count(builtin_catalog, tmp_path: Path) -> None:
    answers = answers_with(environments={"dev": {"env": {"LOG_LEVEL": "debug"}}},
                           autoscaling={"min": 2, "max": 6})
    folder = written(builtin_catalog, answers, tmp_path)
    dev = built(folder, "dev")
    assert "replicas" not in dev["Deployment"]["spec"] and dev["HorizontalPodAutoscaler"]["spec"]["minReplicas"] == 2
    assert check_folder(folder) == []
