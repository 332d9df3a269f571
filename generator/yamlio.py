"""YAML in and out: safe, strict, bounded loading with clear errors; plain deterministic dumping."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

# What any YAML file sidecar-new reads may hold (answers, catalogs, records, files `check`
# reads): a bomb of nested aliases, a file of endless zeros or thousands of brackets would
# otherwise run for minutes, fill the memory or end in a traceback.
MAX_BYTES = 4 * 2**20
MAX_VALUES = 200_000  # counted with every alias expanded
MAX_DEPTH = 100

_INT, _FLOAT = "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"
# PyYAML's YAML 1.1 int and float patterns without base-60 (`port: 2:14:00` was 8040, a
# time such as 1:30 was 90): those stay strings, which the field's rule then refuses by name.
_NUMBERS = {
    _INT: re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"),
    _FLOAT: re.compile(r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?"
                       r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
}
_RESOLVERS = {first: [(tag, _NUMBERS.get(tag, regexp)) for tag, regexp in entries]
              for first, entries in yaml.SafeLoader.yaml_implicit_resolvers.items()}


class _Strict:
    """A mapping with a key twice is refused (PyYAML keeps the last one silently)."""

    yaml_implicit_resolvers = _RESOLVERS

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen = set()
            for key, _ in node.value:
                if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                    if (key.tag, key.value) in seen:
                        raise yaml.constructor.ConstructorError(
                            "while constructing a mapping", node.start_mark,
                            f"duplicate key {key.value!r}", key.start_mark)
                    seen.add((key.tag, key.value))
        return super().construct_mapping(node, deep)


class SafeLoader(_Strict, yaml.SafeLoader):
    pass


# libyaml (in PyYAML's wheels) parses and emits ~5x faster than pure Python: ~30 ms of a
# ~200 ms render. Where PyYAML was built without it, these are the pure-Python classes.
class FastLoader(_Strict, getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    pass


class _PlainDumper(yaml.SafeDumper):
    """Never writes &id001 anchors: a value used twice is written twice."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


class _FastPlainDumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def _literal(value: str) -> bool:
    # Multi-line strings (config files in ConfigMaps) read best as literal blocks.
    return "\n" in value and all(line == line.rstrip() for line in value.splitlines())


# Plain scalars PyYAML leaves unquoted but other readers take for something else: YAML 1.1
# booleans y/n (go-yaml v2) and YAML 1.2 numbers such as 1e3 or 0o17 (kustomize's kyaml).
# All are valid DNS labels, so an app named `n` must still come out as a string.
_NOT_PLAIN = re.compile(r"[yYnN]|[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?|0o[0-7]+|0x[0-9a-fA-F]+")


def _str_representer(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if _literal(value):
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    if _NOT_PLAIN.fullmatch(value):
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="'")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_PlainDumper.add_representer(str, _str_representer)
_FastPlainDumper.add_representer(str, _str_representer)


def _dumper_for(documents: list[Any]) -> type:
    """libyaml writes the same bytes as PyYAML's emitter for mappings of numbers, lists
    and non-empty printable ASCII text (newlines and tabs too), but not always otherwise:
    it escapes characters above U+FFFF, writes empty or long keys and keys holding a
    carriage return differently, ends a document with `...` after text ending in blank
    lines, and folds quoted text longer than the line width elsewhere.
    Everything else goes through the pure-Python emitter, so the output never changes."""
    stack = list(documents)
    if not all(isinstance(document, dict) for document in stack):
        return _PlainDumper
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if (item and not item.strip("\n") or item.endswith("\n\n") or not item.isascii()
                    or not item.replace("\n", "").replace("\t", "").isprintable()
                    or len(item) > 2000 and not _literal(item)):
                return _PlainDumper
        elif isinstance(item, dict):
            if any(isinstance(key, str) and not 0 < len(key) <= 100 for key in item):
                return _PlainDumper
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return _FastPlainDumper


def dump(data: Any) -> str:
    """Serialise data as block YAML, keys in the order given."""
    return yaml.dump(data, Dumper=_dumper_for([data]), sort_keys=False, default_flow_style=False,
                     allow_unicode=True, width=4096)


def dump_all(documents: list[Any]) -> str:
    return yaml.dump_all(documents, Dumper=_dumper_for(documents), sort_keys=False,
                         default_flow_style=False, allow_unicode=True, width=4096)


