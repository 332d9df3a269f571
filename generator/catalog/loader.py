"""The catalog: an index (catalog.yaml) of sidecar templates, each a folder with a
definition (sidecar.yaml) and the sidecar's own config files (files/, Jinja when .j2)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from generator import rules
from generator.catalog.schema import PortDef, port_number
from generator.errors import CatalogError, SpecError
from generator.yamlio import load_file

PARAM_TYPES = ("str", "int", "bool", "port", "path", "host")
DEFINITION_KEYS = {
    "params", "run_as", "needs", "fronts_app", "command", "args", "env", "app_env", "ports",
    "volumes", "mounts", "config_dir", "probes", "compose_healthcheck", "resources",
    "pre_stop_sleep",
}
REQUIRED_DEFINITION_KEYS = ("ports", "probes", "resources")
INDEX_KEYS = {"name", "version", "templates", "namespace_holder"}
# What owns the pod's network namespace in Compose, as the pause container does in Kubernetes
# (kubelet's sandbox image): a static binary that only waits for a signal, runs as 65535 and
# never restarts, so the app can crash and come back without cutting its sidecars off.
# https://github.com/kubernetes/kubernetes/tree/master/build/pause (pause.c, Dockerfile:
# FROM scratch, USER 65535:65535, ENTRYPOINT ["/pause"]); 3.10 is the sandbox image of
# Kubernetes 1.31+ and containerd 2.0. A catalog may name its own mirror of it.
DEFAULT_NAMESPACE_HOLDER = "registry.k8s.io/pause:3.10"
_NO_DEFAULT = object()


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    type: str
    help: str
    default: Any = _NO_DEFAULT
    choices: tuple = ()
    advanced: bool = False

    @property
    def required(self) -> bool:
        return self.default is _NO_DEFAULT


@dataclass(frozen=True, slots=True)
class Template:
    name: str
    capability: str
    summary: str
    image: str
    folder: Path
    params: tuple[Param, ...]
    definition: Mapping[str, Any]  # sidecar.yaml without params; strings may hold {{ }}
    files: tuple[tuple[str, str], ...]  # (relative path, text) under files/
    conflicts: tuple[str, ...] = ()
    ports: tuple[PortDef, ...] = ()  # typed at load: the request stage claims them unrendered

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

    @property
    def provenance(self) -> dict[str, str]:
        found = {"name": self.name, "version": self.version, "source": self.source,
                 "checkout": self.checkout, "directory": self.directory, "commit": self.commit,
                 "sha256": self.content_hash}
        return {key: value for key, value in found.items() if value is not None}

    def get(self, name: str, field: str = "sidecars") -> Template:
        for template in self.templates:
            if template.name == name:
                return template
        known = ", ".join(t.name for t in self.templates) or "none"
        raise SpecError(f"{field}: {name!r} is not in catalog {self.name!r} (known: {known})")


def builtin_root() -> Path:
    """The built-in catalog: packaged beside the code in a wheel, at the repo root in a checkout."""
    here = Path(__file__).resolve().parent.parent
    packaged = here / "_catalog"
    return packaged if (packaged / "catalog.yaml").is_file() else here.parent


def load_catalog(root: Path | None = None, source: str | None = None) -> Catalog:
    root = root or builtin_root()
    index_path = root / "catalog.yaml"
    if not index_path.is_file():
        raise CatalogError(f"{index_path}: no catalog.yaml in the catalog folder")
    index = load_file(index_path, CatalogError)
    where = str(index_path)
    _expect(isinstance(index, dict), where, "top level must be a mapping")
    _only_keys(index, INDEX_KEYS, where)
    name = _string(index, "name", where)
    version = str(_required(index, "version", where))
    entries = _required(index, "templates", where)
    _expect(isinstance(entries, list) and entries, where, "templates: must be a non-empty list")
    templates = []
    for position, entry in enumerate(entries):
        templates.append(_load_template(root, entry, f"{where}: templates[{position}]"))
    names = [t.name for t in templates]
    for duplicate in {n for n in names if names.count(n) > 1}:
        raise CatalogError(f"{where}: template {duplicate!r} is listed twice")
    holder = index.get("namespace_holder", DEFAULT_NAMESPACE_HOLDER)
    try:
        rules.image(f"{where}: namespace_holder", holder)
    except SpecError as exc:
        raise CatalogError(exc.message) from None
    return Catalog(name=name, version=version, source=source or "builtin", templates=tuple(templates),
                   root=root, namespace_holder=holder)


def load_entry(root: Path, entry: Any, where: str) -> Template:
    """One catalog.yaml entry and its folder (catalog lint checks templates one by one)."""
    return _load_template(root, entry, where)


def _load_template(root: Path, entry: Any, where: str) -> Template:
    _expect(isinstance(entry, dict), where, "must be a mapping")
    _only_keys(entry, {"name", "capability", "summary", "image", "path", "conflicts"}, where)
    name = _string(entry, "name", where)
    try:
        rules.dns_label(f"{where}.name", name)
        rules.image(f"{where}.image", _string(entry, "image", where))
    except SpecError as exc:
        raise CatalogError(exc.message) from None
    folder_name = _string(entry, "path", where)
    _expect(rules.is_safe_relative(folder_name), where, f"path: {folder_name!r} must stay inside the catalog")
    folder = root / folder_name
    _expect(folder.is_dir(), where, f"path: template folder {folder_name!r} does not exist")
    _expect(folder.resolve().is_relative_to(root.resolve()), where,
            f"path: template folder {folder_name!r} is a link out of the catalog")
    definition_path = folder / "sidecar.yaml"
    _expect(definition_path.is_file(), str(definition_path), "missing template definition")
    _expect(not definition_path.is_symlink(), str(definition_path), "must be a file, not a link")
    definition = load_file(definition_path, CatalogError)
    dwhere = str(definition_path)
    _expect(isinstance(definition, dict), dwhere, "top level must be a mapping")
    _only_keys(definition, DEFINITION_KEYS, dwhere)
    for key in REQUIRED_DEFINITION_KEYS:
        _required(definition, key, dwhere)
    params = tuple(_load_param(pname, spec, f"{dwhere}: params.{pname}")
                   for pname, spec in (definition.get("params") or {}).items())
    conflicts = entry.get("conflicts") or []
    _expect(isinstance(conflicts, list), where, "conflicts: must be a list of template names")
    body = {k: v for k, v in definition.items() if k != "params"}
    ports = _load_ports(definition["ports"], {p.name for p in params if p.type == "port"}, dwhere)
    return Template(
        name=name, capability=_string(entry, "capability", where),
        summary=_string(entry, "summary", where), image=entry["image"], folder=folder,
        params=params, definition=MappingProxyType(body), files=_load_files(folder),
        conflicts=tuple(str(c) for c in conflicts), ports=ports,
    )


def _load_ports(raw: Any, port_params: set[str], where: str) -> tuple[PortDef, ...]:
    _expect(isinstance(raw, list) and raw, where, "ports: must be a non-empty list (probes need a port)")
    ports = []
    for i, port in enumerate(raw):
        at = f"{where}: ports[{i}]"
        _expect(isinstance(port, dict), at, "must be a mapping")
        _required(port, "name", at)
        try:
            number = port_number(_required(port, "port", at), port_params)
        except ValueError as exc:
            raise CatalogError(f"{at}.port: {exc}") from None
        ports.append(PortDef(name=port["name"], number=number, protocol=port.get("protocol", "TCP"),
                             public=bool(port.get("public", False)), scrape_path=port.get("scrape_path")))
    return tuple(ports)


def _load_param(name: str, spec: Any, where: str) -> Param:
    _expect(isinstance(spec, dict), where, "must be a mapping")
    _only_keys(spec, {"type", "default", "help", "choices", "advanced"}, where)
    _expect(name != "app" and name.isidentifier(), where, "parameter names must be identifiers, not 'app'")
    kind = spec.get("type", "str")
    _expect(kind in PARAM_TYPES, where, f"type: {kind!r} is not one of {', '.join(PARAM_TYPES)}")
    param = Param(name=name, type=kind, help=str(spec.get("help", "")),
                  default=spec.get("default", _NO_DEFAULT), choices=tuple(spec.get("choices") or ()),
                  advanced=bool(spec.get("advanced", False)))
    if not param.required:
        try:
            rules.param_value(f"{where}.default", kind, param.default, param.choices)
        except SpecError as exc:
            raise CatalogError(exc.message) from None
    return param


def _load_files(folder: Path) -> tuple[tuple[str, str], ...]:
    files_dir = folder / "files"
    if not files_dir.is_dir():
        return ()
    found = []
    for path in sorted(files_dir.rglob("*")):
        if path.is_symlink():
            raise CatalogError(f"{path}: links are not allowed in a template's files/")
        if path.is_file():
            relative = path.relative_to(files_dir).as_posix()
            try:
                found.append((relative, path.read_text(encoding="utf-8")))
            except UnicodeDecodeError:
                raise CatalogError(f"{path}: template files must be UTF-8 text") from None
    return tuple(found)


def _expect(condition: bool, where: str, problem: str) -> None:
    if not condition:
        raise CatalogError(f"{where}: {problem}")


def _required(mapping: dict, key: str, where: str) -> Any:
    _expect(key in mapping and mapping[key] is not None, where, f"{key}: is required")
    return mapping[key]


def _string(mapping: dict, key: str, where: str) -> str:
    value = _required(mapping, key, where)
    _expect(isinstance(value, str) and value.strip() != "", where, f"{key}: must be a non-empty string")
    return value


def _only_keys(mapping: dict, allowed: set[str], where: str) -> None:
    unknown = sorted(set(map(str, mapping)) - allowed)
    _expect(not unknown, where, f"unknown key {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})"
            if unknown else "")
