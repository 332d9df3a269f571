"""Spec: the validated request (app, chosen sidecars, targets), parsed once from answers."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Mapping

from generator import rules
from generator.catalog.loader import Catalog
from generator.errors import SpecError
from generator.input import environments, exposure, runtime, sidecars
from generator.input.exposure import Autoscaling, Ingress
from generator.input.ports import PortLedger, claims_of, owner_of
from generator.input.sidecars import known_keys, mapping

APP_KEYS = ("name", "image", "port", "health_path", "log_dir", "metrics_path", "replicas",
            "health_command", "env", "env_from", "resources", "user", "writable_paths", "command", "args")
# What templates see of the app (`{{ app.port }}`): its values, not its environment.
CONTEXT_KEYS = APP_KEYS[:7]
ANSWER_KEYS = ("app", "sidecars", "targets", "kubernetes", "environments")
KUBERNETES_KEYS = ("version", "namespace", "create_namespace", "image_pull_secrets", "ingress", "autoscaling")
DEFAULTS = {"port": 8080, "health_path": "/healthz", "replicas": 2}  # the one place for them
# An app to expand templates with outside a real request (show, catalog lint and new).
SAMPLE_APP = {"name": "lint-app", "image": "registry.example.com/lint/app:1.0.0", "port": 8080,
              "health_path": "/healthz", "log_dir": "/var/log/app", "metrics_path": "/metrics"}


@dataclass(frozen=True, slots=True)
class App:
    name: str
    image: str
    port: int = DEFAULTS["port"]
    health_path: str = DEFAULTS["health_path"]
    log_dir: str | None = None
    metrics_path: str | None = None
    replicas: int = DEFAULTS["replicas"]
    health_command: tuple[str, ...] = ()  # Compose healthcheck; must exist in the image
    # Variables in answers order: a plain value or a Secret/ConfigMap key (rules.EnvSource).
    env: tuple[tuple[str, str | rules.EnvSource], ...] = ()
    env_from: tuple[rules.EnvSource, ...] = ()  # every key of a Secret or ConfigMap
    requests: tuple[tuple[str, str], ...] = runtime.REQUESTS
    limits: tuple[tuple[str, str], ...] = runtime.LIMITS
    uid: int = runtime.USER
    gid: int = runtime.USER  # every container's group: shared volumes through fsGroup
    writable_paths: tuple[tuple[str, str], ...] = ()  # (folder, size): scratch volumes
    command: tuple[str, ...] = ()  # empty: the image's entrypoint
    args: tuple[str, ...] = ()  # empty: the image's cmd

    def as_context(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in CONTEXT_KEYS}


@dataclass(frozen=True, slots=True)
class SidecarChoice:
    name: str
    params: tuple[tuple[str, Any], ...]  # every declared parameter, defaults filled in

    @property
    def values(self) -> dict[str, Any]:
        return dict(self.params)


@dataclass(frozen=True, slots=True)
class Spec:
    app: App
    sidecars: tuple[SidecarChoice, ...]
    targets: tuple[str, ...]
    kubernetes_version: str
    namespace: str  # defaults to the app's name: never the `default` namespace
    create_namespace: bool = True  # the base carries the Namespace object
    image_pull_secrets: tuple[str, ...] = ()  # Secrets (docker-registry) the kubelet pulls with
    ingress: Ingress | None = None  # the way in from outside the cluster
    autoscaling: Autoscaling | None = None  # an HPA; the Deployment's replicas are then its
    environments: tuple[environments.Environment, ...] = ()  # overlays: k8s/overlays/<name>/


def template_context(app: App, params: Mapping[str, Any]) -> dict[str, Any]:
    """What a template's {{ expressions }} can see: its parameters, `app`, and upstream_port:
    where a proxy that fronts the app forwards (the app's port, or the next proxy's when the
    catalog chains two; model/pod.py sets that)."""
    return {**params, "app": app.as_context(), "upstream_port": app.port}


def parse_spec(answers: Any, catalog: Catalog, allow_unpinned: bool = False) -> Spec:
    """Validate raw answers (from a file, flags or the wizard) into a Spec, or raise SpecError."""
    try:
        return _parse(answers, catalog, allow_unpinned)
    except rules.RuleError as exc:
        raise SpecError(exc.with_hint) from None


def _parse(answers: Any, catalog: Catalog, allow_unpinned: bool) -> Spec:
    answers = mapping("answers", answers)
    known_keys("answers", answers, ANSWER_KEYS)
    app = _parse_app(mapping("app", answers.get("app")), allow_unpinned)
    sidecars = _parse_sidecars(answers.get("sidecars") or [], catalog, app)
    targets = rules.targets("targets", answers.get("targets", list(rules.DEFAULT_TARGETS)))
    kube = mapping("kubernetes", answers.get("kubernetes") or {})
    known_keys("kubernetes", kube, KUBERNETES_KEYS)
    version = rules.kubernetes_version("kubernetes.version",
                                       kube.get("version", rules.DEFAULT_KUBERNETES_VERSION))
    namespace = rules.namespace("kubernetes.namespace", kube.get("namespace", app.name))
    # A namespace of the service's own (named after it, the default) comes with the base;
    # another may be shared, and `kubectl delete -k` must not take its other services away.
    create = rules.flag("kubernetes.create_namespace", kube.get("create_namespace", namespace == app.name))
    spec = Spec(app=app, sidecars=sidecars, targets=targets, kubernetes_version=version,
                namespace=namespace, create_namespace=create,
                image_pull_secrets=pull_secrets(kube.get("image_pull_secrets", [])),
                ingress=exposure.ingress(kube.get("ingress"), namespace),
                autoscaling=exposure.autoscaling(kube.get("autoscaling")))
    found = environments.environments(answers.get("environments"), spec,
                                      lambda env_spec, where: _check_app_env(env_spec.app, env_spec.sidecars, catalog, where))
    return replace(spec, environments=found)


def pull_secrets(raw: Any) -> tuple[str, ...]:
    if not isinstance(raw, list):
        raise SpecError(f"kubernetes.image_pull_secrets: {rules.shown(raw)} must be a list of Secret names")
    names = [rules.object_name(f"kubernetes.image_pull_secrets[{i}]", name) for i, name in enumerate(raw)]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise SpecError(f"kubernetes.image_pull_secrets[{i}]: {name!r} is listed twice")
    return tuple(names)


def _parse_app(raw: dict, allow_unpinned: bool) -> App:
    known_keys("app", raw, APP_KEYS)
    for key in ("name", "image"):
        if raw.get(key) in (None, ""):
            raise SpecError(f"app.{key}: is required (give it in the answers file or as --{key})")
    values = {**DEFAULTS, **{k: v for k, v in raw.items() if v is not None}}
    return App(
        name=rules.service_name("app.name", values["name"]),
        image=rules.image("app.image", values["image"], allow_unpinned),
        port=rules.port("app.port", values["port"]),
        health_path=rules.http_target("app.health_path", values["health_path"]),
        log_dir=rules.log_dir("app.log_dir", values["log_dir"]) if "log_dir" in values else None,
        metrics_path=(rules.url_path("app.metrics_path", values["metrics_path"])
                      if "metrics_path" in values else None),
        replicas=rules.replicas("app.replicas", values["replicas"]),
        health_command=rules.command("app.health_command", values.get("health_command", [])),
        env=runtime.env(values.get("env", {})), env_from=runtime.env_from(values.get("env_from", [])),
        **_runtime(values),
    )


def _runtime(values: dict) -> dict[str, Any]:
    requests, limits = runtime.resources(values.get("resources"))
    uid, gid = runtime.user(values.get("user"))
    log_dir = values.get("log_dir")
    return {"requests": requests, "limits": limits, "uid": uid, "gid": gid,
            "writable_paths": runtime.writable_paths(values.get("writable_paths", []), log_dir),
            "command": runtime.command("app.command", values.get("command", [])),
            "args": runtime.command("app.args", values.get("args", []))}


def _check_app_env(app: App, choices: Any, catalog: Catalog, where: str = "app.env") -> None:
    """A variable a chosen sidecar sets on the app (STATSD_HOST, ...) is the sidecar's: the
    same name in app.env would silently lose to one of them in each target."""
    for choice in choices:
        for name, _ in catalog.get(choice.name).definition.app_env:
            if name in dict(app.env):
                raise SpecError(f"{where}.{name}: is set by sidecar {choice.name!r} (its app_env); "
                                f"remove it from {where}")


def _parse_sidecars(raw: Any, catalog: Catalog, app: App) -> tuple[SidecarChoice, ...]:
    chosen = sidecars.entries(raw, catalog)
    names = [name for name, _ in chosen]
    if app.name in names:
        raise SpecError(f"app.name: {app.name!r} is also the name of a chosen sidecar; container "
                        "and service names must differ")
    choices = [SidecarChoice(name, sidecars.fill_params(catalog.get(name), given)) for name, given in chosen]
    for sidecar, field in sidecars.missing_needs(names, catalog, lambda field: getattr(app, field) is not None):
        raise SpecError(sidecars.needs_message(sidecar, field))
    problem = sidecars.conflict(names, catalog)
    if problem:
        raise SpecError(problem)
    sidecars.fronting_order(names, catalog)
    _check_ports(choices, catalog, app)
    _check_app_env(app, choices, catalog)
    return tuple(choices)


def _check_ports(choices: list[SidecarChoice], catalog: Catalog, app: App) -> None:
    ledger = PortLedger(app.port)
    for choice in choices:
        claims = claims_of(catalog.get(choice.name), template_context(app, choice.values))
        owner = owner_of(choice.name)
        for clash in ledger.clashes(owner, claims):
            raise SpecError(f"sidecars.{choice.name}: {clash.reason}; pick another port parameter")
        ledger.claim(owner, claims)


def to_answers(spec: Spec) -> dict[str, Any]:
    """The answers that reproduce this spec (recorded as .sidecar-new.yaml)."""
    app = {k: getattr(spec.app, k) for k in CONTEXT_KEYS}
    if spec.app.health_command:
        app["health_command"] = list(spec.app.health_command)
    # References only: a value that came from a Secret or ConfigMap never reaches the record.
    if spec.app.env:
        app["env"] = {k: v.as_answer() if isinstance(v, rules.EnvSource) else v for k, v in spec.app.env}
    if spec.app.env_from:
        app["env_from"] = [source.as_answer() for source in spec.app.env_from]
    app.update(runtime_answers(spec.app))
    kubernetes: dict[str, Any] = {"version": spec.kubernetes_version, "namespace": spec.namespace,
                                  "create_namespace": spec.create_namespace}
    if spec.image_pull_secrets:
        kubernetes["image_pull_secrets"] = list(spec.image_pull_secrets)
    if spec.ingress:
        kubernetes["ingress"] = spec.ingress.as_answer()
    if spec.autoscaling:
        kubernetes["autoscaling"] = spec.autoscaling.as_answer()
    answers = {
        "app": {k: v for k, v in app.items() if v is not None},
        "sidecars": [{"name": c.name, "params": dict(c.params)} if c.params else c.name
                     for c in spec.sidecars],
        "targets": list(spec.targets),
        "kubernetes": kubernetes,
    }
    if spec.environments:
        answers["environments"] = {e.name: e.as_answer() for e in spec.environments}
    return answers


def runtime_answers(app: App) -> dict[str, Any]:
    """The run-time settings that differ from the defaults, in the answers' shape."""
    found: dict[str, Any] = {}
    resources = {part: {k: v for k, v in getattr(app, part) if (k, v) not in defaults}
                 for part, defaults in (("requests", runtime.REQUESTS), ("limits", runtime.LIMITS))}
    if any(resources.values()):
        found["resources"] = {part: values for part, values in resources.items() if values}
    if (app.uid, app.gid) != (runtime.USER, runtime.USER):
        found["user"] = {"uid": app.uid, "gid": app.gid}
    if app.writable_paths:
        found["writable_paths"] = [path if size == runtime.SCRATCH_SIZE else {"path": path, "size": size}
                                   for path, size in app.writable_paths]
    for key in ("command", "args"):
        if getattr(app, key):
            found[key] = list(getattr(app, key))
    return found
