"""Catalog stacks: several catalogs searched in order (`--catalog team --catalog builtin`, or
SIDECAR_NEW_CATALOG=team:builtin), so a team catalog adds templates and overrides some of
another without copying the rest."""

from __future__ import annotations

import os
import re
from dataclasses import replace
from typing import Callable, Sequence

from generator.catalog.loader import Catalog

_SCHEME_ONLY = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")  # "https", "git+ssh", "gh"
_HOST_ONLY = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/]*")  # "ssh://git@host" (a port follows)
_SCP_HOST = re.compile(r"[^/@]+@[^/:]+")  # "git@github.com" (scp-like: git@host:org/repo)


def stack(catalogs: Sequence[Catalog]) -> Catalog:
    """One catalog for the pipeline: the first's name, version, root (hooks) and namespace
    holder; each template name from the first catalog that has it."""
    if len(catalogs) == 1:
        return catalogs[0]
    seen: set[str] = set()
    templates = []
    for catalog in catalogs:
        for template in catalog.templates:
            if template.name not in seen:
                seen.add(template.name)
                templates.append(template)
    return replace(catalogs[0], templates=tuple(templates), layers=tuple(catalogs))


def split_path(value: str, abbreviations: Callable[[], Sequence[str]]) -> list[str]:
    """SIDECAR_NEW_CATALOG split as PATH is (os.pathsep), except where the separator belongs
    to a source: `https://...`, `ssh://git@host:2222/...`, `git@host:org/repo`, and the
    abbreviations `abbreviations()` names (gh:org/repo; asked only when a part could be one)."""
    parts: list[str] = []
    for part in value.split(os.pathsep):
        if parts and _continues(parts[-1], part, abbreviations):
            parts[-1] += os.pathsep + part
        else:
            parts.append(part)
    return [part.strip() for part in parts if part.strip()]


def _continues(previous: str, part: str, abbreviations: Callable[[], Sequence[str]]) -> bool:
    if part.startswith("//") and _SCHEME_ONLY.fullmatch(previous):
        return True  # scheme://
    if _HOST_ONLY.fullmatch(previous) and re.match(r"\d+(/|$)", part):
        return True  # a port
    if _SCP_HOST.fullmatch(previous) and part and not part.startswith("/"):
        return True
    return bool(_SCHEME_ONLY.fullmatch(previous) and part and "/" in part and previous in abbreviations())
