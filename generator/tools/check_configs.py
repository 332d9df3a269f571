"""`sidecar-new check` for sidecar config files: Envoy (its v3 API plus the cross-references the
API classes leave out) and a structural check of Fluentd's fluent.conf."""

from __future__ import annotations

import hashlib
import importlib
import os
import re
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from generator.errors import CheckError
from generator.yamlio import load_file

Problems = list[str]
# The checkers come from PyPI with the package, or from a clone of this project (pip install -e).
INSTALL_HINT = "install the checkers with pip install 'sidecar-new[check]' (in a clone: pip install -e '.[check]')"
# envoy-data-plane builds its pydantic classes lazily and not thread-safely: catalog lint checks
# several renders at once, and a class half-built in one thread fails in another
# ("type object 'Bootstrap' has no attribute '__pydantic_core_schema__'").
_ENVOY_API = threading.RLock()


# Hand-edited files can hold anything: the own rules read them through these two, so a wrong
# shape is skipped (the real tools report it) instead of raising.
def mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def mappings(value: Any) -> list[dict[str, Any]]:
    """The mappings in a list; nothing when value is not a list."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def dig(node: Any, *keys: str) -> Any:
    """node[k1][k2]...; None where a level is missing or not a mapping."""
    for key in keys:
        node = mapping(node).get(key)
    return node


def documents(path: Path) -> list[Any]:
    """Every YAML document of a generated file; none when it is missing or unreadable
    (kubectl kustomize has reported it already)."""
    if not path.is_file():
        return []
    try:
        return load_file(path, CheckError, all_documents=True)
    except CheckError:
        return []


def check_envoy(config_file: Path) -> Problems:
    """Envoy's v3 API (envoy-data-plane) rejects unknown fields, also inside typed_config;
    lint_envoy adds the references between its parts, which the API classes do not check."""
    try:
        config = load_file(config_file, CheckError)
    except CheckError as exc:
        return [exc.message]
    if not isinstance(config, dict):
        return [f"{config_file}: not a mapping (an Envoy bootstrap has admin:, static_resources:, ...)"]
    problems = [f"{config_file}: {problem}" for problem in lint_envoy(config)]
    passed = _passed_marker(config_file)
    if passed is not None and passed.is_file():
        return problems  # this very file passed the API check of this very library before
    try:
        with _ENVOY_API:
            from envoy_data_plane.envoy.config.bootstrap.v3 import Bootstrap
    except ImportError:
        raise CheckError("envoy-data-plane: not installed; " + INSTALL_HINT) from None
    for type_url in sorted({node["@type"] for node in _nodes(config) if isinstance(node.get("@type"), str)}):
        package = type_url.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        try:
            with _ENVOY_API:
                importlib.import_module(f"envoy_data_plane.{package}")
        except ImportError:
            return [f"{config_file}: unknown typed_config type {type_url}", *problems]
    try:
        with _ENVOY_API:
            Bootstrap().from_dict(config)
    except (AttributeError, KeyError, TypeError, ValueError) as exc:  # AttributeError: text for a message
        reason = " ".join(str(exc).split()) or type(exc).__name__
        return [f"{config_file}: not a valid Envoy v3 bootstrap: {reason}", *problems]
    _remember(passed)
    return problems


def _passed_marker(config_file: Path) -> Path | None:
    """Where a pass of the Envoy API check is remembered: keyed by the file's bytes and the
    envoy-data-plane version. Importing its classes is ~80% of a `check` (~1.5 s); a folder is
    usually checked again unchanged (after editing compose.yaml, say). None: no cache."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        key = version("envoy-data-plane").encode() + b"\0" + config_file.read_bytes()
    except (PackageNotFoundError, OSError):
        return None
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "sidecar-new" / "envoy-passed" / hashlib.sha256(key).hexdigest()


def _remember(marker: Path | None) -> None:
    if marker is None:
        return
    try:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
    except OSError:  # a read-only home: check again next time
        pass


