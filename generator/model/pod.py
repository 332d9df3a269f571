"""Pod: the target-neutral model of the app and its sidecars, built from a Spec and a Catalog.

Emitters read only this model, so Compose and Kubernetes agree on names, ports,
volumes, probes, resources and users by construction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from generator import rules
from generator.model import budget
from generator.catalog.loader import Catalog, Template
from generator.catalog.schema import (DEFAULT_VOLUME_SIZE, PROBE_DELAY, PROBE_FAILURES, PROBE_PERIOD,
                                      PROBE_TIMEOUT, Definition, ProbeDef, check_expanded)
from generator.errors import CatalogError, SpecError
from generator.model.render import expand, expand_definition, render_file
from generator.input.exposure import Autoscaling, Ingress
from generator.input.sidecars import fronting_order
from generator.input.spec import App, SidecarChoice, Spec, template_context
from generator.rules import EnvSource  # the emitters take it from here, with EnvVar

APP_USER = 10001  # the default uid/gid (app.user): >= 10000 keeps clear of host users (CKV_K8S_40)
APP_LOGS = "app-logs"
# The container that owns the pod's network namespace (Kubernetes: kubelet's pause sandbox;
# Compose: a service of its own, see build_namespace_holder).
NAMESPACE_HOLDER = "netns"
HOLDER_USER = 65535  # the pause image's own USER
# Native sidecars start in list order: the log shipper first so it sees the app's first
# lines, the proxy last so everything behind it is up when it starts taking traffic.
_START_ORDER = {"logging": 0, "metrics": 1, "proxy": 3}
APP_DRAIN = 5  # seconds the app keeps serving after the pod is told to stop (endpoint removal)
SHUTDOWN = 30  # then Kubernetes' default grace: the app's own shutdown, and the sidecars' after it


@dataclass(frozen=True, slots=True)
class Port:
    name: str
    number: int
    protocol: str = "TCP"
    public: bool = False  # in the Service, the NetworkPolicy and published by Compose
    scrape_path: str | None = None  # Prometheus scrapes it here: allowed by the NetworkPolicy


@dataclass(frozen=True, slots=True)
class Probe:
    port: int | None
    path: str | None = None  # None: a TCP check
    command: tuple[str, ...] = ()  # an exec probe (port None): runs in the container's image
    period: int = PROBE_PERIOD
    timeout: int = PROBE_TIMEOUT
    failures: int = PROBE_FAILURES
    initial_delay: int = PROBE_DELAY


@dataclass(frozen=True, slots=True)
class Mount:
    volume: str
    path: str
    read_only: bool = False


@dataclass(frozen=True, slots=True)
class Volume:
    name: str
    size: str = DEFAULT_VOLUME_SIZE  # emptyDir sizeLimit / tmpfs size
    config_of: str | None = None  # a sidecar's config files instead of scratch space
    in_memory: bool = False  # emptyDir medium Memory: charged to its writer's memory limit
    secret: SecretSource | None = None  # a Secret's keys as files, not scratch space
    token: TokenSource | None = None  # a projected service-account token, not scratch space

    @property
    def scratch(self) -> bool:
        """Sized space a container writes (emptyDir / tmpfs), not files given to it."""
        return self.config_of is None and self.secret is None and self.token is None


@dataclass(frozen=True, slots=True)
class SecretSource:
    """Kubernetes: the Secret `name`'s keys as files; Compose: one secret file a key, which the
    user supplies beside compose.yaml (secrets/<name>/<key>). Values never pass through here."""

    name: str
    keys: tuple[str, ...]
    mode: int


@dataclass(frozen=True, slots=True)
class TokenSource:
    """A service-account token kubelet projects and renews (Compose: a file the user supplies)."""

    audience: str
    expiration: int
    file: str = "token"


@dataclass(frozen=True, slots=True)
class ConfigFile:
    sidecar: str
    path: str  # relative to the sidecar's config_dir
    text: str


@dataclass(frozen=True, slots=True)
class EnvVar:
    """One environment variable of a container, the app's or a sidecar's: a plain value, or a
    reference to a Secret or ConfigMap key (EnvSource, defined with its rule in rules.py so the
    request and the catalog schema can parse it too). Emitters write a reference as a reference
    (Kubernetes valueFrom; Compose an env_file the user fills), never a value."""

    name: str
    value: str | EnvSource

    @property
    def source(self) -> EnvSource | None:
        return self.value if isinstance(self.value, EnvSource) else None


@dataclass(frozen=True, slots=True)
class Container:
    name: str
    image: str
    capability: str
    run_as: int
    ports: tuple[Port, ...]
    mounts: tuple[Mount, ...]
    startup: Probe | None
    readiness: Probe | None
    liveness: Probe | None
    requests: tuple[tuple[str, str], ...]
    limits: tuple[tuple[str, str], ...]
    command: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    env: tuple[EnvVar, ...] = ()
    env_from: tuple[EnvSource, ...] = ()  # every key of each Secret/ConfigMap, as variables
    compose_healthcheck: tuple[str, ...] = ()  # exec form, only with a command in the image
    pre_stop_sleep: int = 0
    config_dir: str | None = None
    group: int = APP_USER  # the pod's shared group (the app's gid): shared volumes via fsGroup
    # A first step the app waits for (before_app): its one-shot args, for an init container
    # below Kubernetes 1.29 and a one-shot Compose service; empty for an ordinary sidecar.
    before_app_args: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Pod:
    name: str
    namespace: str
    create_namespace: bool
    replicas: int
    app: Container
    sidecars: tuple[Container, ...]
    volumes: tuple[Volume, ...]
    config_files: tuple[ConfigFile, ...]
    metrics_path: str | None
    termination_grace: int
    # Owns the network namespace the app and the sidecars join. Kubernetes has one per pod
    # already (the sandbox), so only Compose emits it.
    namespace_holder: Container
    image_pull_secrets: tuple[str, ...] = ()
    ingress: Ingress | None = None
    autoscaling: Autoscaling | None = None  # then the HPA owns the replica count
    overhead_budget: tuple[tuple[str, int], ...] = ()  # the catalog's (model/overhead.py)

    @property
    def containers(self) -> tuple[Container, ...]:
        return (self.app, *self.sidecars)

    @property
    def public_ports(self) -> tuple[Port, ...]:
        return tuple(p for c in self.containers for p in c.ports if p.public)

    @property
    def way_in(self) -> Port | None:
        """The port an Ingress or HTTPRoute sends traffic to: the proxy's when one fronts the app."""
        return next((p for p in self.public_ports if p.protocol == "TCP"), None)


