"""FileSet: the rendered output as {relative path: bytes}, before anything is written."""

from __future__ import annotations

from pathlib import PurePosixPath
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


def is_safe_relative(path: str) -> bool:
    """True for a plain relative path that stays inside the output folder."""
    if not path or "\\" in path or "\x00" in path:
        return False
    pure = PurePosixPath(path)
    return not pure.is_absolute() and ".." not in pure.parts and str(pure) == path