def _nodes(node: Any) -> Iterator[dict[str, Any]]:
    """Every mapping in the config, depth first."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _nodes(value)
    elif isinstance(node, list):
        for value in node:
            yield from _nodes(value)


_LOOPBACK = ("127.", "::1", "[::1]", "localhost")


def lint_envoy(config: Any) -> Iterator[str]:
    """Routes name defined clusters, ports are in range, listener names and bound ports are
    unique, and the admin API listens on loopback only."""
    config = mapping(config)
    admin = mapping(mapping(mapping(config.get("admin")).get("address")).get("socket_address"))
    if admin and not str(admin.get("address", "")).startswith(_LOOPBACK):
        yield (f"admin listens on {admin.get('address')}:{admin.get('port_value')}: anything that reaches "
               "the pod can POST /quitquitquit or /healthcheck/fail and read /config_dump; bind it to "
               "127.0.0.1 and serve /ready to probes through a listener of its own")
    static = mapping(config.get("static_resources"))
    listeners = mappings(static.get("listeners"))
    names = Counter(str(listener.get("name")) for listener in listeners if "name" in listener)
    for name, count in names.items():
        if count > 1:
            yield f"listener name {name!r} is used {count} times"
    # With CDS the clusters arrive at run time: only a static set can be checked.
    if "cds_config" not in mapping(config.get("dynamic_resources")):
        defined = {str(cluster.get("name")) for cluster in mappings(static.get("clusters"))}
        for cluster in dict.fromkeys(_cluster_references(static)):
            if cluster not in defined:
                shown = ", ".join(sorted(defined)) or "none"
                yield f"route to cluster {cluster!r}: no such cluster (defined: {shown})"
    for node in _nodes(config):
        port = mapping(node.get("socket_address")).get("port_value")
        if port is not None and not 1 <= _number(port) <= 65535:
            yield f"port {port} is not in 1..65535"
    yield from _port_clashes(config, listeners)


def _number(port: Any) -> int:
    """Envoy reads proto JSON, where a number may also be written as a string; -1: not a number."""
    if isinstance(port, str) and port.isdigit():
        return int(port)
    return port if type(port) is int else -1


def _cluster_references(static: dict[str, Any]) -> Iterator[str]:
    for node in _nodes(static.get("listeners")):
        route = mapping(node.get("route"))  # a RouteAction: one cluster or weighted ones
        references = [route.get("cluster")]
        references += [weighted.get("name")
                       for weighted in mappings(mapping(route.get("weighted_clusters")).get("clusters"))]
        if str(node.get("@type", "")).endswith(".TcpProxy"):
            references.append(node.get("cluster"))
        yield from (reference for reference in references if isinstance(reference, str))


def _port_clashes(config: dict[str, Any], listeners: list[dict[str, Any]]) -> Iterator[str]:
    """Two binds of one port and protocol clash unless both name different, specific addresses."""
    binds = [("admin", mapping(config.get("admin")))]
    binds += [(f"listener {listener.get('name')!r}", listener) for listener in listeners]
    seen: list[tuple[str, str, str, int]] = []
    for owner, bound in binds:
        socket = mapping(mapping(bound.get("address")).get("socket_address"))
        port = _number(socket.get("port_value"))
        if port < 1:  # none, or out of range (reported above)
            continue
        protocol, address = str(socket.get("protocol", "TCP")), str(socket.get("address"))
        for other_owner, other_protocol, other_address, other_port in seen:
            if (other_protocol, other_port) == (protocol, port) and (
                    address == other_address or {address, other_address} & {"0.0.0.0", "::"}):
                yield f"{protocol} port {port} is bound by both {other_owner} and {owner}"
        seen.append((owner, protocol, address, port))


# Fluentd: a structural check, not a parser. Following
# https://docs.fluentd.org/configuration/config-file and Fluentd's own v1 parser, a line that
# starts with '<' is a directive: `<name argument>` opens a section (name: letters, digits, _),
# `</name>` (nothing else) closes the innermost one; a comment may follow either. Fluentd refuses
# <source>, <match> and <filter> without an `@type` of their own. Not checked: parameter values
# (a value continued over lines, in quotes or brackets, whose next line starts with '<' would be
# taken for a directive), @include'd files, plugin names and their parameters.
_DIRECTIVE = re.compile(r"<(?P<close>/)?(?P<name>[A-Za-z0-9_]+)(?P<argument>\s[^>]*)?>\s*(#.*)?")
_TYPED = {"source", "match", "filter"}


@dataclass(slots=True)
class _Section:
    name: str
    argument: str
    line: int
    typed: bool = False

    def __str__(self) -> str:
        return f"<{self.name} {self.argument}>" if self.argument else f"<{self.name}>"


def check_fluentd(config_file: Path) -> Problems:
    try:
        text = config_file.read_bytes().decode("utf-8")
    except OSError as exc:
        return [f"{config_file}: cannot read: {exc.strerror or exc}"]
    except UnicodeDecodeError:
        return [f"{config_file}: not UTF-8 text"]
    return [f"{config_file}:{line}: {problem}" for line, problem in lint_fluentd(text)]


_SIZE = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*([kmgt]?)b?", re.I)


def fluentd_size(value: str) -> int | None:
    """Fluentd's size type: bytes, or a number with k, m, g or t (binary units)."""
    match = _SIZE.fullmatch(value.strip().strip('"'))
    if not match:
        return None
    return int(float(match[1]) * 1024 ** ("kmgt".find(match[2].lower()) + 1) if match[2] else float(match[1]))


