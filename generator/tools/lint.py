"""`sidecar-new catalog lint`: every problem in a catalog, each naming its file and line.

Stage one (here) checks catalog.yaml and each sidecar.yaml against the schema, from YAML
nodes that remember their lines; stage two (lint_render.py) renders every template that
passed through the real pipeline and validators, and looks for templates that fight.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from generator import rules
from generator.catalog.loader import DEFINITION_KEYS, REQUIRED_DEFINITION_KEYS, Catalog, load_entry
from generator.errors import CatalogError, SpecError
from generator.catalog.hooks import POST_RENDER, hook_command, hook_files, post_render_hook
from generator.tools.lint_schema import Checker, Report, lint_body, line_of, read_yaml

ENTRY_KEYS = ("name", "capability", "summary", "image", "path", "conflicts")


def _read_nonempty(path: Path, report: Report, expected: str) -> Any:
    before = len(report.problems)
    data = read_yaml(path, report)
    if data is None and len(report.problems) == before:  # read_yaml reports what it can't read
        report.add(path, 1, "", f"is empty: expected {expected}")
    return data


def lint_index(root: Path, report: Report) -> tuple[str, str, list[tuple[Any, str, int | None, bool]]]:
    """catalog.yaml: (name, version, [(entry, where, line, entry is good)] for every entry whose
    template folder exists, so definitions are checked even when their entry has a problem)."""
    path = root / "catalog.yaml"
    if not path.is_file():
        report.add(path, None, "", "no catalog.yaml in the catalog folder")
        return "", "", []
    index = _read_nonempty(path, report, "name, version and templates")
    check = Checker(path, report)
    if index is None or not check.mapping(index, index, None, "", ("name", "version", "templates",
                                                                    "namespace_holder"),
                                          ("name", "version", "templates")):
        return "", "", []
    if index.get("namespace_holder") is not None:
        check.rule(rules.image, index["namespace_holder"], index, "namespace_holder", "namespace_holder")
    check.kind(index["name"], index, "name", "name", (str,), "a string")
    check.kind(index["version"], index, "version", "version", (str, int, float), "a version string")
    entries = index["templates"]
    if not isinstance(entries, list) or not entries:
        check.bad(index, "templates", "templates", "must be a non-empty list")
        return str(index["name"]), str(index["version"]), []
    names = [e.get("name") for e in entries if isinstance(e, dict)]
    found = []
    for i, entry in enumerate(entries):
        where, before = f"templates[{i}]", check.count
        if not check.mapping(entry, entries, i, where, ENTRY_KEYS, ENTRY_KEYS[:5]) and not isinstance(entry, dict):
            continue
        for key in (k for k in ENTRY_KEYS[:5] if entry.get(k) is not None):
            check.kind(entry[key], entry, key, f"{where}.{key}", (str,), "a string")
        if isinstance(entry.get("name"), str):
            check.rule(rules.dns_label, entry["name"], entry, "name", f"{where}.name")
            if names.count(entry["name"]) > 1:
                check.bad(entry, "name", f"{where}.name", f"template {entry['name']!r} is listed twice")
        if isinstance(entry.get("image"), str):
            check.rule(rules.image, entry["image"], entry, "image", f"{where}.image")
        _lint_conflicts(check, entry, where, names)
        good = check.count == before
        if isinstance(entry.get("path"), str) and _lint_folder(root, check, entry, where):
            found.append((entry, where, line_of(entries, i), good and check.count == before))
    return str(index["name"]), str(index["version"]), found


def _lint_conflicts(check: Checker, entry: dict, where: str, names: list) -> None:
    conflicts = entry.get("conflicts") or []
    if not isinstance(conflicts, list):
        check.bad(entry, "conflicts", f"{where}.conflicts", "must be a list of template names")
        return
    for other in conflicts:
        if other == entry["name"] or other not in names:
            check.bad(entry, "conflicts", f"{where}.conflicts", f"{other!r} is not another template "
                      f"of this catalog (known: {', '.join(map(str, names))})")


def _lint_folder(root: Path, check: Checker, entry: dict, where: str) -> bool:
    relative = entry["path"]
    folder = root / relative
    if not rules.is_safe_relative(relative) or not folder.resolve().is_relative_to(root.resolve()):
        return check.bad(entry, "path", f"{where}.path", f"{relative!r} must be a folder inside the catalog")
    if not folder.is_dir():
        return check.bad(entry, "path", f"{where}.path", f"template folder {relative!r} does not exist")
    if not (folder / "sidecar.yaml").is_file():
        return check.bad(entry, "path", f"{where}.path", f"{relative}/sidecar.yaml is missing")
    return True


def lint_definition(folder: Path, report: Report) -> bool:
    """templates/<name>/sidecar.yaml and files/; True if no problem was found."""
    path = folder / "sidecar.yaml"
    before = len(report.problems)
    d = _read_nonempty(path, report, "ports, probes and resources")
    check = Checker(path, report)
    files = _lint_files(folder, report)
    if d is None or not check.mapping(d, d, None, "", tuple(sorted(DEFINITION_KEYS)), REQUIRED_DEFINITION_KEYS):
        return False
    lint_body(check, d, files)
    return len(report.problems) == before


def _lint_files(folder: Path, report: Report) -> list[str]:
    files_dir, found = folder / "files", []
    if not files_dir.is_dir():
        return found
    for path in sorted(files_dir.rglob("*")):
        relative = path.relative_to(files_dir).as_posix()
        if path.is_symlink():
            report.add(path, None, "", "links are not allowed in a template's files/ (they could point "
                                       "outside the catalog)")
        elif not rules.is_safe_relative(relative):
            report.add(path, None, "", "unsafe file name")
        elif path.is_file():
            try:
                path.read_text(encoding="utf-8")
                found.append(relative)
            except UnicodeDecodeError:
                report.add(path, None, "", "template files must be UTF-8 text")
    return found


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


def _namespace_holder(root: Path) -> str:
    """The index's namespace holder image (lint_index has reported any problem with it)."""
    from generator.catalog.loader import DEFAULT_NAMESPACE_HOLDER

    index = read_yaml(root / "catalog.yaml", Report())
    holder = index.get("namespace_holder") if isinstance(index, dict) else None
    return holder if isinstance(holder, str) and rules.is_pinned(holder) else DEFAULT_NAMESPACE_HOLDER


