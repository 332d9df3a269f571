"""Raw answers: an answers file, overlaid with command-line flags. Validation is spec.py's job."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from generator.errors import SpecError
from generator.yamlio import load_file


def load_answers(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    data = load_file(path, SpecError)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SpecError(f"--answers: {path} must hold a mapping (app:, sidecars:, targets:, ...)")
    # A recorded .sidecar-new.yaml replays as answers: drop what the generator added.
    return {k: v for k, v in data.items() if k not in ("generated_by", "files")}


def apply_flags(answers: dict[str, Any], *, app: dict[str, Any] | None = None,
                kubernetes: dict[str, Any] | None = None, sidecars: list[str] | None = None,
                target: str | None = None) -> dict[str, Any]:
    """Flags win over the answers file, key by key; --with replaces the file's sidecar list.
    `app` and `kubernetes` hold the flags' values by answers key (None: not given)."""
    merged = copy.deepcopy(answers)
    for section, flags in (("app", app), ("kubernetes", kubernetes)):
        given = {k: v for k, v in (flags or {}).items() if v is not None}
        if given:
            current = merged.get(section)
            merged[section] = {**(current if isinstance(current, dict) else {}), **given}
    if sidecars:
        merged["sidecars"] = list(sidecars)
    if target is not None:
        merged["targets"] = target.split(",")  # --target kubernetes,helm
    return merged