def build_pod(spec: Spec, catalog: Catalog) -> Pod:
    chosen = sorted(spec.sidecars, key=lambda c: _START_ORDER.get(catalog.get(c.name).capability, 2))
    fronting = fronting_order([c.name for c in chosen], catalog)
    upstreams = _upstreams(fronting, {c.name: c for c in chosen}, catalog, spec.app)
    sidecars, volumes, files, app_mounts = [], [], [], []
    for choice in chosen:
        container, own_volumes, own_files, for_app = _build_sidecar(
            catalog.get(choice.name), choice, spec.app, upstreams.get(choice.name, spec.app.port),
            inner=choice.name in fronting[1:])
        sidecars.append(container)
        volumes += own_volumes
        files += own_files
        app_mounts += for_app
    app_env = [*(EnvVar(k, v) for k, v in spec.app.env),
               *(var for c in chosen for var in _app_env(catalog.get(c.name), c, spec.app))]
    # The prometheus.io annotations name one port per pod: a metrics sidecar's wins over the
    # app's own path, and only the scraped port is opened (the app's port behind a proxy
    # would otherwise be open to everyone).
    sidecar_scraped = any(p.scrape_path for c in sidecars for p in c.ports)
    app, app_volumes = _build_app(spec.app, bool(fronting), app_env, scraped=not sidecar_scraped)
    app = replace(app, mounts=(*app.mounts, *app_mounts))
    all_volumes = (*app_volumes, *volumes)
    _check_container_names((app, *sidecars))
    _check_mounts((app, *sidecars), {v.name for v in all_volumes})
    _check_port_names((app, *sidecars))
    # Drain order: preStop hooks run in parallel, and a native sidecar is stopped only after
    # the main containers have exited (KEP-753). So the app's preStop covers the longest drain
    # any sidecar asks for (the proxy keeps sending it traffic from stale endpoints meanwhile),
    # and the sidecars get no sleep of their own: they outlive the app by being stopped after
    # it. Classic sidecars (< 1.29) cannot have a sleep hook at all (preStop.sleep is 1.30+).
    drain = max([APP_DRAIN, *(c.pre_stop_sleep for c in sidecars)])
    app = replace(app, pre_stop_sleep=drain)
    containers = _charge_volumes((app, *(replace(c, pre_stop_sleep=0) for c in sidecars)), all_volumes)
    app, sidecars = containers[0], [replace(c, group=app.group) for c in containers[1:]]
    _check_volume_names(all_volumes)
    return Pod(
        name=spec.app.name, namespace=spec.namespace, create_namespace=spec.create_namespace,
        replicas=spec.app.replicas,
        app=app, sidecars=tuple(sidecars), volumes=all_volumes, config_files=tuple(files),
        metrics_path=spec.app.metrics_path, termination_grace=drain + SHUTDOWN,
        namespace_holder=build_namespace_holder(catalog.namespace_holder, (app, *sidecars)),
        image_pull_secrets=spec.image_pull_secrets, ingress=spec.ingress, autoscaling=spec.autoscaling,
        overhead_budget=catalog.overhead_budget,
    )


