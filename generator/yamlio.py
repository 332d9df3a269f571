"""YAML in and out: safe loading with clear errors, plain deterministic dumping."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

# libyaml (in PyYAML's wheels) parses and emits ~5x faster than pure Python: ~30 ms of a
# ~200 ms render. Where PyYAML was built without it, these are the pure-Python classes.
_FastLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


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
              loaders: tuple[type, type] = (_FastLoader, yaml.SafeLoader)) -> Any:
    """Parse YAML text; a syntax error becomes `error` naming the file and line. `loaders`:
    the libyaml loader and its pure-Python twin (catalog lines uses ones that keep lines)."""
    fast, plain = loaders
    try:
        return _load(text, fast, all_documents)
    except (yaml.YAMLError, ValueError):  # ValueError: libyaml cannot encode lone surrogates
        pass
    # libyaml refuses a few documents PyYAML reads (tabs in odd places), and PyYAML words
    # the errors users see: on any error, PyYAML has the last word, as before.
    try:
        return _load(text, plain, all_documents)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark else source
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise error(f"{where}: invalid YAML: {problem}") from None


def _load(text: str, loader: type, all_documents: bool) -> Any:
    return list(yaml.load_all(text, loader)) if all_documents else yaml.load(text, loader)


def load_file(path: Path, error: type[Exception], all_documents: bool = False) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise error(f"{path}: not UTF-8 text") from None
    return load_text(text, str(path), error, all_documents)
