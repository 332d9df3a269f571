"""`sidecar-new check`: validate a generated folder with the real tools, plus our own rules
where those tools are known to be weaker than they look (see DESIGN.md, pitfalls)."""

from __future__ import annotations

import functools
import shutil
import subprocess
from pathlib import Path
from typing import Any, Callable, Iterator

from generator import rules
from generator.tools import check_crds
from generator.tools.check_configs import dig, documents, INSTALL_HINT, Problems, check_envoy, check_fluentd, mapping, mappings
from generator.tools.check_runtime import check_fluentd_budget, lint_ephemeral_storage, lint_tmpfs_memory
from generator.output.naming import (compose_override, kubernetes_base_of, overlay_dir, CHECKSUM_ANNOTATION, CONFIG_DIR, MANAGED_BY_LABEL, NAME_LABEL, TOOL,
                                     checksum_of, config_map_sidecar)
from generator.errors import CheckError
from generator.rules import DEFAULT_KUBERNETES_VERSION
from generator.yamlio import load_file, load_text

__all__ = ["check_folder", "check_chart", "check_overhead", "check_compose", "check_config_modes", "check_kubernetes", "check_config_maps", "check_envoy",
           "check_fluentd", "kustomize", "lint_compose", "lint_pod_specs", "lint_config_maps"]

def check_folder(folder: Path) -> Problems:
    if not folder.is_dir():
        raise CheckError(f"DIR: {folder} is not a folder")
    compose, kustomization = folder / "compose.yaml", folder / "k8s" / "kustomization.yaml"
    chart = folder / "chart" / "Chart.yaml"
    if not compose.is_file() and not kustomization.is_file() and not chart.is_file():
        raise CheckError(f"{folder}: nothing to check: no compose.yaml, no k8s/kustomization.yaml and no "
                         "chart/Chart.yaml (is it a folder sidecar-new rendered?)")
    special = _special_files(folder)
    if special:
        # Reading a named pipe blocks forever, a device may never end: check reads none of them.
        return [f"{path}: a named pipe, socket or device, not a file; remove it (check reads none)"
                for path in special]
    version, problems = _recorded_version(folder)
    if compose.is_file():
        problems += check_compose(compose)
        for override in sorted(folder.glob(compose_override("*"))):
            problems += check_compose_override(compose, override)
    if kustomization.is_file():
        problems += check_kubernetes(folder / "k8s", version)
        problems += check_config_maps(folder)
    if chart.is_file():
        problems += check_chart(folder / "chart", version)
    # Each environment's overlay builds and passes the same schemas and pod rules as the base.
    for overlay in sorted(folder.glob(f"{overlay_dir('*')}/kustomization.yaml")):
        problems += check_kubernetes(overlay.parent, version)
    problems += check_config_modes(folder)
    problems += check_fluentd_budget(folder)
    for envoy_config in sorted(folder.glob("config/*/envoy.yaml")):
        problems += check_envoy(envoy_config)
    for fluentd_config in sorted(folder.glob("config/*/fluent.conf")):
        problems += check_fluentd(fluentd_config)
    # One problem, one line (as every error is): tool output and edited names may hold newlines.
    return [" ".join(problem.split()) for problem in problems]


