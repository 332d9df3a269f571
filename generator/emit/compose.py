"""Compose emitter: compose.yaml from a Pod. The app and its sidecars join one network
namespace, owned by a service that never restarts (the pod's namespace holder)."""

from __future__ import annotations

from typing import Any

from generator import rules
from generator.output.fileset import FileSet
from generator.output.naming import CONFIG_DIR, SECRETS_DIR, compose_override
from generator.model import budget
from generator.model.pod import Container, Mount, Pod, Probe, Volume, one_shot_name
from generator.yamlio import dump

_UNITS = {"Ki": "k", "Mi": "m", "Gi": "g"}  # Docker's k/m/g are binary units
# Docker's json-file driver keeps every line forever unless told otherwise (max-size -1); these
# are kubelet's own rotation defaults (containerLogMaxSize 10Mi, containerLogMaxFiles 5), so a
# service keeps as much log on a Compose host as on a node.
# https://docs.docker.com/engine/logging/drivers/json-file/
LOGGING = {"driver": "json-file", "options": {"max-size": "10m", "max-file": "5"}}
# Where Compose reads the values Kubernetes takes from Secrets and ConfigMaps: env/<service>.env,
# written by the user, never by sidecar-new (see env_files).
ENV_DIR = "env"


def emit_compose(pod: Pod, environments: tuple[tuple[str, Pod], ...] = ()) -> FileSet:
    """compose.yaml, and compose.<env>.yaml for each environment that changes something."""
    holder = pod.namespace_holder
    # Built once: per container it made the render quadratic in the number of sidecars.
    config_of = {v.name: v.config_of for v in pod.volumes if v.config_of}
    services = {holder.name: _holder_service(pod, config_of), pod.app.name: _app_service(pod, config_of)}
    for sidecar in pod.sidecars:
        services[sidecar.name] = _sidecar_service(pod, sidecar, config_of)
        if sidecar.before_app_args and not sidecar.compose_healthcheck:
            services[one_shot_name(sidecar.name)] = _one_shot_service(pod, sidecar, config_of)
    document: dict[str, Any] = {"name": pod.name, "services": services,
                                "volumes": {v.name: _scratch_volume(pod, v.size) for v in pod.volumes if v.scratch}}
    secrets = {name: {"file": source} for v in pod.volumes for name, source, _ in secret_files(v)}
    if secrets:
        document["secrets"] = secrets
    files = {"compose.yaml": dump(literal_dollars(document)).encode()}
    for name, env_pod in environments:
        files.update(_override(pod, env_pod, name))
    if any(env_file_of(c) for p in (pod, *(env_pod for _, env_pod in environments)) for c in p.containers):
        files[f"{ENV_DIR}/.gitignore"] = ENV_GITIGNORE.encode()
    if secrets:
        files[f"{SECRETS_DIR}/.gitignore"] = SECRETS_GITIGNORE.encode()
    return files


SECRETS_GITIGNORE = """\
# The files compose.yaml mounts as secrets (see README.md): written by you, never by
# sidecar-new, and kept out of version control.
*
!.gitignore
"""


ENV_GITIGNORE = """\
# The values compose.yaml reads from Secrets and ConfigMaps (see README.md): written by you,
# never by sidecar-new, and kept out of version control.
*
!.gitignore
"""


def env_files(pod: Pod) -> dict[str, str]:
    """service -> the env file that holds the values of its Secret and ConfigMap references.

    Compose has no reference to a key of a Secret: its `secrets:` mount files under
    /run/secrets, which would change how the app reads a value between the two targets. An
    env_file gives the same variables Kubernetes' secretKeyRef/configMapKeyRef/envFrom give,
    and only its path is written here, so no value reaches compose.yaml, the record or the
    output folder (the user keeps the file; env/.gitignore keeps it out of version control).
    `required: false`: `docker compose config` (and `sidecar-new check`) must pass on the
    output as rendered, before anyone has filled the file in; the README says what goes in it.
    Values from it lose to `environment:`, which never holds the same names."""
    return {c.name: path for c in pod.containers for path in [env_file_of(c)] if path}


def env_file_of(container: Container) -> str | None:
    referenced = container.env_from or any(var.source for var in container.env)
    return f"{ENV_DIR}/{container.name}.env" if referenced else None