def lint_catalog(root: Path, source: str | None = None) -> tuple[list[str], str]:
    """All problems of the catalog in `root`, and a one-line summary for when there are none."""
    from generator.tools.lint_render import conflict_problems, render_problems, VERSIONS

    report = Report()
    name, version, entries = lint_index(root, report)
    templates, listed = [], set()
    for entry, where, line, entry_ok in entries:
        folder = root / entry["path"]
        listed.add(folder.resolve())
        if not lint_definition(folder, report) or not entry_ok:
            report.add(folder, None, "", "not rendered until the problems above are fixed")
            continue
        try:
            templates.append((load_entry(root, dict(entry), f"{root / 'catalog.yaml'}: {where}"), line))
        except (CatalogError, SpecError) as exc:
            report.problems.append(exc.message)
    if (root / "catalog.yaml").is_file():
        lint_unlisted(root, listed, report)
        lint_hooks(root, report)
    if templates:
        catalog = Catalog(name=name, version=version, source=source or str(root),
                          templates=tuple(t for t, _ in templates), root=root,
                          namespace_holder=_namespace_holder(root))
        report.problems += conflict_problems(catalog, root / "catalog.yaml", dict(
            (t.name, line) for t, line in templates))
        report.problems += render_problems(catalog)
    summary = (f"{root}: catalog {name} {version}: {len(templates)} template(s) ok (schema, rendered "
               f"with defaults for Kubernetes {' and '.join(VERSIONS)}, docker-compose config, kubectl "
               "kustomize, kubernetes-validate, Envoy v3, pod rules, ports and volumes)")
    return report.problems, summary