def check_overhead(folder: Path) -> list[str]:
    """The sidecars' overhead in the rendered Deployment against the recorded catalog budget
    (model/overhead.py; default 50% of the app's requests): one line per resource over it.
    A warning for `check`, a problem with `check --strict`, as for `new`."""
    from generator.model import overhead

    record = folder / ".sidecar-new.yaml"
    try:  # a broken record is check_folder's to report; the default budget applies meanwhile
        data = load_file(record, CheckError) if record.is_file() else {}
    except CheckError:
        data = {}
    policy = mapping(dig(data, "generated_by", "overhead_budget"))
    found = []
    for deployment in documents(kubernetes_base_of(folder) / "deployment.yaml"):
        spec = mapping(dig(deployment, "spec", "template", "spec"))
        containers = [*mappings(spec.get("initContainers")), *mappings(spec.get("containers"))]
        # The app is the container named after the service (the Deployment's name label).
        app_name = dig(deployment, "metadata", "labels", NAME_LABEL)
        app = next((c for c in containers if c.get("name") == app_name), None)
        if app is None:
            continue
        sidecars = [mapping(c.get("resources")) for c in containers if c is not app
                    and (c in mappings(spec.get("containers")) or c.get("restartPolicy") == "Always")]
        uses = overhead.overhead(mapping(app.get("resources")), sidecars,
                                 {k: v for k, v in policy.items() if isinstance(v, int)})
        found += [f"{folder}: Deployment {app_name}: sidecar overhead: {w}" for w in overhead.warnings(uses)]
    return found


def _special_files(folder: Path) -> list[Path]:
    """Everything under `folder` (through links) that is neither a regular file nor a folder."""
    import os
    import stat

    found = []
    for root, dirs, names in os.walk(folder):
        for name in [*names, *dirs]:
            path = Path(root) / name
            try:
                mode = os.stat(path).st_mode
            except OSError:  # a dangling link: reading it fails at once, with a message
                continue
            if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                found.append(path)
    return sorted(found)


def _tool(name: str) -> str:
    path = shutil.which(name)
    if not path:
        raise CheckError(f"{name}: not found; " + INSTALL_HINT)
    return path


TOOL_TIMEOUT = 120  # seconds a validator may take before it counts as hung


def _run(command: list[str], cwd: Path | None = None) -> tuple[int, str]:
    """Run a validator in a session of its own, so that when it hangs (or we are interrupted)
    it is killed together with every process it started; a hang is a problem, not a traceback."""
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               stdin=subprocess.DEVNULL, text=True, start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=TOOL_TIMEOUT)
    except subprocess.TimeoutExpired:
        _kill_group(process)
        return 124, f"{Path(command[0]).name} gave no answer within {TOOL_TIMEOUT} s and was stopped"
    except BaseException:
        _kill_group(process)
        raise
    return process.returncode, (stdout + stderr).strip()


def _kill_group(process: subprocess.Popen) -> None:
    import os
    import signal
    from contextlib import suppress

    with suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    for stream in (process.stdout, process.stderr):
        if stream:
            stream.close()  # not read to the end: a grandchild that left the group may hold it



def check_compose(compose_file: Path) -> Problems:
    code, output = _run([_tool("docker-compose"), "-f", compose_file.name, "config", "-q"],
                        cwd=compose_file.parent)
    problems = [f"{compose_file}: docker-compose config: {output}"] if code else []
    try:
        document = load_file(compose_file, CheckError)
    except CheckError as exc:  # docker-compose has said so already, in its words
        return problems or [exc.message]
    return problems + [f"{compose_file}: {problem}" for problem in lint_compose(document)]


def check_compose_override(compose_file: Path, override: Path) -> Problems:
    """`docker compose -f compose.yaml -f compose.<env>.yaml config`, as the README runs it."""
    code, output = _run([_tool("docker-compose"), "-f", compose_file.name, "-f", override.name, "config", "-q"],
                        cwd=compose_file.parent)
    return [f"{override}: docker-compose config with {compose_file.name}: {output}"] if code else []