def build_namespace_holder(image: str, containers: tuple[Container, ...]) -> Container:
    """A container that does nothing and so never crashes or restarts. Docker gives a restarted
    container a new network namespace and everything joined to the old one is cut off
    (docker/for-linux#1299; depends_on.restart covers only restarts Compose itself makes,
    docker/compose#8918): so the namespace must not belong to the app, which may crash."""
    for container in containers:
        if container.name == NAMESPACE_HOLDER:
            taken = f"{NAMESPACE_HOLDER!r} names the Compose service that holds the pod's network namespace"
            if container.capability == "app":
                raise SpecError(f"app.name: {taken}; pick another name")
            raise CatalogError(f"template {NAMESPACE_HOLDER!r}: {taken}; rename the template")
    return Container(
        name=NAMESPACE_HOLDER, image=image, capability="namespace", run_as=HOLDER_USER,
        ports=(), mounts=(), startup=None, readiness=None, liveness=None,
        # pause uses well under 1 MiB; Docker's smallest memory limit is 6 MiB.
        requests=(("cpu", "10m"), ("memory", "8Mi")), limits=(("cpu", "50m"), ("memory", "16Mi")),
        group=HOLDER_USER,  # it shares no volume
    )


def _build_app(app: App, fronted: bool, env: list[EnvVar], scraped: bool
               ) -> tuple[Container, list[Volume]]:
    health = app.health_path
    volumes = [Volume("tmp")]
    mounts = [Mount("tmp", "/tmp")]
    if app.log_dir:
        volumes.append(Volume(APP_LOGS, "256Mi"))
        mounts.append(Mount(APP_LOGS, app.log_dir))
    # Folders the app writes besides /tmp: scratch volumes, so the root filesystem stays read-only.
    for name, (path, size) in zip(scratch_names([path for path, _ in app.writable_paths]), app.writable_paths):
        volumes.append(Volume(name, size))
        mounts.append(Mount(name, path))
    container = Container(
        name=app.name, image=app.image, capability="app", run_as=app.uid, group=app.gid,
        # Behind a proxy the app is reached over localhost only; the proxy is the way in.
        ports=(Port("http", app.port, public=not fronted, scrape_path=app.metrics_path if scraped else None),),
        mounts=tuple(mounts),
        # Up to 60 s to start, then readiness gates traffic and liveness restarts a hung app.
        startup=Probe(app.port, health, period=2, failures=30),
        readiness=Probe(app.port, health, period=5),
        liveness=Probe(app.port, health, period=10),
        requests=app.requests, limits=app.limits, command=app.command, args=app.args,
        env=tuple(env), env_from=app.env_from, compose_healthcheck=app.health_command,
        # Endpoints are removed asynchronously; keep serving until they are gone (build_pod
        # makes it cover every sidecar's drain).
        pre_stop_sleep=APP_DRAIN,
    )
    return container, volumes


