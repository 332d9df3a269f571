"""catalog lint, stage two: render each template with its defaults through the real pipeline
into a temporary folder and run the real validators on it (generator.tools.check), and find
templates that fight over a port or a volume name without declaring the conflict."""

from __future__ import annotations

import tempfile
from concurrent.futures import ThreadPoolExecutor
from itertools import combinations
from pathlib import Path
from typing import Any

from generator.catalog.loader import Catalog, Template
from generator.errors import SidecarError
from generator.input.ports import claims_of
from generator.input.spec import SAMPLE_APP, App, template_context

# The native-sidecar path (the default version) and the classic one (below 1.29).
VERSIONS = ("1.33", "1.28")
# A value for each parameter without a default, so such templates can still be rendered.
_SAMPLES = {"str": "example", "int": 1, "bool": False, "port": 18080, "path": "/data",
            "host": "collector.example.com"}


def sample_params(template: Template) -> dict[str, Any]:
    return {p.name: (p.choices[0] if p.choices else _SAMPLES[p.type])
            for p in template.params if p.required}


def render_problems(catalog: Catalog) -> list[str]:
    jobs = [(t, v) for t in catalog.templates for v in VERSIONS]
    # The validators are subprocesses, so threads overlap them.
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda job: _render_one(catalog, *job), jobs))
    seen: set[str] = set()
    unique = []
    for problem in (p for result in results for p in result):
        if problem not in seen:  # the same problem at both versions is shown once
            seen.add(problem)
            unique.append(problem)
    return unique


def _render_one(catalog: Catalog, template: Template, version: str) -> list[str]:
    from generator.tools.check import check_folder
    from generator.pipeline import build
    from generator.input.spec import parse_spec
    from generator.output.writer import write

    where = f"{template.folder / 'sidecar.yaml'}: rendered with defaults"
    answers = {"app": dict(SAMPLE_APP), "targets": ["compose", "kubernetes"],
               "sidecars": [{"name": template.name, "params": sample_params(template)}],
               "kubernetes": {"version": version}}
    try:
        files = build(parse_spec(answers, catalog), catalog)
    except SidecarError as exc:
        return [f"{where}: {exc.message}"]
    with tempfile.TemporaryDirectory(prefix="sidecar-new-lint-") as scratch:
        out = Path(scratch) / template.name
        write(files, out)
        problems = check_folder(out)
        shown = f"{where} (Kubernetes {version})" if any("kubernetes" in p for p in problems) else where
        return [f"{shown}: {p.replace(str(out) + '/', '').replace(str(out), '.')}" for p in problems]


def conflict_problems(catalog: Catalog, index: Path, lines: dict[str, int | None]) -> list[str]:
    """Two templates that would clash in one pod must say so with `conflicts:`."""
    claims = {t.name: _claims(t) for t in catalog.templates}
    problems = []
    for a, b in combinations(catalog.templates, 2):
        if a.name in b.conflicts or b.name in a.conflicts or None in (claims[a.name], claims[b.name]):
            continue
        ports_a, names_a, volumes_a = claims[a.name]
        ports_b, names_b, volumes_b = claims[b.name]
        clashes = [f"port {n}/{p}" for n, p in sorted(ports_a & ports_b)]
        clashes += [f"port name {n!r}" for n in sorted(names_a & names_b)]
        clashes += [f"volume {v!r}" for v in sorted(volumes_a & volumes_b)]
        if clashes:
            line = lines.get(a.name)
            problems.append(f"{index}:{line}: templates {a.name!r} and {b.name!r} both use "
                            f"{', '.join(clashes)}; change one, or declare `conflicts: [{b.name}]` "
                            f"on {a.name!r}")
    return problems


def _claims(template: Template) -> tuple[set, set, set] | None:
    """(port numbers with protocol, port names, volume names it owns or writes) with the
    defaults applied; None
    when the template does not render (the render check reports why)."""
    from generator.model.pod import config_volume, volume_name
    from generator.model.render import expand_definition

    app = App(**SAMPLE_APP)
    params = {**{p.name: p.default for p in template.params if not p.required}, **sample_params(template)}
    try:
        context = template_context(app, params)
        ports = claims_of(template, context)
        d = expand_definition(template.definition, context, template.name)
        names = {volume_name(template.name, v.name) for v in d.volumes}
        # A shared volume (the app's logs, another sidecar's) written by two sidecars is a fight too.
        names |= {m.volume for m in d.mounts if not m.read_only}
    except SidecarError:
        return None
    if template.files:
        names.add(config_volume(template.name))
    return {(c.number, c.protocol) for c in ports}, {c.port_name for c in ports}, names
