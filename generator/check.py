"""`sidecar-new check`: validate a generated folder with the real tools, plus our own rules
where those tools are known to be weaker than they look (see DESIGN.md, pitfalls)."""

from __future__ import annotations

import importlib
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterator

from generator.errors import CheckError
from generator.rules import DEFAULT_KUBERNETES_VERSION
from generator.yamlio import load_file

Problems = list[str]


def check_folder(folder: Path) -> Problems:
    if not folder.is_dir():
        raise CheckError(f"DIR: {folder} is not a folder")
    version = _recorded_version(folder)
    problems: Problems = []
    if (folder / "compose.yaml").is_file():
        problems += check_compose(folder / "compose.yaml")
    if (folder / "k8s" / "kustomization.yaml").is_file():
        problems += check_kubernetes(folder / "k8s", version)
    for envoy_config in sorted(folder.glob("config/*/envoy.yaml")):
        problems += check_envoy(envoy_config)
    return problems


def _tool(name: str) -> str:
    path = shutil.which(name)
    if not path:
        raise CheckError(f"{name}: not found; install the checkers with pip install 'sidecar-new[check]'")
    return path


def _run(command: list[str], cwd: Path | None = None) -> tuple[int, str]:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120)
    return done.returncode, (done.stdout + done.stderr).strip()


def check_compose(compose_file: Path) -> Problems:
    code, output = _run([_tool("docker-compose"), "-f", compose_file.name, "config", "-q"],
                        cwd=compose_file.parent)
    problems = [f"{compose_file}: docker-compose config: {output}"] if code else []
    document = load_file(compose_file, CheckError)
    for name, service in (document.get("services") or {}).items():
        mode = str(service.get("network_mode", ""))
        if mode.startswith("service:"):
            # Compose accepts these beside network_mode; the engine refuses them later.
            for key in ("ports", "expose", "hostname", "networks"):
                if key in service:
                    problems.append(f"{compose_file}: service {name}: {key} cannot go with {mode}")
        if "limits" not in (service.get("deploy", {}).get("resources", {})):
            problems.append(f"{compose_file}: service {name}: no deploy.resources.limits")
    return problems


def kustomize(k8s_dir: Path) -> str:
    code, output = _run([_tool("kubectl"), "kustomize", str(k8s_dir)])
    if code:
        raise CheckError(f"{k8s_dir}: kubectl kustomize: {output.splitlines()[-1] if output else code}")
    return output


def check_kubernetes(k8s_dir: Path, version: str) -> Problems:
    try:
        built = kustomize(k8s_dir)
    except CheckError as exc:
        return [exc.message]
    with tempfile.TemporaryDirectory() as scratch:
        manifest = Path(scratch) / "built.yaml"
        manifest.write_text(built)
        code, output = _run([_tool("kubernetes-validate"), "--strict", "--quiet",
                             "-k", f"{version}.0", str(manifest)])
        problems = [f"{k8s_dir}: kubernetes-validate {version}: {output}"] if code or "WARN" in output else []
        problems += [f"{k8s_dir}: {p}" for p in lint_pod_specs(load_file(manifest, CheckError, all_documents=True))]
    return problems


def lint_pod_specs(documents: list[Any]) -> Iterator[str]:
    """Rules the schema cannot express, checked on every container, init containers included
    (checkov reads only `containers`, so a native sidecar would escape it)."""
    for document in documents:
        pod_spec = (document or {}).get("spec", {}).get("template", {}).get("spec")
        if not pod_spec:
            continue
        for container in [*pod_spec.get("initContainers", []), *pod_spec.get("containers", [])]:
            yield from _lint_container(document["kind"], container)
        for volume in pod_spec.get("volumes", []):
            if "emptyDir" in volume and "sizeLimit" not in volume["emptyDir"]:
                yield f"volume {volume['name']}: emptyDir without sizeLimit"


def _lint_container(kind: str, container: dict[str, Any]) -> Iterator[str]:
    where = f"{kind} container {container.get('name')}"
    image = str(container.get("image", ""))
    if "@" not in image and (":" not in image.rsplit("/", 1)[-1] or image.endswith(":latest")):
        yield f"{where}: image {image!r} is not pinned"
    resources = container.get("resources", {})
    for part in ("requests", "limits"):
        for key in ("cpu", "memory"):
            if key not in resources.get(part, {}):
                yield f"{where}: no resources.{part}.{key}"
    for probe in ("readinessProbe", "livenessProbe"):
        if probe not in container:
            yield f"{where}: no {probe}"
    security = container.get("securityContext", {})
    wanted: dict[str, Callable[[Any], bool]] = {
        "runAsNonRoot": lambda v: v is True,
        "allowPrivilegeEscalation": lambda v: v is False,
        "readOnlyRootFilesystem": lambda v: v is True,
        "capabilities": lambda v: "ALL" in (v or {}).get("drop", []),
        "seccompProfile": lambda v: (v or {}).get("type") == "RuntimeDefault",
    }
    for key, good in wanted.items():
        if not good(security.get(key)):
            yield f"{where}: securityContext.{key} is not hardened"


def check_envoy(config_file: Path) -> Problems:
    """Envoy's v3 API (envoy-data-plane) rejects unknown fields, also inside typed_config."""
    config = load_file(config_file, CheckError)
    try:
        from envoy_data_plane.envoy.config.bootstrap.v3 import Bootstrap
    except ImportError:
        raise CheckError("envoy-data-plane: not installed; pip install 'sidecar-new[check]'") from None
    for type_url in set(_type_urls(config)):
        package = type_url.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        try:
            importlib.import_module(f"envoy_data_plane.{package}")
        except ImportError:
            return [f"{config_file}: unknown typed_config type {type_url}"]
    try:
        Bootstrap().from_dict(config)
    except (KeyError, TypeError, ValueError) as exc:
        return [f"{config_file}: not a valid Envoy v3 bootstrap: {exc}"]
    return []


def _type_urls(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("@type"), str):
            yield node["@type"]
        for value in node.values():
            yield from _type_urls(value)
    elif isinstance(node, list):
        for value in node:
            yield from _type_urls(value)


def _recorded_version(folder: Path) -> str:
    record = folder / ".sidecar-new.yaml"
    data = load_file(record, CheckError) if record.is_file() else {}
    return str((data or {}).get("kubernetes", {}).get("version", DEFAULT_KUBERNETES_VERSION))