def _override(base: Pod, pod: Pod, environment: str) -> FileSet:
    """compose.<env>.yaml, for `docker compose -f compose.yaml -f compose.<env>.yaml`: the app's
    environment and resources as that environment has them. Nothing when they are the base's
    (replicas and the ingress host mean nothing to Compose). Compose merges an override key by
    key (environment by variable, deploy.resources by field), so only what differs is written."""
    config_of = {v.name: v.config_of for v in base.volumes if v.config_of}
    before, after = _hardened(base, base.app, config_of), _hardened(pod, pod.app, config_of)
    changed = {key: after[key] for key in ("environment", "env_file", "deploy")
               if key in after and after[key] != before.get(key)}
    if "environment" in changed:  # merged variable by variable: only those that change
        changed["environment"] = {k: v for k, v in after["environment"].items()
                                  if before.get("environment", {}).get(k) != v}
    if not changed:
        return {}
    document = {"services": {pod.app.name: changed}}
    return {compose_override(environment): dump(literal_dollars(document)).encode()}
def secret_files(volume: Volume) -> list[tuple[str, str, str]]:
    """(Compose secret name, the file the user supplies, its name in the mounted folder) for a
    Secret or token volume. Compose has no Secret store outside Swarm: a file-based secret is a
    bind mount of a file the user puts beside compose.yaml (secrets/<Secret>/<key>), so no value
    is ever written into the output; it must be readable by the container's user."""
    if volume.secret is not None:
        return [(f"{volume.name}-{key}", f"./{SECRETS_DIR}/{volume.secret.name}/{key}", key)
                for key in volume.secret.keys]
    if volume.token is not None:
        # No kubelet to project a token: the file holds one the user issued for this audience
        # (e.g. `kubectl create token SA --audience AUD`) or the auth method's own credential.
        return [(volume.name, f"./{SECRETS_DIR}/{volume.name}/{volume.token.file}", volume.token.file)]
    return []


def literal_dollars(value: Any) -> Any:
    """Compose substitutes $VAR and ${VAR} in every value from the environment of whoever runs
    `docker compose up`. Every $ written here is data (a template's env or args, the app's
    health_command, a parameter), never a substitution, so it is written $$
    (https://docs.docker.com/compose/compose-file/12-interpolation/)."""
    if isinstance(value, str):
        return value.replace("$", "$$")
    if isinstance(value, dict):
        return {key: literal_dollars(item) for key, item in value.items()}
    if isinstance(value, list):
        return [literal_dollars(item) for item in value]
    return value


def _holder_service(pod: Pod, config_of: dict[str, str]) -> dict[str, Any]:
    service = _hardened(pod, pod.namespace_holder, config_of)
    # The app and the sidecars join this network namespace, so every published port is
    # declared here. Only the way in: publishing the app's port beside a proxy would bypass it.
    service["ports"] = [_published(p.number, p.protocol) for p in pod.public_ports]
    return service


def _joined(pod: Pod, service: dict[str, Any]) -> dict[str, Any]:
    holder = pod.namespace_holder.name
    service["network_mode"] = f"service:{holder}"
    service["depends_on"] = {holder: {"condition": "service_started"}}
    return service


def _app_service(pod: Pod, config_of: dict[str, str]) -> dict[str, Any]:
    service = _joined(pod, _hardened(pod, pod.app, config_of))
    service["depends_on"].update(_app_waits_for(pod))
    if pod.app.compose_healthcheck:
        service["healthcheck"] = _healthcheck(pod.app.compose_healthcheck, pod.app.readiness,
                                              pod.app.startup)
    return service


def _sidecar_service(pod: Pod, sidecar: Container, config_of: dict[str, str]) -> dict[str, Any]:
    service = _joined(pod, _hardened(pod, sidecar, config_of))
    condition = "service_healthy" if pod.app.compose_healthcheck else "service_started"
    # Started once the app is up. No `restart: true`: the namespace is the holder's, so a
    # restarted app comes back into it and the sidecars need not follow. A sidecar whose first
    # step the app waits for starts before it instead (_app_waits_for).
    if not sidecar.before_app_args:
        service["depends_on"][pod.app.name] = {"condition": condition}
    if sidecar.compose_healthcheck:
        service["healthcheck"] = _healthcheck(sidecar.compose_healthcheck, sidecar.readiness,
                                              sidecar.startup)
    return service


def _app_waits_for(pod: Pod) -> dict[str, dict[str, str]]:
    """The sidecars whose first step the app waits for (before_app): healthy, when the image can
    run a healthcheck that says the step is done; else their one-shot service, completed."""
    waits = {}
    for sidecar in pod.sidecars:
        if sidecar.before_app_args and sidecar.compose_healthcheck:
            waits[sidecar.name] = {"condition": "service_healthy"}
        elif sidecar.before_app_args:
            waits[one_shot_name(sidecar.name)] = {"condition": "service_completed_successfully"}
    return waits


def _one_shot_service(pod: Pod, sidecar: Container, config_of: dict[str, str]) -> dict[str, Any]:
    """The first step alone (the sidecar's before_app args), run to completion before the app."""
    service = _joined(pod, _hardened(pod, sidecar, config_of))
    service["command"] = list(sidecar.before_app_args)
    service["restart"] = "no"  # a one-shot step: done once, not kept running
    return service


