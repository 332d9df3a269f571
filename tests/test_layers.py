"""The stages stay visible: each package imports only the packages the layer table allows
(the table in generator/__init__.py's docstring, enforced here from the source)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "generator"
BASE = {"errors", "rules", "yamlio"}
# layer -> the layers its modules may import (besides its own). Keep in step with the docstring.
ALLOWED = {
    "base": {"base"},
    "catalog": {"base"},
    "input": {"base", "catalog"},
    "model": {"base", "catalog", "input"},
    "output": {"base"},
    "emit": {"base", "model", "output"},
    "pipeline": {"base", "catalog", "input", "model", "output", "emit"},
    "inject": {"base", "catalog", "input", "model", "output", "emit", "pipeline"},
    "wizard": {"base", "catalog", "input", "model", "output", "emit"},
    "tools": {"base", "catalog", "input", "model", "output", "emit", "pipeline"},
    "cli": {"base", "catalog", "input", "model", "output", "emit", "pipeline", "inject", "wizard", "tools",
            "version"},
}


def layer_of(module: str) -> str:
    """generator.<first part> -> its layer; `generator` itself only exports __version__."""
    parts = module.split(".")
    assert parts[0] == "generator", module
    if len(parts) == 1:
        return "version"
    first = parts[1]
    if first in BASE:
        return "base"
    if first in ("cli", "__main__"):
        return "cli"
    return first


def imports_of(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("generator"):
            if node.module == "generator":  # from generator import rules / __version__
                found += [(node.lineno, f"generator.{a.name}" if a.name != "__version__" else "generator")
                          for a in node.names]
            else:
                found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("generator")]
    return found


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py" or p.parent != PACKAGE)


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_every_module_belongs_to_a_known_layer() -> None:
    unknown = [module_name(p) for p in modules() if layer_of(module_name(p)) not in ALLOWED]
    assert unknown == []


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_each_module_imports_only_what_its_layer_allows(path: Path) -> None:
    own = layer_of(module_name(path))
    wrong = [f"line {line}: {target} ({layer_of(target)})" for line, target in imports_of(path)
             if layer_of(target) != own and layer_of(target) not in ALLOWED[own]
             and not (layer_of(target) == "version")]
    assert wrong == [], f"{module_name(path)} is in layer {own!r}"


def test_the_layer_check_catches_a_forbidden_import(tmp_path: Path) -> None:
    # The check itself can fail: an emitter that reads the Spec is a violation.
    bad = tmp_path / "compose.py"
    bad.write_text("from generator.input.spec import Spec\nfrom generator.model.pod import Pod\n")
    targets = [layer_of(t) for _, t in imports_of(bad)]
    assert [t for t in targets if t not in ALLOWED["emit"]] == ["input"]


def test_the_docstring_table_names_every_layer() -> None:
    import generator

    for layer in ALLOWED:
        if layer != "version":
            assert f"\n    {layer} " in generator.__doc__, layer