# The own rules, one function each, kept in registries that the lints run and that
# tests/test_check_rules.py reads: a rule added here without a seeded-defect test fails it.
# A compose rule gets (service name, service mapping); a container rule (where, container);
# a pod rule the pod spec. Each yields one-line problems without the file name.
ComposeRule = Callable[[str, dict[str, Any]], Iterator[str]]
ContainerRule = Callable[[str, dict[str, Any]], Iterator[str]]
PodRule = Callable[[dict[str, Any]], Iterator[str]]
COMPOSE_RULES: dict[str, ComposeRule] = {}
CONTAINER_RULES: dict[str, ContainerRule] = {}
POD_RULES: dict[str, PodRule] = {}
# Rules that are not one function over one object (tool runs, files that must agree, config
# file structure): listed here by id so that they too must have a seeded-defect test.
FOLDER_RULES = {
    "docker-compose-config": "docker-compose config accepts compose.yaml",
    "kustomize-builds": "kubectl kustomize builds k8s/",
    "kustomize-overlay-builds": "kubectl kustomize builds each k8s/overlays/<env>/, which passes the schemas",
    "compose-override-config": "docker-compose config accepts compose.yaml with each compose.<env>.yaml",
    "kubernetes-schema": "kubernetes-validate --strict accepts every object",
    "recorded-kubernetes-version": "the schema is the Kubernetes version in .sidecar-new.yaml",
    "record-shape": ".sidecar-new.yaml is a record",
    "config-file-matches-config-map": "config/<sidecar>/ holds what the ConfigMaps hold",
    "config-file-present": "every ConfigMap key has its file under config/",
    "config-map-key-inside-folder": "a ConfigMap key is not mounted outside its folder",
    "config-checksum-matches": "the Deployment's checksum is the ConfigMaps'",
    "config-checksum-present": "a Deployment with config files carries the checksum",
    "config-files-readable": "config/ is readable by the sidecars' users",
    "compose-tmpfs-within-memory": "a service's memory limit holds the tmpfs it writes and its reservation",
    "fluentd-buffer-below-volume": "a Fluentd file buffer is capped below the volume it lives on",
    "envoy-admin-loopback": "Envoy's admin API listens on loopback only",
    "envoy-api": "envoy.yaml is an Envoy v3 bootstrap",
    "envoy-typed-config-known": "every typed_config type is one Envoy knows",
    "envoy-listener-names-unique": "listener names are unique",
    "envoy-routes-to-defined-clusters": "routes name defined clusters",
    "envoy-ports-in-range": "ports are in 1..65535",
    "envoy-ports-bound-once": "a port is bound once",
    "fluentd-directives": "fluent.conf directives are well formed and balanced",
    "fluentd-plugins-typed": "source, match and filter have an @type",
}


def compose_rule(rule_id: str) -> Callable[[ComposeRule], ComposeRule]:
    def register(rule: ComposeRule) -> ComposeRule:
        COMPOSE_RULES[rule_id] = rule
        return rule
    return register


def container_rule(rule_id: str) -> Callable[[ContainerRule], ContainerRule]:
    def register(rule: ContainerRule) -> ContainerRule:
        CONTAINER_RULES[rule_id] = rule
        return rule
    return register


def pod_rule(rule_id: str) -> Callable[[PodRule], PodRule]:
    def register(rule: PodRule) -> PodRule:
        POD_RULES[rule_id] = rule
        return rule
    return register


def lint_compose(document: Any) -> Iterator[str]:
    """Own rules on compose.yaml; shapes docker-compose refuses (a service that is not a
    mapping, ...) are skipped here, as it reports them."""
    for name, service in mapping(dig(document, "services")).items():
        if isinstance(service, dict):
            for rule in COMPOSE_RULES.values():
                yield from rule(str(name), service)
    yield from lint_tmpfs_memory(document)  # compose-tmpfs-within-memory: needs every service


@compose_rule("compose-network-mode-alone")
def _network_mode_alone(name: str, service: dict[str, Any]) -> Iterator[str]:
    mode = str(service.get("network_mode", ""))
    if mode.startswith("service:"):
        # Compose accepts these beside network_mode; the engine refuses them later.
        for key in ("ports", "expose", "hostname", "networks"):
            if key in service:
                yield f"service {name}: {key} cannot go with {mode}"


@compose_rule("compose-image-pinned")
def _compose_image_pinned(name: str, service: dict[str, Any]) -> Iterator[str]:
    image = str(service.get("image", ""))
    if "image" in service and not rules.is_pinned(image):
        yield f"service {name}: image {image!r} is not pinned"