def scratch_names(paths: list[str]) -> list[str]:
    """A volume name for each writable path, from the path (/var/cache/app -> scratch-var-cache-app)
    so it reads well in `docker volume ls`; by position where that is no DNS label or not unique."""
    names: list[str] = []
    for i, path in enumerate(paths):
        name = "scratch-" + "-".join(word for word in re.split(r"[^a-z0-9]+", path.lower()) if word)
        names.append(name if rules.is_dns_label(name) and name not in names else f"scratch-{i}")
    return names


def _check_volume_names(volumes: tuple[Volume, ...]) -> None:
    seen: set[str] = set()
    for volume in volumes:
        if volume.name in seen:
            raise CatalogError(f"volume {volume.name!r} is declared twice in the pod (a template's "
                               "volume and the app's writable path, or two templates); rename one")
        seen.add(volume.name)


def _charge_volumes(containers: tuple[Container, ...], volumes: tuple[Volume, ...]) -> tuple[Container, ...]:
    """Each scratch volume's size added to a limit of the first container that writes it (see
    model/budget.py), so the limits cover the emptyDirs by construction: disk-backed ones to its
    ephemeral-storage limit, in-memory ones (medium: Memory) to its memory limit, where the
    kernel charges their pages."""
    mounts = [(c.name, m.volume, m.read_only) for c in containers for m in c.mounts]
    on_disk = budget.first_writers({v.name: budget.size_bytes(v.size) for v in volumes
                                    if v.scratch and not v.in_memory}, mounts)
    in_memory = budget.first_writers({v.name: budget.size_bytes(v.size) for v in volumes
                                      if v.scratch and v.in_memory}, mounts)
    result = []
    for container in containers:
        limits = dict(container.limits)
        if "ephemeral-storage" in limits and container.name in on_disk:
            limits["ephemeral-storage"] = budget.ephemeral_limit(limits["ephemeral-storage"],
                                                                 on_disk[container.name].values())
        if container.name in in_memory:
            limits["memory"] = budget.quantity(budget.memory_limit_with_tmpfs(
                limits["memory"], in_memory[container.name].values()))
        result.append(replace(container, limits=tuple(limits.items())))
    return tuple(result)


def _upstreams(fronting: list[str], choices: dict[str, SidecarChoice], catalog: Catalog, app: App
               ) -> dict[str, int]:
    """Where each fronting proxy forwards: the next one's way in along the declared chain, the
    app's port for the innermost (and for a lone proxy)."""
    upstreams = {}
    for outer, inner in zip(fronting, fronting[1:]):
        template = catalog.get(inner)
        context = template_context(app, choices[inner].values)
        public = [p for p in template.definition.ports if expand(p.public, context, inner) is True]
        if len(public) != 1:
            raise CatalogError(f"template {inner!r}: sits behind {outer!r} (in_front_of), so it needs exactly "
                               f"one public port to take {outer!r}'s traffic; it has {len(public)}")
        upstreams[outer] = public[0].resolve(context)
    return upstreams


def _build_sidecar(template: Template, choice: SidecarChoice, app: App, upstream_port: int, inner: bool
                   ) -> tuple[Container, list[Volume], list[ConfigFile], list[Mount]]:
    """The sidecar's container, its volumes and config files, and what the app mounts of it."""
    context = sidecar_context(template, app, choice.values, upstream_port)
    where = str(template.definition_file)
    # The schema's value rules once more, now that every {{ }} is filled in.
    d = check_expanded(expand_definition(template.definition, context, where), where)
    volumes = [Volume(volume_name(template.name, v.name), str(v.size), in_memory=v.memory) for v in d.volumes]
    mounts = [Mount(volume_name(template.name, v.name), v.path) for v in d.volumes]
    # What the sidecar writes for the app (rendered secrets, a checkout): read-only in the app.
    app_mounts = [Mount(volume_name(template.name, v.name), v.app_path, read_only=True)
                  for v in d.volumes if v.app_path is not None]
    mounts += [Mount(m.volume, m.path, m.read_only) for m in d.mounts]
    volumes += _secret_volumes(template.name, d)
    mounts += [Mount(volume_name(template.name, s.name), s.path, read_only=True) for s in d.secrets]
    if d.service_account_token is not None:
        mounts.append(Mount(token_volume(template.name), d.service_account_token.path, read_only=True))
    files = [ConfigFile(template.name, name.removesuffix(".j2"),
                        render_file(name, text, context, f"{template.folder}/files/{name}"))
             for name, text in template.files]
    if files:  # the schema requires config_dir when files/ has files
        volumes.append(Volume(config_volume(template.name), config_of=template.name))
        mounts.append(Mount(config_volume(template.name), d.config_dir, read_only=True))
    return sidecar_container(template, d, tuple(mounts), inner), volumes, files, app_mounts


