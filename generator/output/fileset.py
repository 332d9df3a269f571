"""FileSet: the rendered output as {relative path: bytes}, before anything is written."""

from __future__ import annotations

from types import MappingProxyType
from typing import Mapping

FileSet = Mapping[str, bytes]


def merge(*parts: FileSet) -> FileSet:
    """Union of file sets; two parts writing the same path is a bug, not a choice."""
    merged: dict[str, bytes] = {}
    for part in parts:
        for path, data in part.items():
            if path in merged:
                raise ValueError(f"two emitters wrote {path}")
            merged[path] = data
    return MappingProxyType(dict(sorted(merged.items())))