@compose_rule("compose-read-only")
def _compose_read_only(name: str, service: dict[str, Any]) -> Iterator[str]:
    if service.get("read_only") is not True:
        yield f"service {name}: not read_only (a writable root filesystem)"


@compose_rule("compose-cap-drop-all")
def _compose_cap_drop(name: str, service: dict[str, Any]) -> Iterator[str]:
    drop = service.get("cap_drop")
    if not isinstance(drop, list) or "ALL" not in drop:
        yield f"service {name}: cap_drop does not drop ALL capabilities"


@compose_rule("compose-user-not-root")
def _compose_user(name: str, service: dict[str, Any]) -> Iterator[str]:
    user = str(service.get("user", "")).split(":", 1)[0].strip()
    if user in ("", "0", "root"):
        yield (f"service {name}: runs as root (no user, or user 0); set user to a non-root uid"
               if user else f"service {name}: no user (the image's, often root); set a non-root uid")


@compose_rule("compose-no-new-privileges")
def _compose_no_new_privileges(name: str, service: dict[str, Any]) -> Iterator[str]:
    options = service.get("security_opt")
    options = [str(o).replace("=", ":").replace(" ", "") for o in options] if isinstance(options, list) else []
    if not {"no-new-privileges", "no-new-privileges:true"} & set(options):
        yield f"service {name}: no security_opt no-new-privileges:true"


@compose_rule("compose-limits")
def _compose_limits(name: str, service: dict[str, Any]) -> Iterator[str]:
    if "limits" not in mapping(dig(service, "deploy", "resources")):
        yield f"service {name}: no deploy.resources.limits"


@compose_rule("compose-no-cpu-reservation")
def _compose_cpu_reservation(name: str, service: dict[str, Any]) -> Iterator[str]:
    if "cpus" in mapping(dig(service, "deploy", "resources", "reservations")):
        yield (f"service {name}: deploy.resources.reservations.cpus does nothing in Compose (only "
               "the memory reservation is applied); remove it")


@compose_rule("compose-logs-rotated")
def _compose_logs_rotated(name: str, service: dict[str, Any]) -> Iterator[str]:
    logging = mapping(service.get("logging"))
    if logging.get("driver", "json-file") == "json-file" and "max-size" not in mapping(logging.get("options")):
        yield (f"service {name}: container logs are never rotated (the json-file driver keeps every "
               "line); set logging.options max-size and max-file")


@compose_rule("compose-no-lone-dollar")
def _compose_no_lone_dollar(name: str, service: dict[str, Any]) -> Iterator[str]:
    # `docker compose up` substitutes $VAR and ${VAR} from the caller's environment; the
    # emitter writes every $ of data as $$ (emit/compose.py literal_dollars).
    stack: list[Any] = [service]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str) and "$" in item.replace("$$", ""):
            yield (f"service {name}: {item[:60]!r} holds a lone $: docker compose up substitutes it "
                   "from the caller's environment; write $$ for a literal $")
            return


def check_config_modes(folder: Path) -> Problems:
    """config/ is read by the containers as their own users (bind mounts in Compose), so every
    file must be readable and every folder searchable by all, whatever umask rendered it."""
    problems = []
    config = folder / "config"
    for path in sorted([config, *config.rglob("*")] if config.is_dir() else []):
        if path.is_symlink():
            continue
        mode, wanted = path.stat().st_mode & 0o777, (0o555 if path.is_dir() else 0o444)
        if mode & wanted != wanted:
            problems.append(f"{path}: mode {mode:04o}: the sidecars read it as other users and cannot; "
                            f"chmod {'0755' if path.is_dir() else '0644'} (render again, whatever the umask)")
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
    documents = load_text(built, "the kustomize output", CheckError, all_documents=True)
    problems = [f"{k8s_dir}: kubernetes-validate {version}: {p}" for p in validate_schemas(documents, version)]
    return problems + [f"{k8s_dir}: {p}" for p in lint_pod_specs(documents)]