@dataclass(slots=True)
class FileBuffer:
    line: int
    path: str | None
    total_limit_size: int | None  # None: not set (Fluentd's default for a file buffer is 64GB)


def file_buffers(text: str) -> list[FileBuffer]:
    """Every <buffer> section with @type file, with its path and total_limit_size."""
    found, current = [], None
    for number, line in enumerate(text.splitlines(), 1):
        words = line.split("#", 1)[0].split()
        if words[:1] == ["<buffer"] or words[:1] == ["<buffer>"] or (words and words[0].startswith("<buffer")):
            current = {"line": number, "type": None, "path": None, "total": None}
        elif words[:1] == ["</buffer>"] and current:
            if current["type"] == "file":
                total = fluentd_size(current["total"]) if current["total"] else None
                found.append(FileBuffer(current["line"], current["path"], total))
            current = None
        elif current and len(words) >= 2:
            key = {"@type": "type", "path": "path", "total_limit_size": "total"}.get(words[0])
            if key:
                current[key] = words[1].strip('"')
    return found


def lint_fluentd(text: str) -> Iterator[tuple[int, str]]:
    """(line, problem) for malformed or unbalanced directives and untyped plugins. Stops at the
    first malformed or unbalanced directive, as Fluentd does: what follows would be misplaced."""
    open_sections: list[_Section] = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line.startswith("<"):
            if open_sections and re.fullmatch(r"@type\s+[^\s#].*", line):
                open_sections[-1].typed = True
            continue
        directive = _DIRECTIVE.fullmatch(line)
        if not directive or directive["close"] and directive["argument"]:
            yield number, f"malformed directive {line!r}"
            return
        name = directive["name"]
        if not directive["close"]:
            open_sections.append(_Section(name, (directive["argument"] or "").strip(), number))
            continue
        if not open_sections:
            yield number, f"</{name}> without an opening <{name}>"
            return
        section = open_sections.pop()
        if section.name != name:
            yield number, f"</{name}> closes {section} of line {section.line}"
            return
        if name in _TYPED and not section.typed:
            yield section.line, f"{section} has no @type"
    for section in open_sections:
        yield section.line, f"{section} is never closed"
