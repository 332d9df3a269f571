"""`environments:` in the answers: per-environment replicas, app resources, app environment and
ingress host, each a set of overrides on the request. `applied` gives the request as that
environment sees it, so the overlays are rendered by the same pod builder and emitters as the
base (and checked by the same rules) rather than by a second copy of them."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable

from generator import rules
from generator.errors import SpecError
from generator.input import exposure, runtime
from generator.input.sidecars import known_keys, mapping

ENVIRONMENT_KEYS = ("replicas", "resources", "env", "ingress")
MAX_ENVIRONMENTS = 10


@dataclass(frozen=True, slots=True)
class Environment:
    """What one environment changes, as given (the record keeps exactly this)."""

    name: str
    replicas: int | None = None
    resources: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()  # (requests|limits, keys given)
    env: tuple[tuple[str, str | rules.EnvSource], ...] = ()  # variables added or changed
    host: str | None = None  # the ingress host

    def as_answer(self) -> dict[str, Any]:
        answer: dict[str, Any] = {}
        if self.replicas is not None:
            answer["replicas"] = self.replicas
        if self.resources:
            answer["resources"] = {part: dict(values) for part, values in self.resources}
        if self.env:
            answer["env"] = {k: v.as_answer() if isinstance(v, rules.EnvSource) else v for k, v in self.env}
        if self.host:
            answer["ingress"] = {"host": self.host}
        return answer


def environments(raw: Any, spec: Any, check: Callable[[Any, str], None]) -> tuple[Environment, ...]:
    """Each environment's overrides, checked against the request `spec` (a Spec: the app, its
    sidecars, the ingress and autoscaling they override); `check(spec)` runs the request's
    own rules on the environment's whole request (a sidecar's variable, ...), naming `where`."""
    given = mapping("environments", raw)
    if len(given) > MAX_ENVIRONMENTS:
        raise SpecError(f"environments: {len(given)} given; at most {MAX_ENVIRONMENTS}")
    found = []
    for name, settings in given.items():
        where = f"environments.{name}"
        rules.dns_label(f"environments.{name}", name)  # a folder name and a file suffix
        found.append(_environment(name, mapping(where, settings), spec, where))
        check(applied(spec, found[-1]), f"{where}.env")
    return tuple(found)


def _environment(name: str, given: dict, spec: Any, where: str) -> Environment:
    known_keys(where, given, ENVIRONMENT_KEYS)
    replicas = None
    if given.get("replicas") is not None:
        if spec.autoscaling is not None:
            raise SpecError(f"{where}.replicas: the HPA sets the replica count (kubernetes.autoscaling); "
                            "leave replicas out")
        replicas = rules.replicas(f"{where}.replicas", given["replicas"])
    resources = ()
    if given.get("resources") is not None:
        # Checked merged over the app's own values (a request above the app's limit needs a limit).
        runtime.resources(given["resources"], f"{where}.resources", (spec.app.requests, spec.app.limits))
        resources = tuple((part, tuple(mapping("", values).items()))
                          for part, values in given["resources"].items() if values)
    env = runtime.env(given.get("env") or {}, f"{where}.env")
    base = dict(spec.app.env)
    for key, value in env:
        # Compose: a base value in `environment:` wins over any env_file, so it cannot become a
        # reference in one environment.
        if isinstance(value, rules.EnvSource) and isinstance(base.get(key), str) and "compose" in spec.targets:
            raise SpecError(f"{where}.env.{key}: is a plain value in app.env; an environment cannot "
                            "make it a reference (Compose would keep the plain value): make it one in app.env")
    host = None
    if given.get("ingress") is not None:
        ingress = mapping(f"{where}.ingress", given["ingress"])
        known_keys(f"{where}.ingress", ingress, ("host",))
        if spec.ingress is None:
            raise SpecError(f"{where}.ingress: there is no kubernetes.ingress to change")
        host = exposure.host(f"{where}.ingress.host", ingress.get("host"))
    return Environment(name, replicas, resources, env, host)


def applied(spec: Any, environment: Environment) -> Any:
    """The request as this environment sees it: its overrides on the app and the ingress."""
    app = spec.app
    requests, limits = dict(app.requests), dict(app.limits)
    for part, values in environment.resources:
        (requests if part == "requests" else limits).update(values)
    env = dict(app.env)
    env.update(environment.env)
    app = replace(app, requests=tuple(requests.items()), limits=tuple(limits.items()), env=tuple(env.items()),
                  replicas=app.replicas if environment.replicas is None else environment.replicas)
    ingress = spec.ingress
    if environment.host and ingress is not None:
        ingress = replace(ingress, host=environment.host)
    return replace(spec, app=app, ingress=ingress, environments=())