def check_chart(chart_dir: Path, version: str) -> Problems:
    """`helm lint --strict`, then `helm template` at the recorded version through the same
    schema and pod rules as the kustomize base."""
    helm = shutil.which("helm")
    if not helm:
        raise CheckError("helm: not found; install helm 3.8 or later (in a clone, `bash scripts/test-tools.sh` "
                         "puts it in .tools/bin: add that to PATH)")
    code, output = _run([helm, "lint", "--strict", str(chart_dir)])
    if code:
        return [f"{chart_dir}: helm lint --strict: {line}" for line in output.splitlines()
                if line.startswith(("[ERROR]", "[WARNING]", "Error"))] or [f"{chart_dir}: helm lint --strict: {code}"]
    code, output = _run([helm, "template", "release", str(chart_dir), "--kube-version", version])
    if code:
        return [f"{chart_dir}: helm template: {output.splitlines()[-1] if output else code}"]
    documents = [d for d in load_text(output, "the helm template output", CheckError, all_documents=True) if d]
    problems = [f"{chart_dir}: kubernetes-validate {version}: {p}" for p in validate_schemas(documents, version)]
    return problems + [f"{chart_dir}: {p}" for p in lint_pod_specs(documents)]


def validate_schemas(documents: list[Any], version: str) -> Iterator[str]:
    """`kubernetes-validate --strict` on each object, in this process: its command starts a
    second Python and takes ~1 s a run, this ~0.3 s. Lines worded as the command words them;
    a warning (an unknown apiVersion/kind) is a problem too."""
    utils = _kubernetes_validate()
    for document in documents:
        if not document:  # the command skips empty documents too
            continue
        resource = f"{str(dig(document, 'kind')).lower()}/{dig(document, 'metadata', 'name')}"
        if check_crds.knows(document):  # a CRD kubernetes-validate would only warn about
            for problem in check_crds.problems(document):
                yield (f"ERROR the kustomize output did not validate for resource {resource} against "
                       f"the {document['kind']} CRD's schema: {problem}")
            continue
        try:
            utils.validate(document, f"{version}.0", strict=True)
        except utils.ValidationError as exc:
            path = ".".join(str(item) for item in exc.path)
            yield (f"ERROR the kustomize output did not validate for resource {resource} against "
                   f"version {exc.version}: {path}: {exc.message}")
        except (utils.SchemaNotFoundError, utils.InvalidSchemaError) as exc:
            yield f"WARN the kustomize output {exc.message}"
        except utils.VersionNotSupportedError:
            yield f"FATAL kubernetes-validate does not support Kubernetes {version}"
        except Exception as exc:  # noqa: BLE001 - the command's own catch-all, worded as it words it
            yield f"ERROR the kustomize output could not be validated: {exc}"


@functools.cache
def _kubernetes_validate() -> Any:
    try:
        from kubernetes_validate import utils
    except ImportError:
        raise CheckError("kubernetes-validate: not installed; " + INSTALL_HINT) from None
    # It parses the 1.3 MB _definitions.json again for every object (60% of its time): the
    # files are read-only package data, so one parse a file serves every object.
    utils.schema_contents = functools.lru_cache(maxsize=None)(utils.schema_contents)
    return utils


def lint_pod_specs(documents: list[Any]) -> Iterator[str]:
    """Rules the schema cannot express, checked on every container, init containers included
    (checkov reads only `containers`, so a native sidecar would escape it). Wrong shapes are
    kubernetes-validate's to report: here they are skipped."""
    for document in documents:
        pod_spec = mapping(dig(document, "spec", "template", "spec"))
        if not pod_spec:
            continue
        kind = str(dig(document, "kind"))
        # A plain init container (a first step, below 1.29) runs once to completion: the API
        # refuses probes on it, so the probe rule is for native sidecars and containers only.
        one_shot = [c for c in mappings(pod_spec.get("initContainers")) if c.get("restartPolicy") != "Always"]
        for container in [*mappings(pod_spec.get("initContainers")), *mappings(pod_spec.get("containers"))]:
            for name, rule in CONTAINER_RULES.items():
                if not (name == "k8s-probes" and any(container is c for c in one_shot)):
                    yield from rule(f"{kind} container {container.get('name')}", container)
        for pod_check in POD_RULES.values():
            yield from pod_check(pod_spec)