def load_text(text: str, source: str, error: type[Exception], all_documents: bool = False,
              loaders: tuple[type, type] | None = None) -> Any:
    """Parse YAML text; a syntax error, a key given twice, or a document past the bounds
    (MAX_BYTES, MAX_VALUES with aliases expanded, MAX_DEPTH) becomes `error` naming the file.
    `loaders`: the libyaml loader and its pure-Python twin (catalog lines uses ones that keep
    lines; they derive from FastLoader and SafeLoader here)."""
    fast, plain = loaders or (FastLoader, SafeLoader)
    if len(text) > MAX_BYTES:
        raise error(f"{source}: larger than {MAX_BYTES // 2**20} MiB, the limit for a YAML file")
    if _too_deep_to_parse(text):
        raise error(f"{source}: nested deeper than {MAX_DEPTH} levels")
    try:
        data = _load(text, fast, all_documents)
    except (yaml.YAMLError, ValueError, RecursionError):  # ValueError: libyaml cannot encode lone surrogates
        data = _load_with_pyyaml(text, source, error, all_documents, plain)
    if "*" in text or "\\u" in text or "\\U" in text:
        _check_bounds(data, source, error)  # aliases, or escapes that may make a lone surrogate
    else:
        _check_depth(data, 1, source, error)  # neither: a tree of its text's size, no loops
    return data


def _check_depth(node: Any, level: int, source: str, error: type[Exception]) -> None:
    if level > MAX_DEPTH:
        raise error(f"{source}: nested deeper than {MAX_DEPTH} levels")
    for child in node.values() if isinstance(node, dict) else node if isinstance(node, list) else ():
        if isinstance(child, (dict, list)):
            _check_depth(child, level + 1, source, error)


# libyaml builds nodes recursively in C: tens of thousands of `[` or `- - -` crash the
# process. Far below that, and far above any real file, refuse before parsing; MAX_DEPTH is
# then checked on what was loaded.
_PARSE_DEPTH = 1000
_COMPACT = re.compile(r"(?:[-?][ \t]+(?:[&!][^ \t\n]*[ \t]+)*){%d}" % _PARSE_DEPTH)
_BRACKET = re.compile(r"[][{}]")


def _too_deep_to_parse(text: str) -> bool:
    if _COMPACT.search(text):
        return True
    if text.count("[") + text.count("{") <= _PARSE_DEPTH:
        return False
    depth = 0
    for match in _BRACKET.finditer(text):
        depth = depth + 1 if match[0] in "[{" else max(0, depth - 1)
        if depth > _PARSE_DEPTH:
            return True
    return False


def _load_with_pyyaml(text: str, source: str, error: type[Exception], all_documents: bool,
                      plain: type) -> Any:
    # libyaml refuses a few documents PyYAML reads (tabs in odd places), and PyYAML words
    # the errors users see: on any error, PyYAML has the last word, as before.
    try:
        return _load(text, plain, all_documents)
    except RecursionError:
        raise error(f"{source}: nested too deeply (the limit is {MAX_DEPTH} levels)") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark else source
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise error(f"{where}: invalid YAML: {problem}") from None


def _check_bounds(data: Any, source: str, error: type[Exception]) -> None:
    """Walk the loaded tree once (shared nodes once: aliases), counting values as if every
    alias were expanded, and its depth; refuse a tree that refers to itself, and text that
    is not text (a lone surrogate such as "\\ud800", which no file can hold)."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    entered: set[int] = set()
    stack: list[tuple[Any, bool]] = [(data, False)]
    while stack:
        node, leaving = stack.pop()
        if isinstance(node, str):
            _check_text(node, source, error)
            continue
        if not isinstance(node, (dict, list)):
            continue
        key = id(node)
        children = [*node.keys(), *node.values()] if isinstance(node, dict) else node
        if leaving:
            entered.discard(key)
            inner = [c for c in children if isinstance(c, (dict, list))]
            size[key] = 1 + len(children) - len(inner) + sum(size[id(c)] for c in inner)
            depth[key] = 1 + max((depth[id(c)] for c in inner), default=0)
            if size[key] > MAX_VALUES:
                raise error(f"{source}: more than {MAX_VALUES} values once its aliases are expanded "
                            "(a YAML bomb?)")
            if depth[key] > MAX_DEPTH:
                raise error(f"{source}: nested deeper than {MAX_DEPTH} levels")
            continue
        if key in size:
            continue
        if key in entered:
            raise error(f"{source}: an alias refers to the value that holds it (a loop)")
        entered.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in children
                     if isinstance(child, str) or isinstance(child, (dict, list)) and id(child) not in size)


def _check_text(text: str, source: str, error: type[Exception]) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise error(f"{source}: {text[max(0, exc.start - 20):exc.start + 20]!r} holds a lone surrogate "
                    f"({text[exc.start]!r}), which is not a character") from None


def _load(text: str, loader: type, all_documents: bool) -> Any:
    return list(yaml.load_all(text, loader)) if all_documents else yaml.load(text, loader)


def load_file(path: Path, error: type[Exception], all_documents: bool = False) -> Any:
    return load_text(read_text(path, error), str(path), error, all_documents)


def read_text(path: Path, error: type[Exception]) -> str:
    """At most MAX_BYTES (+1, to tell) of a regular file, or of a pipe (`--answers <(...)`),
    as UTF-8 text: /dev/zero ends at the bound, not in a MemoryError."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(data) > MAX_BYTES:
        raise error(f"{path}: larger than {MAX_BYTES // 2**20} MiB, the limit for a YAML file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise error(f"{path}: not UTF-8 text") from None
