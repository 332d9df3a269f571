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


def apply_flags(answers: dict[str, Any], *, name: str | None = None, image: str | None = None,
                port: int | None = None, health_path: str | None = None,
                sidecars: list[str] | None = None, target: str | None = None) -> dict[str, Any]:
    """Flags win over the answers file; --with replaces the file's sidecar list."""
    merged = copy.deepcopy(answers)
    flags = {k: v for k, v in (("name", name), ("image", image), ("port", port),
                               ("health_path", health_path)) if v is not None}
    if flags:
        app = merged.get("app")
        merged["app"] = {**(app if isinstance(app, dict) else {}), **flags}
    if sidecars:
        merged["sidecars"] = list(sidecars)
    if target is not None:
        merged["targets"] = [target]
    return merged