@pod_rule("k8s-emptydir-size-limit")
def _empty_dir_size_limit(pod_spec: dict[str, Any]) -> Iterator[str]:
    for volume in mappings(pod_spec.get("volumes")):
        if "emptyDir" in volume and "sizeLimit" not in mapping(volume["emptyDir"]):
            yield f"volume {volume.get('name')}: emptyDir without sizeLimit"


@pod_rule("k8s-ephemeral-covers-emptydirs")
def _ephemeral_covers_empty_dirs(pod_spec: dict[str, Any]) -> Iterator[str]:
    yield from lint_ephemeral_storage(pod_spec)


@container_rule("k8s-image-pinned")
def _image_pinned(where: str, container: dict[str, Any]) -> Iterator[str]:
    image = str(container.get("image", ""))
    if not rules.is_pinned(image):
        yield f"{where}: image {image!r} is not pinned"


@container_rule("k8s-requests-and-limits")
def _requests_and_limits(where: str, container: dict[str, Any]) -> Iterator[str]:
    for part in ("requests", "limits"):
        for key in ("cpu", "memory"):
            if key not in mapping(dig(container, "resources", part)):
                yield f"{where}: no resources.{part}.{key}"


@container_rule("k8s-limit-not-below-request")
def _limit_not_below_request(where: str, container: dict[str, Any]) -> Iterator[str]:
    for key in ("cpu", "memory"):
        request = rules.quantity_value(dig(container, "resources", "requests", key))
        limit = rules.quantity_value(dig(container, "resources", "limits", key))
        if request is not None and limit is not None and limit < request:
            yield f"{where}: resources.limits.{key} is below the request (the API server refuses it)"


@container_rule("k8s-probes")
def _probes(where: str, container: dict[str, Any]) -> Iterator[str]:
    for probe in ("readinessProbe", "livenessProbe"):
        if probe not in container:
            yield f"{where}: no {probe}"


def _hardened(key: str, good: Callable[[Any], bool]) -> ContainerRule:
    def rule(where: str, container: dict[str, Any]) -> Iterator[str]:
        if not good(mapping(container.get("securityContext")).get(key)):
            yield f"{where}: securityContext.{key} is not hardened"
    return rule


for _key, _good in {
    "runAsNonRoot": lambda v: v is True,
    "allowPrivilegeEscalation": lambda v: v is False,
    "readOnlyRootFilesystem": lambda v: v is True,
    "capabilities": lambda v: isinstance(dig(v, "drop"), list) and "ALL" in dig(v, "drop"),
    "seccompProfile": lambda v: dig(v, "type") == "RuntimeDefault",
}.items():
    container_rule(f"k8s-{_key}")(_hardened(_key, _good))
del _key, _good


def check_config_maps(folder: Path) -> Problems:
    """The files of one render agree: config/<sidecar>/ holds what the ConfigMaps hold, and the
    Deployment's checksum (which makes pods restart on a config change) is theirs."""
    k8s = kubernetes_base_of(folder)
    return list(lint_config_maps(folder, documents(k8s / "configmaps.yaml"), documents(k8s / "deployment.yaml")))



