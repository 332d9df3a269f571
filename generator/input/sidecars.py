"""The request's sidecars, one walk for the answers file and the wizard: each entry's shape,
its parameters filled in, the catalog's conflicts, what a sidecar needs from the app, and
(input/ports.py) the ports it claims. parse_spec raises at the first problem; the wizard
calls the same functions while it asks, so both say the same thing."""

from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping

from generator import rules
from generator.catalog.loader import Catalog, Template
from generator.errors import SpecError


def mapping(field: str, value: Any) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise SpecError(f"{field}: must be a mapping, not {type(value).__name__}")
    return value


def known_keys(field: str, given: dict, allowed: tuple[str, ...]) -> None:
    for key in given:
        if key not in allowed:
            raise SpecError(f"{field}.{key}: unknown key (known: {', '.join(allowed)})")


def entries(raw: Any, catalog: Catalog) -> list[tuple[str, dict]]:
    """The sidecars list as (name, given params): each a catalog name, or {name, params}
    whose params the template declares; listed once each."""
    if not isinstance(raw, list):
        raise SpecError(f"sidecars: {rules.shown(raw)} must be a list of catalog names")
    found: list[tuple[str, dict]] = []
    for position, item in enumerate(raw):
        field = f"sidecars[{position}]"
        if isinstance(item, str):
            name, given = item, {}
        elif isinstance(item, dict):
            known_keys(field, item, ("name", "params"))
            name, given = item.get("name"), mapping(f"{field}.params", item.get("params") or {})
        else:
            raise SpecError(f"{field}: {rules.shown(item)} must be a name or {{name: ..., params: {{...}}}}")
        if not isinstance(name, str):
            raise SpecError(f"{field}.name: is required")
        template = catalog.get(name)
        if any(other == name for other, _ in found):
            raise SpecError(f"sidecars: {name!r} is listed twice")
        for key in given:
            if template.param(str(key)) is None:
                known = ", ".join(p.name for p in template.params) or "none"
                raise SpecError(f"{params_field(name)}.{key}: unknown parameter of {name!r} (known: {known})")
        found.append((name, dict(given)))
    return found


def params_field(sidecar: str) -> str:
    return f"sidecars.{sidecar}.params"


def check_param(template: Template, name: str, value: Any) -> Any:
    """One given parameter value against its declared type (the wizard asks one at a time)."""
    param = template.param(name)
    assert param is not None, name
    try:
        return rules.param_value(f"{params_field(template.name)}.{name}", param.type, value,
                                 param.choices, param.required)
    except rules.RuleError as exc:
        raise SpecError(exc.message) from None


def fill_params(template: Template, given: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    """Every declared parameter: the given value (checked) or its default; a required one
    missing is an error."""
    values = []
    for param in template.params:
        if param.name in given:
            value = check_param(template, param.name, given[param.name])
        elif param.required:
            raise SpecError(f"{params_field(template.name)}.{param.name}: is required ({param.help})")
        else:
            value = param.default
        values.append((param.name, value))
    return tuple(values)


def param_values(template: Template, given: Mapping[str, Any]) -> dict[str, Any] | None:
    """Every parameter with defaults filled in, unchecked, or None while a required one is
    missing (the wizard has not asked for it yet)."""
    if any(p.required and p.name not in given for p in template.params):
        return None
    return {p.name: given[p.name] if p.name in given else p.default for p in template.params}


def conflict(names: Iterable[str], catalog: Catalog) -> str | None:
    """Why these sidecars cannot go together, as the catalog declares it; None if they can."""
    names = list(names)
    for name in names:
        for other in catalog.get(name).conflicts:
            if other in names:
                return f"sidecars: {name!r} cannot go with {other!r} (the catalog declares them in conflict)"
    return None


def fronting_order(names: Iterable[str], catalog: Catalog) -> list[str]:
    """The chosen sidecars that front the app (fronts_app), outermost first. One at most,
    unless the catalog declares that one sits in front of another (`in_front_of` on the outer's
    entry, e.g. TLS -> auth proxy -> app): then they chain in that order. Raises SpecError
    naming the ones that cannot go together."""
    fronting = [n for n in names if catalog.get(n).definition.fronts_app is True]
    if len(fronting) <= 1:
        return fronting
    inner_of = {n: [m for m in catalog.get(n).in_front_of if m in fronting] for n in fronting}
    outermost = [n for n in fronting if not any(n in inner_of[m] for m in fronting)]
    order = outermost[:1]
    while len(outermost) == 1 and len(order) < len(fronting):
        after = [m for m in inner_of[order[-1]] if m not in order]
        if len(after) != 1:
            break
        order.append(after[0])
    if len(order) == len(fronting):
        return order
    named = " and ".join(repr(n) for n in fronting)
    raise SpecError(f"sidecars: {named} all front the app; only one may, unless the catalog declares "
                    "that one sits in front of the other (in_front_of); pick one")


def missing_needs(names: Iterable[str], catalog: Catalog, has: Callable[[str], bool]) -> list[tuple[str, str]]:
    """(sidecar, app field) for each optional app value a chosen sidecar needs and the app
    lacks (`has(field)` says whether it is there); each field once."""
    missing: list[tuple[str, str]] = []
    for name in names:
        for need in catalog.get(name).definition.needs:
            if not has(need) and need not in [n for _, n in missing]:
                missing.append((name, need))
    return missing


def needs_message(sidecar: str, field: str) -> str:
    return f"app.{field}: is required by sidecar {sidecar!r}"