def sidecar_container(template: Template, d: Definition, mounts: tuple[Mount, ...], inner: bool = False
                      ) -> Container:
    """The container of an expanded definition (the Helm chart builds one whose parameter
    fields still stand for chart values, model/chart.py); `inner`: behind another fronting
    proxy in a declared chain, so its ports are not the way in."""
    return Container(
        name=template.name, image=template.image, capability=template.capability, run_as=d.run_as,
        # Behind another proxy (a chain) its way in is the outer proxy's upstream, on localhost.
        ports=tuple(Port(p.name, p.number, p.protocol, p.public and not inner, p.scrape_path) for p in d.ports),
        mounts=mounts,
        startup=_probe(d.probe("startup")), readiness=_probe(d.probe("readiness")),
        liveness=_probe(d.probe("liveness")),
        requests=tuple((k, str(v)) for k, v in d.requests), limits=tuple((k, str(v)) for k, v in d.limits),
        command=tuple(map(str, d.command)), args=tuple(map(str, d.args)),
        env=tuple(EnvVar(k, rules.env_value(f"{template.definition_file}: env.{k}", k, v) if isinstance(v, dict) else str(v))
                  for k, v in d.env), compose_healthcheck=tuple(map(str, d.compose_healthcheck)),
        pre_stop_sleep=d.pre_stop_sleep, config_dir=d.config_dir,
        before_app_args=tuple(map(str, d.before_app.args)) if d.before_app else (),
    )


def _secret_volumes(sidecar: str, d: Definition) -> list[Volume]:
    volumes = [Volume(volume_name(sidecar, s.name), secret=SecretSource(s.secret, tuple(s.keys), s.mode))
               for s in d.secrets]
    token = d.service_account_token
    if token is not None:  # mounted into this container only; the pod-wide automount stays off
        volumes.append(Volume(token_volume(sidecar), token=TokenSource(token.audience, token.expiration)))
    return volumes


def token_volume(sidecar: str) -> str:
    return volume_name(sidecar, "sa-token")


def sidecar_context(template: Template, app: App, params: Any, upstream_port: int | None = None
                    ) -> dict[str, Any]:
    """What a template's {{ expressions }} see: its parameters, `app`, and what is derived from
    its own budgets: cpu_workers (its CPU limit in whole CPUs, at least 1: Envoy's
    --concurrency), memory_bytes (its memory limit in bytes: a Go runtime's GOMEMLIMIT, the
    OpenTelemetry Collector's memory_limiter) and volume_bytes (each of its volumes' size in
    bytes: a buffer cap below its volume)."""
    context = template_context(app, params)
    if upstream_port is not None:
        context["upstream_port"] = upstream_port
    where = str(template.definition_file)
    d = template.definition
    try:
        cpu = expand(dict(d.limits)["cpu"], context, f"{where}: resources.limits.cpu")
        context["cpu_workers"] = budget.cpu_workers(str(cpu))
    except (KeyError, ValueError) as exc:
        raise CatalogError(f"{where}: resources.limits.cpu: {exc}") from None
    try:
        memory = expand(dict(d.limits)["memory"], context, f"{where}: resources.limits.memory")
        context["memory_bytes"] = budget.size_bytes(str(memory))
    except (KeyError, ValueError) as exc:
        raise CatalogError(f"{where}: resources.limits.memory: {exc}") from None
    sizes = {}
    for volume in d.volumes:
        try:
            sizes[volume.name] = budget.size_bytes(str(expand(volume.size, context, f"{where}: volumes.{volume.name}")))
        except ValueError as exc:
            raise CatalogError(f"{where}: volumes.{volume.name}.size: {exc}") from None
    context["volume_bytes"] = sizes
    return context