def lint_config_maps(folder: Path, config_maps: list[Any], deployments: list[Any]) -> Iterator[str]:
    deployment = next((d for d in mappings(deployments) if d.get("kind") == "Deployment"), {})
    # Where each key is mounted: a volume's items, else the key itself is the file name.
    mounted = {str(dig(volume, "configMap", "name")): {str(item.get("key")): str(item.get("path"))
                                                        for item in mappings(dig(volume, "configMap", "items"))}
               for volume in mappings(dig(deployment, "spec", "template", "spec", "volumes"))}
    # The checksum as emit/kubernetes.py config_checksum computes it: every config file in
    # render order, which is ConfigMap by ConfigMap, key by key, as written.
    entries: list[tuple[str, str, str]] = []
    for config_map in mappings(config_maps):
        name = str(dig(config_map, "metadata", "name"))
        labels = mapping(dig(config_map, "metadata", "labels"))
        sidecar = config_map_sidecar(str(labels.get(NAME_LABEL)), name)
        if config_map.get("kind") != "ConfigMap" or labels.get(MANAGED_BY_LABEL) != TOOL or sidecar is None:
            continue
        for key, text in mapping(config_map.get("data")).items():
            path, text = mounted.get(name, {}).get(str(key), str(key)), str(text)
            entries.append((sidecar, path, text))
            yield from _compare_config_file(folder, sidecar, path, text, f"ConfigMap {name}", str(key))
    written = dig(deployment, "spec", "template", "metadata", "annotations", CHECKSUM_ANNOTATION)
    expected = checksum_of(entries)
    if written is None and entries and deployment:
        yield (f"{folder / 'k8s' / 'deployment.yaml'}: Deployment {dig(deployment, 'metadata', 'name')}: "
               f"no annotation {CHECKSUM_ANNOTATION}, so pods will not restart on a config change; "
               f"the ConfigMaps give {expected}")
    elif written is not None and written != expected:
        yield (f"{folder / 'k8s' / 'deployment.yaml'}: Deployment {dig(deployment, 'metadata', 'name')}: "
               f"annotation {CHECKSUM_ANNOTATION} does not match the ConfigMaps in k8s/configmaps.yaml, "
               f"so pods will not restart on a config change; the ConfigMaps give {expected}")


def _compare_config_file(folder: Path, sidecar: str, path: str, text: str, config_map: str,
                         key: str) -> Iterator[str]:
    if Path(path).is_absolute() or ".." in Path(path).parts or ".." in Path(sidecar).parts:
        yield f"{folder / 'k8s' / 'configmaps.yaml'}: {config_map}: key {key} would be mounted outside its folder"
        return
    config_file = folder / CONFIG_DIR / sidecar / path
    if not config_file.is_file():
        yield f"{config_file}: missing; {config_map} has it (key {key} in k8s/configmaps.yaml)"
        return
    # Bytes, not read_text: newline translation would hide a file saved with CRLF.
    if config_file.read_bytes() != text.encode():
        yield (f"{config_file}: differs from {config_map} (key {key}) in k8s/configmaps.yaml; "
               "edit both, or render again")


def _recorded_version(folder: Path) -> tuple[str, Problems]:
    """The Kubernetes version the folder was rendered for, and any problem with its record."""
    record = folder / ".sidecar-new.yaml"
    if not record.is_file():
        return DEFAULT_KUBERNETES_VERSION, []
    try:
        data = load_file(record, CheckError)
    except CheckError as exc:
        return DEFAULT_KUBERNETES_VERSION, [exc.message]
    kubernetes = data.get("kubernetes", {}) if isinstance(data, dict) else None
    if not isinstance(kubernetes, dict):
        return DEFAULT_KUBERNETES_VERSION, [
            f"{record}: not a sidecar-new record (a mapping with kubernetes: {{version: ...}}); "
            f"checked against Kubernetes {DEFAULT_KUBERNETES_VERSION}"]
    try:  # the record may have been edited: it names the schema folder kubernetes-validate reads
        return rules.kubernetes_version("kubernetes.version",
                                        kubernetes.get("version", DEFAULT_KUBERNETES_VERSION)), []
    except rules.RuleError as exc:
        return DEFAULT_KUBERNETES_VERSION, [f"{record}: {exc.message}; checked against Kubernetes "
                                            f"{DEFAULT_KUBERNETES_VERSION}"]
