"""`new --catalog` and `catalog lint` agree on every schema rule: each rule's example (from
generator/catalog/examples.py, so a new rule is covered as soon as it is listed) is
refused by both, and `new` says exactly what `lint` says."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import run_cli
from generator.catalog import examples


def _set(document: Any, path: str, value: Any) -> None:
    *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
    for key in parents:
        document = document[key]
    if value == examples.DELETE:
        del document[last]
    elif isinstance(document, list) and last == len(document):
        document.append(value)
    else:
        document[last] = value


def build_catalog(root: Path, changes: dict[str, Any]) -> Path:
    index, definition = copy.deepcopy(examples.INDEX), copy.deepcopy(examples.DEFINITION)
    files: dict[str, Any] = dict(examples.FILES)
    text = None
    for path, value in changes.items():
        if path.startswith("catalog:"):
            _set(index, path.removeprefix("catalog:"), value)
        elif path.startswith("files/"):
            files[path.removeprefix("files/")] = value
        elif path == "text:sidecar.yaml":
            text = value
        else:
            _set(definition, path, value)
    folder = root / "templates" / "pinger"
    (folder / "files").mkdir(parents=True)
    (root / "catalog.yaml").write_text(yaml.safe_dump(index, sort_keys=False))
    if text != examples.DELETE:
        (folder / "sidecar.yaml").write_text(yaml.safe_dump(definition, sort_keys=False) if text is None else text)
    for name, content in files.items():
        target = folder / "files" / name
        if content == examples.LINK:
            target.symlink_to("/etc/passwd")
        elif isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)
    return root


def test_the_example_catalog_passes_lint_and_renders(tmp_path: Path) -> None:
    catalog = build_catalog(tmp_path / "team", {})
    assert run_cli("catalog", "lint", str(catalog)).exit_code == 0
    assert _new(catalog, tmp_path / "out").exit_code == 0


def _new(catalog: Path, output: Path):
    return run_cli("new", "--no-input", "--name", "shop", "--image", "registry.example.com/shop:1.0.0",
                   "--log-dir", "/var/log/shop", "--with", "pinger", "--catalog", str(catalog),
                   "--output", str(output))


@pytest.mark.parametrize("says, changes", examples.RULES, ids=[says for says, _ in examples.RULES])
def test_new_refuses_what_lint_rejects_with_the_same_message(tmp_path: Path, says: str, changes: dict) -> None:
    catalog = build_catalog(tmp_path / "team", changes)
    lint = run_cli("catalog", "lint", str(catalog))
    assert lint.exit_code == 1, lint.output
    new = _new(catalog, tmp_path / "out")
    assert new.exit_code == 1, new.output
    message = new.output.strip()
    assert "\n" not in message and message.startswith("error: ")
    assert says in message
    assert message.removeprefix("error: ") in lint.output.splitlines()
    assert not (tmp_path / "out").exists()
