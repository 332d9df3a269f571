"""The wizard's checks while answering: conflicts, needs and port clashes, with the spec's rules.

Pure functions (no prompts), so they are tested directly and return the same one-line
reasons parse_spec gives for an answers file.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from generator import rules
from generator.catalog.loader import Catalog, Template
from generator.errors import SpecError
from generator.input.ports import Clash, PortLedger, claims_of, owner_of
from generator.input.spec import DEFAULTS, App, parse_spec, template_context

_INT = re.compile(r"[+-]?[0-9]+")


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


def port_clashes(template: Template, app: App, params: Mapping[str, Any], ledger: PortLedger) -> list[Clash]:
    """Ports of this sidecar already taken by the app, an earlier sidecar or itself (the
    ledger parse_spec walks); the ledger is left as it was."""
    return ledger.clashes(owner_of(template.name), claims_of(template, template_context(app, params)))


def claim_ports(template: Template, app: App, params: Mapping[str, Any], ledger: PortLedger) -> None:
    ledger.claim(owner_of(template.name), claims_of(template, template_context(app, params)))


def app_ports(app: App) -> PortLedger:
    return PortLedger(app.port)


def selection_problem(names: list[str], catalog: Catalog, app: App,
                      given: Mapping[str, Mapping[str, Any]]) -> str | None:
    """Why these sidecars cannot go together, or None. Port clashes a parameter can fix
    are left for the parameter questions; a clash of fixed ports is reported here."""
    for name in names:
        for other in catalog.get(name).conflicts:
            if other in names:
                return (f"sidecars: {name!r} cannot go with {other!r} "
                        "(the catalog declares them in conflict)")
    ledger = app_ports(app)
    for name in names:
        template = catalog.get(name)
        params = param_values(template, given.get(name, {}))
        if params is None:
            continue
        for clash in port_clashes(template, app, params, ledger):
            if clash.param is None:
                return f"sidecars.{name}: {clash.reason}, and the template fixes that port"
        claim_ports(template, app, params, ledger)
    return None


def missing_needs(names: list[str], catalog: Catalog, answers_app: Mapping[str, Any]
                  ) -> list[tuple[str, str]]:
    """(sidecar, app field) for each app value a chosen sidecar needs and the app lacks."""
    missing = []
    for name in names:
        for need in catalog.get(name).definition.needs:
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
