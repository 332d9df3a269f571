"""`sidecar-new catalog lint`: every problem in a catalog, each naming its file and line.

Stage one (here) checks catalog.yaml and each sidecar.yaml against the schema, from YAML
nodes that remember their lines; stage two (lint_render.py) renders every template that
passed through the real pipeline and validators, and looks for templates that fight.
"""

from __future__ import annotations

import re
from pathlib import Path

from generator.catalog.hooks import POST_RENDER, hook_command, hook_files, post_render_hook
from generator.catalog.lines import Report
from generator.catalog.loader import Catalog, chain_problems, read_index, read_template
from generator.errors import CatalogError
from generator.tools.scaffold import PLACEHOLDER_IMAGE


def lint_hooks(root: Path, report: Report) -> None:
    try:
        files, hook = hook_files(root), post_render_hook(root)
        if hook is not None:
            hook_command(hook)
    except CatalogError as exc:
        report.problems.append(exc.message)
        return
    for extra in (p for p in files if p != hook):
        report.add(extra, None, "", f"not a hook sidecar-new runs (only hooks/{POST_RENDER}, "
                                    "hooks/post_render.sh or .py, with --trust); remove or rename it")


def lint_unlisted(root: Path, listed: set[Path], report: Report) -> None:
    for definition in sorted((root / "templates").glob("*/sidecar.yaml")):
        if definition.parent.resolve() not in listed:
            report.add(definition.parent, None, "", "template folder not listed in catalog.yaml")


def lint_catalog(root: Path, source: str | None = None) -> tuple[list[str], str]:
    """All problems of the catalog in `root`, and a one-line summary for when there are none.
    The schema's checks are the loader's own, collected instead of stopping at the first."""
    from generator.tools.lint_render import conflict_problems, render_problems, VERSIONS

    report = Report()
    index = read_index(root, report)
    name, version = index.name, index.version
    templates, listed = [], set()
    for entry, line, entry_ok in index.entries:
        folder = root / entry["path"]
        listed.add(folder.resolve())
        template = read_template(root, entry, report)
        if template is None or not entry_ok:
            report.add(folder, None, "", "not rendered until the problems above are fixed")
            continue
        templates.append((template, line))
    if (root / "catalog.yaml").is_file():
        lint_unlisted(root, listed, report)
        lint_hooks(root, report)
    for template, problem in chain_problems([t for t, _ in templates]):
        line = next(line for t, line in templates if t is template)
        report.add(root / "catalog.yaml", line, f"templates.{template.name}", problem)
    if templates:
        catalog = Catalog(name=name, version=version, source=source or str(root),
                          templates=tuple(t for t, _ in templates), root=root,
                          namespace_holder=index.namespace_holder)
        report.problems += conflict_problems(catalog, root / "catalog.yaml", dict(
            (t.name, line) for t, line in templates))
        report.problems += render_problems(catalog)
    summary = (f"{root}: catalog {name} {version}: {len(templates)} template(s) ok (schema, rendered "
               f"with defaults for Kubernetes {' and '.join(VERSIONS)}, docker-compose config, kubectl "
               "kustomize, kubernetes-validate, Envoy v3, pod rules, ports and volumes)")
    return report.problems, summary


# What `catalog new` leaves for the author to fill in: the template lints as generated (so it can
# be tried at once), but shipping it so is a mistake worth a warning.
_PLACEHOLDERS = ((re.compile(r"\bTODO\b"), "a TODO left from `catalog new`"),
                 (re.compile(PLACEHOLDER_IMAGE.format(name="[a-z0-9-]+").replace(".", r"\.")),
                  "the placeholder image of `catalog new`; use your real image"))


def placeholder_warnings(root: Path) -> list[str]:
    """One warning a file and placeholder kind, naming the first line it is on."""
    warnings = []
    templates = root / "templates"
    for path in [root / "catalog.yaml", *sorted(templates.glob("*/sidecar.yaml")), *sorted(templates.glob("*/files/**/*"))]:
        if not path.is_file():
            continue
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            continue  # the schema check reports unreadable files
        for needle, meaning in _PLACEHOLDERS:
            line = next((number for number, text in enumerate(lines, 1) if needle.search(text)), None)
            if line is not None:
                warnings.append(f"{path}:{line}: warning: {meaning}")
    return warnings
