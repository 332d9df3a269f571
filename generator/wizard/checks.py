"""The wizard's checks while answering: conflicts, needs and port clashes.

Pure functions (no prompts) over the request's own rules (input/sidecars.py, the port
ledger, rules.py), so the wizard refuses what parse_spec refuses, in the same words.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from generator import rules
from generator.catalog.loader import Catalog, Template
from generator.errors import SpecError
from generator.input.ports import Clash, PortLedger, claims_of, owner_of
from generator.input import sidecars
from generator.input.spec import DEFAULTS, App, template_context

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
    return sidecars.param_values(template, given)


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
    problem = sidecars.conflict(names, catalog)
    if problem:
        return problem
    try:
        sidecars.fronting_order(names, catalog)
    except SpecError as exc:
        return exc.message
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
    return sidecars.missing_needs(names, catalog, lambda field: answers_app.get(field) not in (None, ""))


def prefilled_sidecars(raw: Any, catalog: Catalog) -> list[tuple[str, dict]]:
    """The pre-filled sidecars as (name, params), refused as the answers file refuses them."""
    return [] if raw is None else sidecars.entries(raw, catalog)


def namespace(field: str, value: Any) -> str:
    try:
        return rules.namespace(field, value)
    except rules.RuleError as exc:
        raise SpecError(exc.message) from None


def check_param(template: Template, param_name: str, value: Any) -> Any:
    return sidecars.check_param(template, param_name, value)
