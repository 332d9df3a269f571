"""The wizard's checks while answering: conflicts, needs and port clashes, with the spec's rules.

Pure functions (no prompts), so they are tested directly and return the same one-line
reasons parse_spec gives for an answers file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

from generator import rules
from generator.catalog.loader import Catalog, Template
from generator.errors import SidecarError, SpecError
from generator.input.spec import DEFAULTS, App, claimed_ports, parse_spec

_INT = re.compile(r"[+-]?[0-9]+")


@dataclass(frozen=True, slots=True)
class Clash:
    number: int
    protocol: str
    port_name: str
    owner: str  # "the app" or "sidecar 'envoy'"
    param: str | None  # the port parameter that set this number; None: fixed by the template

    @property
    def reason(self) -> str:
        return (f"port {self.number}/{self.protocol} ({self.port_name}) is already taken by "
                f"{self.owner}")


def to_int(text: str) -> Any:
    """A typed number becomes an int; anything else stays text for the rule to refuse."""
    text = text.strip()
    return int(text) if _INT.fullmatch(text) else text


def app_of(answers_app: Mapping[str, Any]) -> App:
    """The App so far, for expanding templates' ports; values are already checked."""
    values = {**DEFAULTS, **{k: v for k, v in answers_app.items() if v is not None}}
    return App(name=values.get("name", "app"), image=values.get("image", "app:0"),
               port=values["port"], health_path=values["health_path"],
               log_dir=values.get("log_dir"), metrics_path=values.get("metrics_path"),
               replicas=values["replicas"] if isinstance(values["replicas"], int) else DEFAULTS["replicas"])


def param_values(template: Template, given: Mapping[str, Any]) -> dict[str, Any] | None:
    """Every parameter with defaults filled in, or None while a required one is missing."""
    values = {}
    for param in template.params:
        if param.name in given:
            values[param.name] = given[param.name]
        elif param.required:
            return None
        else:
            values[param.name] = param.default
    return values


def port_clashes(template: Template, app: App, params: Mapping[str, Any],
                 taken: dict[tuple[int, str], str]) -> list[Clash]:
    """Ports of this sidecar already taken by the app, an earlier sidecar or itself
    (the same walk as spec._check_ports). `taken` is extended with its free ports."""
    clashes = []
    for name, number, protocol in claimed_ports(template, app, params):
        owner = taken.get((number, protocol))
        if owner:
            param = next((p.name for p in template.params
                          if p.type == "port" and params.get(p.name) == number), None)
            clashes.append(Clash(number, protocol, name, owner, param))
        else:
            taken[(number, protocol)] = f"sidecar {template.name!r}"
    return clashes


def app_ports(app: App) -> dict[tuple[int, str], str]:
    return {(app.port, "TCP"): "the app"}


def selection_problem(names: list[str], catalog: Catalog, app: App,
                      given: Mapping[str, Mapping[str, Any]]) -> str | None:
    """Why these sidecars cannot go together, or None. Port clashes a parameter can fix
    are left for the parameter questions; a clash of fixed ports is reported here."""
    for name in names:
        for other in catalog.get(name).conflicts:
            if other in names:
                return (f"sidecars: {name!r} cannot go with {other!r} "
                        "(the catalog declares them in conflict)")
    taken = app_ports(app)
    for name in names:
        template = catalog.get(name)
        params = param_values(template, given.get(name, {}))
        if params is None:
            continue
        try:
            clashes = port_clashes(template, app, params, taken)
        except SidecarError:
            continue  # a value the parameter questions will ask for again
        for clash in clashes:
            if clash.param is None:
                return f"sidecars.{name}: {clash.reason}, and the template fixes that port"
    return None


def missing_needs(names: list[str], catalog: Catalog, answers_app: Mapping[str, Any]
                  ) -> list[tuple[str, str]]:
    """(sidecar, app field) for each app value a chosen sidecar needs and the app lacks."""
    missing = []
    for name in names:
        for need in catalog.get(name).definition.get("needs") or []:
            if answers_app.get(need) in (None, "") and need not in [n for _, n in missing]:
                missing.append((name, need))
    return missing


def prefilled_sidecars(raw: Any, catalog: Catalog) -> list[tuple[str, dict]]:
    """The pre-filled sidecars as (name, params); the spec's message for a malformed entry."""
    if raw is None:
        return []
    entries = []
    for item in raw if isinstance(raw, list) else [raw]:
        name = item if isinstance(item, str) else item.get("name") if isinstance(item, dict) else None
        params = item.get("params") or {} if isinstance(item, dict) else {}
        template = catalog.get(name) if isinstance(name, str) else None  # unknown: its message
        if template is None or not isinstance(params, dict) or not all(map(template.param, map(str, params))):
            parse_spec({"app": {"name": "probe", "image": "probe:1"}, "sidecars": raw}, catalog)
            raise SpecError(f"sidecars: {item!r} must be a name or {{name: ..., params: {{...}}}}")
        entries.append((name, dict(params)))
    return entries


def namespace(field: str, value: Any) -> str:
    """The spec's namespace rule, whatever it is: run parse_spec on a minimal request."""
    probe = {"app": {"name": "probe", "image": "probe:1"}, "targets": ["kubernetes"],
             "kubernetes": {"namespace": value}}
    try:
        parse_spec(probe, Catalog("none", "0", "none", ()))
    except SpecError as exc:
        raise SpecError(exc.message.replace("kubernetes.namespace", field, 1)) from None
    return value


def check_param(template: Template, param_name: str, value: Any) -> Any:
    param = template.param(param_name)
    assert param is not None
    return rules.param_value(f"sidecars.{template.name}.params.{param_name}", param.type, value,
                             param.choices, param.required)