def volume_name(sidecar: str, volume: str) -> str:
    """A sidecar's own volume, named for the pod (lint's clash finder names them the same)."""
    return f"{sidecar}-{volume}"


def config_volume(sidecar: str) -> str:
    return volume_name(sidecar, "config")


def _probe(probe: ProbeDef | None) -> Probe | None:
    if probe is None:
        return None
    return Probe(port=probe.port, path=probe.path, command=tuple(map(str, probe.command)), period=probe.period,
                 timeout=probe.timeout, failures=probe.failures, initial_delay=probe.initial_delay)


def one_shot_name(sidecar: str) -> str:
    """The init container (Kubernetes < 1.29) and Compose service that run a sidecar's first step."""
    return f"{sidecar}-init"


def _check_container_names(containers: tuple[Container, ...]) -> None:
    """A sidecar's first step runs as <name>-init: it must not take another container's name."""
    names = {c.name for c in containers}
    for container in containers:
        if container.before_app_args and one_shot_name(container.name) in names:
            raise CatalogError(f"template {container.name!r}: its first step runs as "
                               f"{one_shot_name(container.name)!r}, the name of another container")


def _app_env(template: Template, choice: SidecarChoice, app: App) -> list[EnvVar]:
    context = sidecar_context(template, app, choice.values)
    return [EnvVar(k, str(expand(v, context, f"{template.definition_file}: app_env.{k}")))
            for k, v in template.definition.app_env]


def _check_mounts(containers: tuple[Container, ...], volume_names: set[str]) -> None:
    for name in volume_names:  # <template>-<volume> must still be a DNS-1123 label
        if len(name) > 63:
            raise CatalogError(f"volume {name!r} is {len(name)} characters long; Kubernetes allows 63 "
                               "(shorten the template or volume name)")
    for container in containers:
        _check_log_dir_nesting(container)
        paths: dict[str, str] = {}
        for mount in container.mounts:
            if mount.volume not in volume_names:
                raise CatalogError(f"template {container.name!r}: mounts unknown volume "
                                   f"{mount.volume!r} (known: {', '.join(sorted(volume_names))})")
            other = paths.setdefault(mount.path, mount.volume)
            if other != mount.volume:  # Kubernetes refuses two mounts at one path
                clash = f"{mount.path!r} is where container {container.name!r} already mounts"
                if APP_LOGS in (other, mount.volume):
                    raise SpecError(f"app.log_dir: {clash} {other if other != APP_LOGS else mount.volume}; "
                                    "pick another folder")
                raise CatalogError(f"template {container.name!r}: {clash} {other}")


def _check_log_dir_nesting(container: Container) -> None:
    """The app's log folder inside a sidecar's own mount (its config, its buffers), or around
    one, would hide one of them: refuse it (the same path is refused below)."""
    logs = [m.path for m in container.mounts if m.volume == APP_LOGS]
    for log_path in logs:
        for mount in container.mounts:
            if mount.volume != APP_LOGS and (mount.path.startswith(f"{log_path}/")
                                             or log_path.startswith(f"{mount.path}/")):
                raise SpecError(f"app.log_dir: {log_path!r} and {mount.path!r}, where container "
                                f"{container.name!r} mounts {mount.volume}, are inside one another; "
                                "pick another folder")


def _check_port_names(containers: tuple[Container, ...]) -> None:
    seen: set[str] = set()
    for container in containers:
        for port in container.ports:
            # Kubernetes: an IANA_SVC_NAME, unique in the pod.
            if (not isinstance(port.name, str) or len(port.name) > 15 or not rules.is_port_name(port.name)
                    or port.name in seen):
                raise CatalogError(f"template {container.name!r}: port name {port.name!r} must be "
                                   "unique in the pod, at most 15 characters, [a-z0-9-]")
            seen.add(port.name)