def _hardened(pod: Pod, container: Container, config_of: dict[str, str]) -> dict[str, Any]:
    service: dict[str, Any] = {"image": container.image}
    if container.command:
        service["entrypoint"] = list(container.command)
    if container.args:
        service["command"] = list(container.args)
    plain = {var.name: var.value for var in container.env if var.source is None}
    if plain:
        service["environment"] = plain
    env_file = env_file_of(container)
    if env_file:
        service["env_file"] = [{"path": env_file, "required": False}]
    service.update({
        "user": f"{container.run_as}:{container.group}",
        "read_only": True,
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges:true"],
        "restart": "unless-stopped",
        # What Kubernetes gives after SIGTERM (Compose runs no preStop hook).
        "stop_grace_period": f"{pod.termination_grace - pod.app.pre_stop_sleep}s",
    })
    files = {v.name: secret_files(v) for v in pod.volumes if v.secret is not None or v.token is not None}
    volumes = [_mount(m, config_of) for m in container.mounts if m.volume not in files]
    if volumes:
        service["volumes"] = volumes
    secrets = [{"source": name, "target": f"{m.path.rstrip('/')}/{file}"}
               for m in container.mounts for name, _, file in files.get(m.volume, [])]
    if secrets:
        service["secrets"] = secrets
    limits, requests = dict(container.limits), dict(container.requests)
    # Its tmpfs volumes are charged to its memory cgroup: the limit holds them on top.
    memory = budget.memory_limit_with_tmpfs(limits["memory"], tmpfs_charges(pod).get(container.name, {}).values())
    # No reservations.cpus: Compose maps only the memory reservation (mem_reservation) onto
    # the container and ignores a CPU one, so writing it would promise what does not happen.
    service["deploy"] = {"resources": {
        "limits": {"cpus": _cpus(limits["cpu"]), "memory": _memory(budget.quantity(memory))},
        "reservations": {"memory": _memory(requests["memory"])},
    }}
    service["logging"] = {"driver": LOGGING["driver"], "options": dict(LOGGING["options"])}
    return service


def _mount(mount: Mount, config_of: dict[str, str]) -> dict[str, Any]:
    if mount.volume in config_of:
        # Config files are bind-mounted from config/<sidecar>/ beside compose.yaml.
        return {"type": "bind", "source": f"./{CONFIG_DIR}/{config_of[mount.volume]}",
                "target": mount.path, "read_only": True}
    entry: dict[str, Any] = {"type": "volume", "source": mount.volume, "target": mount.path}
    if mount.read_only:
        entry["read_only"] = True
    return entry


def tmpfs_charges(pod: Pod) -> dict[str, dict[str, int]]:
    """container -> the tmpfs volumes charged to its memory (the first that writes each)."""
    # In-memory volumes are in the writer's memory limit already (model/pod.py charges them for
    # both targets), so only the disk-backed ones, tmpfs here, are added.
    sizes = {v.name: budget.size_bytes(v.size) for v in pod.volumes if v.scratch and not v.in_memory}
    return budget.first_writers(sizes, [(c.name, m.volume, m.read_only) for c in pod.containers for m in c.mounts])


def _scratch_volume(pod: Pod, size: str) -> dict[str, Any]:
    # tmpfs, like an emptyDir: sized, owned by the app and the shared group, gone with the stack.
    owner = f"uid={pod.app.run_as},gid={pod.app.group}"
    return {"driver": "local", "driver_opts": {
        "type": "tmpfs", "device": "tmpfs", "o": f"size={_memory(size)},{owner},mode=0770"}}


def _healthcheck(command: tuple[str, ...], readiness: Probe | None, startup: Probe | None) -> dict[str, Any]:
    probe = readiness or Probe(port=0)
    check: dict[str, Any] = {"test": ["CMD", *command], "interval": f"{probe.period}s",
                             "timeout": f"{probe.timeout}s", "retries": probe.failures}
    if startup:
        check["start_period"] = f"{startup.period * startup.failures}s"
    return check


def _published(number: int, protocol: str) -> str:
    return f"{number}:{number}" + ("/udp" if protocol == "UDP" else "")


def _cpus(quantity: str) -> str:
    return f"{rules.quantity_value(quantity):g}"


def _memory(quantity: str) -> str:
    # The schema and the answers allow only whole bytes (rules.is_memory): Docker's k/m/g are
    # binary, so Ki/Mi/Gi map onto them and a decimal k/M/G is written as its byte count.
    number, suffix = rules.quantity_parts(quantity)
    if suffix in _UNITS or suffix == "":
        return number + _UNITS.get(suffix, "")
    return str(budget.size_bytes(quantity))
