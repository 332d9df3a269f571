"""From what a workload says about its app to the same render `new` makes: answers -> Spec ->
pipeline.build, then the pieces inject needs read back out of the rendered files. So an
injected sidecar is the rendered one, wired by the same model and emitter code."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

from generator import rules
from generator.catalog.loader import Catalog
from generator.errors import SpecError
from generator.input import sidecars as chosen_sidecars
from generator.input.overrides import apply_sets
from generator.input.spec import ANSWER_KEYS, DEFAULTS, Spec, parse_spec
from generator.output.fileset import FileSet
from generator.pipeline import build
from generator.yamlio import load_text

# The app's image is never written by inject; the spec wants one that passes its rule.
_STAND_IN_IMAGE = "app.invalid/app:0"
Ask = Callable[[str, str], Any]  # (answers field, why) -> a value typed in a terminal


@dataclass(frozen=True, slots=True)
class Request:
    """What the command line asked: sidecars to add, --set values, the Kubernetes version."""
    sidecars: tuple[str, ...]
    sets: tuple[str, ...] = ()
    kubernetes_version: str | None = None


@dataclass(frozen=True, slots=True)
class Rendered:
    spec: Spec
    files: FileSet

    def document(self, path: str) -> Any:
        return load_text(self.files[path].decode(), path, SpecError) if path in self.files else None

    def documents(self, path: str) -> list[Any]:
        return load_text(self.files[path].decode(), path, SpecError, all_documents=True) if path in self.files else []


def app_name(name: str) -> str:
    """A workload or service name as the app's name (a DNS label: names the ConfigMaps)."""
    return rules.service_name("app.name", re.sub(r"[^a-z0-9-]", "-", name.lower()).strip("-")[:63] or "app")


def render(facts: dict[str, Any], request: Request, catalog: Catalog, target: str,
           ask: Ask | None = None) -> Rendered:
    """`facts`: app fields read from the file (name, image, port, health_path, ...)."""
    names = list(dict.fromkeys(request.sidecars))
    for name in names:
        catalog.get(name, "--with")  # an unknown name is refused before anything else
    image = facts.get("image")
    try:
        rules.image("app.image", image, True)
    except (rules.RuleError, TypeError):
        image = _STAND_IN_IMAGE
    app = {**{k: v for k, v in facts.items() if v is not None}, "image": image}
    answers: dict[str, Any] = {"app": app, "sidecars": names, "targets": [target]}
    if request.kubernetes_version:
        answers["kubernetes"] = {"version": request.kubernetes_version}
    answers = apply_sets(answers, request.sets, ANSWER_KEYS)
    _ask_missing(answers, names, catalog, ask)
    spec = parse_spec(answers, catalog, allow_unpinned=True)
    return Rendered(spec, build(spec, catalog))


def _ask_missing(answers: dict[str, Any], names: list[str], catalog: Catalog, ask: Ask | None) -> None:
    """A value a chosen sidecar needs and the file cannot tell (the app's log folder): asked in
    a terminal, else the one-line error names the --set that gives it."""
    app = answers.setdefault("app", {})
    fronted = any(catalog.get(n).definition.fronts_app for n in names)
    wanted = [(f, chosen_sidecars.needs_message(s, f)) for s, f in
              chosen_sidecars.missing_needs(names, catalog, lambda f: app.get(f) is not None)]
    if fronted and app.get("port") is None:
        wanted.append(("port", "app.port: the app declares no containerPort and a proxy must forward to it"))
    for field, why in wanted:
        if ask is None:
            raise SpecError(f"{why}; the file does not say: give --set app.{field}=VALUE")
        app[field] = ask(field, why)
    if app.get("port") is None:
        app["port"] = DEFAULTS["port"]
