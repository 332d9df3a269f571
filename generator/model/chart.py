"""The Helm chart's model: the Pod (its defaults) plus, for each sidecar, what the chart's values
can change at `helm install` time: its parameters as Symbols in its container and config files,
what it brings to the app (env, drain, fronting), and which parameters stay fixed.

A parameter stays fixed (the chart's schema allows only its value now) when the template does
more with it than write it out or test it (model/symbolic.py), or uses it where a chart value
cannot go (volumes, mounts, resources). Every sidecar is checked: its symbolic container, files,
app env and drain, with each Symbol at its default, must equal the Pod's render; a mismatch
fixes the parameters involved rather than shipping a chart that renders something else.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, fields, replace
from typing import Any, Iterator

from generator.catalog.loader import Catalog, Template
from generator.catalog.schema import Ref
from generator.errors import CatalogError, SpecError
from generator.input.sidecars import fronting_order
from generator.input.spec import App, Spec
from generator.model.pod import Container, EnvVar, Pod, build_pod, sidecar_context, sidecar_container
from generator.model.pod import Mount, config_volume, volume_name
from generator.model.render import expand, expand_definition
from generator.model.symbolic import (Misuse, Symbol, evaluate, evaluate_parts, referenced, render_parts,
                                      symbols_in)

# Container fields a chart value may reach; anything else holding a Symbol fixes its parameter.
_MOVABLE = ("ports", "startup", "readiness", "liveness", "command", "args", "env", "run_as")
CPU_WORKERS = "cpu_workers"


@dataclass(frozen=True, slots=True)
class ChartParam:
    name: str
    type: str
    default: Any
    help: str
    choices: tuple
    fixed: bool  # the template uses it in a way a chart value cannot follow


@dataclass(frozen=True, slots=True)
class ChartSidecar:
    name: str
    container: Container  # as in the Pod, with Symbols (or marker text) where values go
    params: tuple[ChartParam, ...]
    volumes: tuple[str, ...]  # the pod volumes it brings (scratch and its config)
    files: tuple[tuple[str, tuple], ...]  # (path under its config_dir, parts)
    app_env: tuple[tuple[str, Any], ...]  # what it sets in the app's environment
    drain: Any  # seconds it asks the app's preStop to wait (int or Symbol)
    fronts_app: bool


@dataclass(frozen=True, slots=True)
class Chart:
    pod: Pod  # the render with the chart's default values
    sidecars: tuple[ChartSidecar, ...]  # in pod order
    symbols: dict[int, Symbol]
    metrics_path: str | None  # the app's own, scraped unless a sidecar's metrics port is enabled
    kubernetes_version: str
    app_env: tuple[EnvVar, ...] = ()  # the app's own (values `env`), before what sidecars set


def build_chart(spec: Spec, catalog: Catalog, pod: Pod | None = None) -> Chart:
    """The chart of a request; `pod` is its Pod when the caller has built it already."""
    pod = pod or build_pod(spec, catalog)
    _check_chartable(spec, catalog)
    choices = {c.name: c for c in spec.sidecars}
    counter = itertools.count()
    symbols: dict[int, Symbol] = {}
    sidecars = tuple(_chart_sidecar(catalog.get(c.name), choices[c.name].values, spec.app, pod, c, counter, symbols)
                     for c in pod.sidecars)
    return Chart(pod=pod, sidecars=sidecars, symbols=symbols, metrics_path=spec.app.metrics_path,
                 kubernetes_version=spec.kubernetes_version,
                 app_env=tuple(EnvVar(k, v) for k, v in spec.app.env))


def _chart_sidecar(template: Template, values: dict[str, Any], app: App, pod: Pod, concrete: Container,
                   counter: Iterator[int], symbols: dict[int, Symbol]) -> ChartSidecar:
    where = str(template.definition_file)
    concrete_context = sidecar_context(template, app, values)
    d = expand_definition(template.definition, concrete_context, where)
    files = {f.path: f.text for f in pod.config_files if f.sidecar == template.name}
    expected = _Expected(concrete, files, _app_env(template, concrete_context, where), d.pre_stop_sleep,
                         concrete_context[CPU_WORKERS])
    # Secret names, token audiences and in-memory volumes are written into the chart as
    # rendered (the volume list is not symbolic): the parameters they read are fixed.
    fixed: set[str] = {name for item in (*template.definition.secrets, template.definition.service_account_token,
                                         *template.definition.volumes) if item is not None
                       for text in _strings(item) for name in referenced(text)} & {p.name for p in template.params}
    for _ in range(len(template.params) + 2):
        made = {p.name: _symbol(counter, symbols, template.name, p.name, p.type, values[p.name])
                for p in template.params if p.name not in fixed}
        try:
            built = _symbolic(template, values, made, app, counter, symbols, expected)
        except (Misuse, CatalogError, ValueError, TypeError, KeyError) as exc:
            blamed = {s.param for s in made.values() if s.misused}
            blamed = blamed or (_referenced_params(template) & set(made))
            if not blamed:
                raise CatalogError(f"{where}: cannot build the chart: {exc}") from None
            fixed |= blamed
            continue
        wrong = _mismatches(built, expected, symbols)
        if wrong is None:
            wrong = set(made)
        if wrong & set(made):
            fixed |= wrong & set(made)
            continue
        container, parts, app_env, drain = built
        # Mounts cannot move (checked above): the Pod's, with the config volume's mount.
        container = replace(container, mounts=concrete.mounts)
        params = tuple(ChartParam(p.name, p.type, values[p.name], p.help, p.choices, p.name in fixed)
                       for p in template.params)
        own_volumes = [volume_name(template.name, v.name) for v in template.definition.volumes]
        if files:
            own_volumes.append(config_volume(template.name))
        return ChartSidecar(name=template.name, container=container, params=params, volumes=tuple(own_volumes),
                            files=tuple(parts.items()), app_env=app_env, drain=drain, fronts_app=bool(d.fronts_app))
    raise CatalogError(f"{where}: cannot build the chart: its parameters do not settle")  # pragma: no cover


def _check_chartable(spec: Spec, catalog: Catalog) -> None:
    """What the chart does not carry yet, refused in one line rather than charted wrong: a
    sidecar's first step (below 1.29 it needs an init container the chart's version switch
    does not make), a volume the app mounts (it would stay mounted with the sidecar disabled),
    and a chain of fronting proxies (whose upstream depends on which ones are enabled); and
    the base's Ingress or HTTPRoute, autoscaler and environment overlays (a chart user sets
    those per release with values files, which this chart does not offer yet)."""
    for key, value in (("kubernetes.ingress", spec.ingress), ("kubernetes.autoscaling", spec.autoscaling),
                       ("environments", spec.environments)):
        if value:
            raise SpecError(f"target helm: {key} is not carried by the chart yet; render it with "
                            "--target kubernetes or compose")
    for choice in spec.sidecars:
        d = catalog.get(choice.name).definition
        if d.before_app is not None or any(v.app_path is not None for v in d.volumes):
            feature = "a first step the app waits for (before_app)" if d.before_app else "a volume the app mounts"
            raise SpecError(f"target helm: sidecar {choice.name!r} has {feature}, which the chart does not "
                               "carry yet; render it with --target kubernetes or compose")
    fronting = fronting_order([c.name for c in spec.sidecars], catalog)
    if len(fronting) > 1:
        raise SpecError(f"target helm: {' -> '.join(fronting)} is a chain of proxies, which the chart does not "
                           "carry yet; render it with --target kubernetes or compose")


@dataclass(frozen=True, slots=True)
class _Expected:
    container: Container
    files: dict[str, str]
    app_env: tuple[tuple[str, Any], ...]
    drain: Any
    cpu_workers: int


def _symbol(counter: Iterator[int], symbols: dict[int, Symbol], sidecar: str, param: str | None, type_: str,
            default: Any, derived: str | None = None) -> Symbol:
    symbol = Symbol(next(counter), sidecar, param, type_, default, derived)
    symbols[symbol.index] = symbol
    return symbol


def _symbolic(template: Template, values: dict[str, Any], made: dict[str, Symbol], app: App,
              counter: Iterator[int], symbols: dict[int, Symbol], expected: _Expected) -> tuple:
    where = str(template.definition_file)
    context = sidecar_context(template, app, {**values, **made})
    # Envoy's --concurrency follows the CPU limit the chart's values give, not the one now.
    context[CPU_WORKERS] = _symbol(counter, symbols, template.name, None, "int", expected.cpu_workers, CPU_WORKERS)
    d = expand_definition(template.definition, context, where)
    mounts = tuple(Mount(volume_name(template.name, v.name), v.path) for v in d.volumes)
    mounts += tuple(Mount(m.volume, m.path, m.read_only) for m in d.mounts)
    container = replace(sidecar_container(template, d, mounts), pre_stop_sleep=0)
    parts = {name.removesuffix(".j2"): render_parts(name, text, dict(context), f"{template.folder}/files/{name}")
             for name, text in template.files}
    return container, parts, _app_env(template, context, where), d.pre_stop_sleep


def _app_env(template: Template, context: dict[str, Any], where: str) -> tuple[tuple[str, Any], ...]:
    return tuple((k, str(expand(v, context, f"{where}: app_env.{k}"))) for k, v in template.definition.app_env)


def _mismatches(built: tuple, expected: _Expected, symbols: dict[int, Symbol]) -> set[str] | None:
    """Parameters whose chart expressions would not give the render at their defaults, or
    that reach a field no chart value can go to. None: a mismatch no Symbol accounts for
    (a filter that garbled a marker): then every parameter of the sidecar is fixed."""
    container, parts, app_env, drain = built
    wrong: set[Symbol] = set()
    unexplained = False

    def blame(ours: Any, theirs: Any) -> None:
        nonlocal unexplained
        if evaluate(ours, _default, symbols) == theirs:
            return
        if isinstance(ours, tuple) and isinstance(theirs, tuple) and len(ours) == len(theirs):
            for one, other in zip(ours, theirs):  # only the items that differ
                blame(one, other)
            return
        found = symbols_in(ours, symbols)
        wrong.update(found)
        unexplained = unexplained or not found

    for f in fields(Container):
        ours, theirs = getattr(container, f.name), getattr(expected.container, f.name)
        if f.name == "ports":  # only the number and protocol of a port can move
            wrong.update(s for p in ours for s in symbols_in((p.name, p.public, p.scrape_path), symbols))
            blame(tuple((p.number, p.protocol) for p in ours), tuple((q.number, q.protocol) for q in theirs))
        elif f.name in _MOVABLE:
            blame(ours, theirs)
            if f.name in ("startup", "readiness", "liveness") and ours is not None:
                wrong.update(symbols_in(ours.path, symbols))  # httpGet or tcpSocket is decided now
        elif f.name not in ("pre_stop_sleep", "compose_healthcheck"):
            wrong.update(symbols_in(ours, symbols))
    for path, text in expected.files.items():
        if evaluate_parts(parts[path], _default) != text:
            found = symbols_in(_flatten(parts[path]), symbols)
            wrong.update(found)
            unexplained = unexplained or not found
    blame(app_env, expected.app_env)
    blame(drain, expected.drain)
    return None if unexplained else {s.param for s in wrong if s.param}


def _default(symbol: Symbol) -> Any:
    return symbol.default


def _flatten(parts: tuple) -> list:
    out: list[Any] = []
    for part in parts:
        if hasattr(part, "then"):
            out += [*part.test.args, *_flatten(part.then), *_flatten(part.otherwise)]
        else:
            out.append(part)
    return out


def _referenced_params(template: Template) -> set[str]:
    """Every name a template's definition strings and files read: blamed when a failure names
    no Symbol (the coarse fallback: those parameters are all fixed)."""
    found: set[str] = set()
    for text in _strings(template.definition):
        found |= referenced(text)
    for name, text in template.files:
        if name.endswith(".j2"):
            found |= referenced(text)
    return found


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, Ref):
        yield str(value)
    elif isinstance(value, str):
        yield value
    elif isinstance(value, tuple):
        for v in value:
            yield from _strings(v)
    elif hasattr(value, "__dataclass_fields__"):
        for f in fields(value):
            yield from _strings(getattr(value, f.name))
