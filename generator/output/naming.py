"""Names in the output folder that other stages and tools rely on: written by the emitters,
the pipeline and the writer, read back by check, lint and replays. Each name is built and
taken apart here, so the two sides cannot drift."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Iterable

from generator import rules

TOOL = "sidecar-new"
RECORD = ".sidecar-new.yaml"  # the answers and provenance of a render, in its folder
CONFIG_DIR = "config"  # config/<sidecar>/...: read by the containers, as their own users
# secrets/<Secret>/<key>: the files a Compose user supplies for a Kubernetes Secret's keys; the
# tool never writes them (no secret value passes through it).
SECRETS_DIR = "secrets"
# The writer's work folder inside an output folder while it updates it (see output/transaction.py);
# a leftover one is finished or removed by the next run, and the plan skips it.
TX = ".sidecar-new.tx"
NAME_LABEL = "app.kubernetes.io/name"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"  # = TOOL on everything the base ships
CHECKSUM_ANNOTATION = "sidecar-new.dev/config-checksum"
_CONFIG_MAP_SUFFIX = "-config"
# kustomize refuses an overlay inside its base ("cycle detected"), so with environments the base
# moves down to k8s/base/ and k8s/kustomization.yaml only points at it.
K8S = "k8s"
K8S_BASE = "k8s/base"


def kubernetes_base(with_environments: bool) -> str:
    """The folder that holds the kustomize base's objects."""
    return K8S_BASE if with_environments else K8S


def kubernetes_base_of(folder: Path) -> Path:
    """Where a rendered folder keeps its base: k8s/base/ when it has overlays, else k8s/."""
    base = folder / K8S_BASE
    return base if (base / "kustomization.yaml").is_file() else folder / K8S


def overlay_dir(environment: str) -> str:
    return f"{K8S}/overlays/{environment}"


def compose_override(environment: str) -> str:
    return f"compose.{environment}.yaml"


def config_file(sidecar: str, path: str) -> str:
    """Where a sidecar's config file lands beside compose.yaml (a bind mount in Compose)."""
    return f"{CONFIG_DIR}/{sidecar}/{path}"


def config_map_name(app: str, sidecar: str) -> str:
    return f"{app}-{sidecar}{_CONFIG_MAP_SUFFIX}"


def config_map_sidecar(app: str, name: str) -> str | None:
    """The sidecar whose config a ConfigMap of this app holds; None for any other name."""
    prefix = f"{app}-"
    if not name.startswith(prefix) or not name.endswith(_CONFIG_MAP_SUFFIX):
        return None
    return name.removeprefix(prefix).removesuffix(_CONFIG_MAP_SUFFIX) or None


def config_key(path: str) -> str:
    return rules.config_key(path)  # the rule the catalog loader checks names against


def checksum_of(files: Iterable[tuple[str, str, str]]) -> str:
    """sha256 over (sidecar, path, text) in order: the pod template's CHECKSUM_ANNOTATION, so
    a config change rolls the pods; `check` recomputes it from the ConfigMaps."""
    digest = hashlib.sha256()
    for sidecar, path, text in files:
        digest.update(f"{sidecar}/{path}\0{text}\0".encode())
    return digest.hexdigest()
