"""YAML in and out: safe loading with clear errors, plain deterministic dumping."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml


class _PlainDumper(yaml.SafeDumper):
    """Never writes &id001 anchors: a value used twice is written twice."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


# Plain scalars PyYAML leaves unquoted but other readers take for something else: YAML 1.1
# booleans y/n (go-yaml v2) and YAML 1.2 numbers such as 1e3 or 0o17 (kustomize's kyaml).
# All are valid DNS labels, so an app named `n` must still come out as a string.
_NOT_PLAIN = re.compile(r"[yYnN]|[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?|0o[0-7]+|0x[0-9a-fA-F]+")


def _str_representer(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # Multi-line strings (config files in ConfigMaps) read best as literal blocks.
    if "\n" in value and all(line == line.rstrip() for line in value.splitlines()):
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    if _NOT_PLAIN.fullmatch(value):
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="'")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_PlainDumper.add_representer(str, _str_representer)


def dump(data: Any) -> str:
    """Serialise data as block YAML, keys in the order given."""
    return yaml.dump(data, Dumper=_PlainDumper, sort_keys=False, default_flow_style=False,
                     allow_unicode=True, width=4096)


def dump_all(documents: list[Any]) -> str:
    return yaml.dump_all(documents, Dumper=_PlainDumper, sort_keys=False,
                         default_flow_style=False, allow_unicode=True, width=4096)


def load_text(text: str, source: str, error: type[Exception], all_documents: bool = False) -> Any:
    """Parse YAML text; a syntax error becomes `error` naming the file and line."""
    try:
        return list(yaml.safe_load_all(text)) if all_documents else yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark else source
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise error(f"{where}: invalid YAML: {problem}") from None


def load_file(path: Path, error: type[Exception], all_documents: bool = False) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise error(f"{path}: not UTF-8 text") from None
    return load_text(text, str(path), error, all_documents)
