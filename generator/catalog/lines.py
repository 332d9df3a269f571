"""YAML that remembers its lines, and the report every catalog problem goes into as
`FILE:LINE: field: problem`. Loading a catalog stops at the first problem; `catalog lint`
collects them all: the same checks write into either kind of report."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from generator.errors import CatalogError
from generator.yamlio import FastLoader, SafeLoader, load_text, read_text


class _Map(dict):
    """A YAML mapping that remembers its line and the line of each key."""


class _Seq(list):
    """A YAML sequence that remembers its line and the line of each item."""


def _construct_map(loader: yaml.SafeLoader, node: yaml.MappingNode) -> _Map:
    loader.flatten_mapping(node)
    result = _Map()
    result.line, result.lines, result.duplicates = node.start_mark.line + 1, {}, []
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, (str, int, float, bool)) and key is not None:
            key = str(key)
        if key in result:
            result.duplicates.append((key, key_node.start_mark.line + 1))
        result[key] = loader.construct_object(value_node, deep=True)
        result.lines[key] = key_node.start_mark.line + 1
    return result


def _construct_seq(loader: yaml.SafeLoader, node: yaml.SequenceNode) -> _Seq:
    result = _Seq(loader.construct_object(item, deep=True) for item in node.value)
    result.line, result.lines = node.start_mark.line + 1, [item.start_mark.line + 1 for item in node.value]
    return result


class _FastLineLoader(FastLoader):  # yamlio's: no base-60 numbers
    pass


class _LineLoader(SafeLoader):
    pass


for _loader in (_FastLineLoader, _LineLoader):
    _loader.add_constructor("tag:yaml.org,2002:map", _construct_map)
    _loader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)


@dataclass
class Report:
    """Problems as `FILE:LINE: field: problem` lines. With `first`, the first problem is
    raised as a CatalogError (loading a catalog); without, they are collected (lint)."""

    first: bool = False
    problems: list[str] = field(default_factory=list)

    def add(self, file: Path | str, line: int | None, where: str, problem: str) -> None:
        at = f"{file}:{line}" if line else str(file)
        message = f"{at}: {where + ': ' if where else ''}{problem}"
        if self.first:
            raise CatalogError(message)
        self.problems.append(message)

    def add_error(self, error: CatalogError) -> None:
        if self.first:
            raise error
        self.problems.append(error.message)


def read_yaml(path: Path, report: Report, expected: str) -> Any:
    """The file's YAML with lines; None (reported) when it cannot be read, is not YAML or
    is empty. `expected` says what an empty file should hold."""
    try:
        text = read_text(path, CatalogError)  # bounded: a catalog file cannot be endless
        data = load_text(text, str(path), CatalogError, loaders=(_FastLineLoader, _LineLoader))
    except CatalogError as exc:
        report.add_error(exc)
        return None
    if data is None:
        report.add(path, 1, "", f"is empty: expected {expected}")
        return None
    _report_duplicates(data, path, report)
    return data


def _report_duplicates(node: Any, path: Path, report: Report, where: str = "") -> None:
    if isinstance(node, _Map):
        for key, line in node.duplicates:
            report.add(path, line, f"{where}{key}", "key given twice (YAML keeps only the last)")
        for key, value in node.items():
            _report_duplicates(value, path, report, f"{where}{key}.")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            _report_duplicates(value, path, report, f"{where.rstrip('.')}[{i}].")


def line_of(node: Any, key: Any = None) -> int | None:
    if key is not None and isinstance(node, _Map):
        return node.lines.get(key, node.line)
    if key is not None and isinstance(node, _Seq) and isinstance(key, int) and key < len(node.lines):
        return node.lines[key]
    return getattr(node, "line", None)
