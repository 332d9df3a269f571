"""The catalog: an index (catalog.yaml) of sidecar templates, each a folder with a
definition (sidecar.yaml) and the sidecar's own config files (files/, Jinja when .j2)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from generator import rules
from generator.catalog.lines import Report, line_of, read_yaml
from generator.catalog.schema import Checker, Definition, Param, parse_definition
from generator.errors import SpecError

INDEX_KEYS = ("name", "version", "templates", "namespace_holder", "overhead_budget")
# The sidecars' requests a catalog allows, in percent of the app's, per resource (model/overhead.py
# has the default, 50); its keys are the resources a container's requests name.
BUDGET_RESOURCES = ("cpu", "memory", "ephemeral-storage")
MAX_BUDGET_PERCENT = 10000
# What owns the pod's network namespace in Compose, as the pause container does in Kubernetes
# (kubelet's sandbox image): a static binary that only waits for a signal, runs as 65535 and
# never restarts, so the app can crash and come back without cutting its sidecars off.
# https://github.com/kubernetes/kubernetes/tree/master/build/pause (pause.c, Dockerfile:
# FROM scratch, USER 65535:65535, ENTRYPOINT ["/pause"]); 3.10 is the sandbox image of
# Kubernetes 1.31+ and containerd 2.0. A catalog may name its own mirror of it.
DEFAULT_NAMESPACE_HOLDER = "registry.k8s.io/pause:3.10"
ENTRY_KEYS = ("name", "capability", "summary", "image", "path", "conflicts", "in_front_of")


@dataclass(frozen=True, slots=True)
class Template:
    name: str
    capability: str
    summary: str
    image: str
    folder: Path
    definition: Definition  # typed; strings may still hold {{ }}
    files: tuple[tuple[str, str], ...]  # (relative path, text) under files/
    conflicts: tuple[str, ...] = ()
    # Fronting templates this one may sit in front of (its upstream is then theirs): the one
    # way two templates that front the app go together (nginx TLS -> oauth2-proxy -> app).
    in_front_of: tuple[str, ...] = ()

    @property
    def params(self) -> tuple[Param, ...]:
        return self.definition.params

    @property
    def definition_file(self) -> Path:
        """The definition file, which messages about the template name."""
        return self.folder / "sidecar.yaml"

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)


@dataclass(frozen=True, slots=True)
class Catalog:
    name: str
    version: str
    source: str
    templates: tuple[Template, ...]
    root: Path | None = None  # the folder holding catalog.yaml (and hooks/)
    # Where a team catalog came from (generator/fetch.py fills these in at load time),
    # recorded in .sidecar-new.yaml so a result can be traced to the exact templates.
    checkout: str | None = None
    directory: str | None = None
    commit: str | None = None  # git rev-parse HEAD of the fetched clone
    content_hash: str | None = None  # sha256 over the catalog folder's files (folders, zips)
    namespace_holder: str = DEFAULT_NAMESPACE_HOLDER  # image of the Compose namespace holder
    # A stack (--catalog team --catalog builtin): each catalog in search order; the stack's
    # own fields are the first's, its templates the first of each name (catalog/stack.py).
    layers: tuple["Catalog", ...] = ()
    overhead_budget: tuple[tuple[str, int], ...] = ()  # resource -> percent; the rest: the default
    _by_name: dict[str, Template] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def provenance(self) -> dict[str, str] | list[dict[str, str]]:
        """Where the templates came from, recorded in .sidecar-new.yaml: one mapping, or for a
        stack a list of them in search order."""
        if self.layers:
            return [layer.provenance for layer in self.layers]  # type: ignore[misc]
        found = {"name": self.name, "version": self.version, "source": self.source,
                 "checkout": self.checkout, "directory": self.directory, "commit": self.commit,
                 "sha256": self.content_hash}
        return {key: value for key, value in found.items() if value is not None}

    def get(self, name: str, field: str = "sidecars") -> Template:
        # An index by name, built on first use: a scan per lookup made a render with n
        # sidecars quadratic. (object.__setattr__: the catalog is frozen; the index is derived.)
        by_name = self._by_name
        if by_name is None:
            by_name = {t.name: t for t in reversed(self.templates)}  # the first of a name wins
            object.__setattr__(self, "_by_name", by_name)
        if name in by_name:
            return by_name[name]
        known = ", ".join(t.name for t in self.templates) or "none"
        raise SpecError(f"{field}: {name!r} is not in catalog {self.name!r} (known: {known})")


def builtin_root() -> Path:
    """The built-in catalog: packaged beside the code in a wheel, at the repo root in a checkout."""
    here = Path(__file__).resolve().parent.parent
    packaged = here / "_catalog"
    return packaged if (packaged / "catalog.yaml").is_file() else here.parent


def load_catalog(root: Path | None = None, source: str | None = None) -> Catalog:
    """The catalog in `root` (default: built-in); the first problem is a CatalogError naming
    its file and line, the same words `catalog lint` prints among all of them."""
    root = root or builtin_root()
    report = Report(first=True)
    index = read_index(root, report)
    templates = tuple(read_template(root, entry, report) for entry, _, _ in index.entries)
    lines = {str(entry.get("name")): line for entry, line, _ in index.entries}
    for template, problem in chain_problems(list(templates)):
        # no example: the chain examples reach this through load_catalog (`new`), not the trace
        report.add(root / "catalog.yaml", lines.get(template.name), f"templates.{template.name}", problem)
    return Catalog(name=index.name, version=index.version, source=source or "builtin", templates=templates,
                   root=root, namespace_holder=index.namespace_holder, overhead_budget=index.overhead_budget)


@dataclass(frozen=True, slots=True)
class Index:
    name: str = ""
    version: str = ""
    namespace_holder: str = DEFAULT_NAMESPACE_HOLDER
    overhead_budget: tuple[tuple[str, int], ...] = ()
    # (entry, its line, the entry is good) for every entry whose template folder exists, so
    # `catalog lint` checks definitions even when their entry has a problem.
    entries: tuple[tuple[dict, int | None, bool], ...] = ()


def read_index(root: Path, report: Report) -> Index:
    """catalog.yaml, checked into `report`."""
    path = root / "catalog.yaml"
    if not path.is_file():
        # no example: `new` and `lint` fetch the source first, which refuses it in its own words
        report.add(path, None, "", "no catalog.yaml in the catalog folder")
        return Index()
    index = read_yaml(path, report, "name, version and templates")
    check = Checker(path, report)
    if index is None or not check.mapping(index, index, None, "", INDEX_KEYS, INDEX_KEYS[:3]):
        return Index()
    _kind(check, index, "name", "name", (str,), "a non-empty string")
    _kind(check, index, "version", "version", (str, int, float), "a version string")
    for key in ("name", "version"):  # printed by list and recorded in every render
        check.rule(rules.printable, str(index[key]), index, key, key)
    holder = index.get("namespace_holder", DEFAULT_NAMESPACE_HOLDER)
    if not check.rule(rules.image, holder, index, "namespace_holder", "namespace_holder"):
        holder = DEFAULT_NAMESPACE_HOLDER
    budget = _overhead_budget(check, index)
    entries = index["templates"]
    if not isinstance(entries, list) or not entries:
        check.bad(index, "templates", "templates", "must be a non-empty list")
        return Index(str(index["name"]), str(index["version"]), holder, budget)
    names = [e.get("name") for e in entries if isinstance(e, dict)]
    found = []
    for i, entry in enumerate(entries):
        where, before = f"templates[{i}]", check.count
        if not check.mapping(entry, entries, i, where, ENTRY_KEYS, ENTRY_KEYS[:5]) and not isinstance(entry, dict):
            continue
        for key in (k for k in ENTRY_KEYS[:5] if entry.get(k) is not None):
            _kind(check, entry, key, f"{where}.{key}", (str,), "a non-empty string")
        if isinstance(entry.get("name"), str):
            check.rule(rules.dns_label, entry["name"], entry, "name", f"{where}.name")
            if names.count(entry["name"]) > 1:
                check.bad(entry, "name", f"{where}.name", f"template {entry['name']!r} is listed twice")
        if isinstance(entry.get("image"), str):
            check.rule(rules.image, entry["image"], entry, "image", f"{where}.image")
        for key in ("capability", "summary"):
            if isinstance(entry.get(key), str):
                check.rule(rules.printable, entry[key], entry, key, f"{where}.{key}")
        _conflicts(check, entry, where, names, "conflicts")
        _conflicts(check, entry, where, names, "in_front_of")
        good = check.count == before
        if isinstance(entry.get("path"), str) and _folder(root, check, entry, where):
            found.append((entry, line_of(entries, i), good and check.count == before))
    return Index(str(index["name"]), str(index["version"]), holder, budget, tuple(found))


def _overhead_budget(check: Checker, index: dict) -> tuple[tuple[str, int], ...]:
    """overhead_budget: {cpu: 50, memory: 50, ephemeral-storage: 50}, each a whole percent."""
    budget = index.get("overhead_budget")
    if budget is None or not check.mapping(budget, index, "overhead_budget", "overhead_budget", BUDGET_RESOURCES):
        return ()
    found = []
    for resource, percent in budget.items():
        if isinstance(percent, bool) or not isinstance(percent, int) or not 1 <= percent <= MAX_BUDGET_PERCENT:
            check.bad(budget, resource, f"overhead_budget.{resource}", f"{percent!r} is not a whole percent "
                      f"from 1 to {MAX_BUDGET_PERCENT} (the sidecars' requests, in percent of the app's)")
        else:
            found.append((resource, percent))
    return tuple(found)


def _kind(check: Checker, node: dict, key: str, where: str, kinds: tuple[type, ...], name: str) -> None:
    value = node[key]
    if not isinstance(value, kinds) or isinstance(value, bool) or isinstance(value, str) and not value.strip():
        check.bad(node, key, where, f"must be {name}, not {value!r}")


def _conflicts(check: Checker, entry: dict, where: str, names: list, key: str) -> None:
    """conflicts and in_front_of: lists of other templates of this catalog."""
    others = entry.get(key) or []
    if not isinstance(others, list):
        check.bad(entry, key, f"{where}.{key}", "must be a list of template names")
        return
    for other in others:
        if other == entry.get("name") or other not in names:
            check.bad(entry, key, f"{where}.{key}", f"{other!r} is not another template "
                      f"of this catalog (known: {', '.join(map(str, names))})")


def chain_problems(templates: list[Template]) -> list[tuple[Template, str]]:
    """A declared chain (in_front_of) needs two templates that front the app, and an outer one
    whose config forwards to {{ upstream_port }}: the port the pod wires to the inner proxy
    (forwarding to app.port would skip the inner one, an auth proxy say)."""
    by_name = {t.name: t for t in templates}
    problems = []
    for outer in templates:
        for name in outer.in_front_of:
            inner = by_name.get(name)
            if inner is None:
                continue
            for t in (outer, inner):
                if t.definition.fronts_app is not True:
                    problems.append((outer, f"in_front_of: {t.name!r} does not front the app "
                                            "(fronts_app: true), so it cannot be in a chain"))
            if not any("upstream_port" in text for _, text in outer.files):
                problems.append((outer, f"in_front_of: {outer.name!r} must forward to {{{{ upstream_port }}}} "
                                        f"in its files/, the port of {name!r} when they chain"))
    return problems


def _folder(root: Path, check: Checker, entry: dict, where: str) -> bool:
    relative = entry["path"]
    folder = root / relative
    if not rules.is_safe_relative(relative):
        return check.bad(entry, "path", f"{where}.path", f"{relative!r} must be a folder inside the catalog")
    if not folder.resolve().is_relative_to(root.resolve()):
        return check.bad(entry, "path", f"{where}.path", f"template folder {relative!r} is a link out of "
                                                         "the catalog")
    if not folder.is_dir():
        return check.bad(entry, "path", f"{where}.path", f"template folder {relative!r} does not exist")
    if not (folder / "sidecar.yaml").is_file():
        return check.bad(entry, "path", f"{where}.path", f"{relative}/sidecar.yaml is missing")
    return True


def read_template(root: Path, entry: dict, report: Report) -> Template | None:
    """One template: its definition (typed) and files/; None if a problem was reported."""
    folder = root / entry["path"]
    path = folder / "sidecar.yaml"
    before = len(report.problems)
    if path.is_symlink():
        report.add(path, None, "", "must be a file, not a link")
        return None
    files = _files(folder, report)
    data = read_yaml(path, report, "ports, probes and resources")
    definition = None if data is None else parse_definition(data, [name for name, _ in files],
                                                            Checker(path, report))
    if definition is None or len(report.problems) != before:
        return None
    # An entry with problems of its own still has its definition checked (catalog lint).
    text = {key: str(entry.get(key, "")) for key in ENTRY_KEYS[:4]}
    return Template(**text, folder=folder, definition=definition, files=files,
                    conflicts=tuple(map(str, entry.get("conflicts") or ())),
                    in_front_of=tuple(map(str, entry.get("in_front_of") or ())))


def _files(folder: Path, report: Report) -> tuple[tuple[str, str], ...]:
    files_dir, found = folder / "files", []
    if files_dir.is_symlink():
        # files/ itself a link would read files from anywhere into config/ and the ConfigMaps.
        report.add(files_dir, None, "", "a template's files/ must be a folder inside the catalog, not a link")
        return ()
    if not files_dir.is_dir():
        return ()
    for path in sorted(files_dir.rglob("*")):
        relative = path.relative_to(files_dir).as_posix()
        if path.is_symlink():
            report.add(path, None, "", "links are not allowed in a template's files/ (they could point "
                                       "outside the catalog)")
        elif not rules.is_safe_relative(relative):
            report.add(path, None, "", "unsafe file name")
        elif path.is_file():
            try:
                found.append((relative, path.read_text(encoding="utf-8")))
            except UnicodeDecodeError:
                report.add(path, None, "", "template files must be UTF-8 text")
    _config_keys(files_dir, [relative for relative, _ in found], report)
    return tuple(found)


def _config_keys(files_dir: Path, names: list[str], report: Report) -> None:
    """Each file becomes a ConfigMap key (subfolders flattened, .j2 dropped): a name that is not
    a valid key, or two names with one key (a/b.conf and a__b.conf), would break or lose one."""
    keys: dict[str, str] = {}
    for relative in names:
        rendered = relative.removesuffix(".j2")
        problem = rules.config_file_problem(rendered)
        other = keys.setdefault(rules.config_key(rendered), relative)
        if problem:
            report.add(files_dir / relative, None, "", problem)
        elif other != relative:
            report.add(files_dir / relative, None, "", f"becomes ConfigMap key {rules.config_key(rendered)!r}, "
                                                       f"as {other} does; rename one")
