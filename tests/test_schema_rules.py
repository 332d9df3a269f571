"""`new --catalog` and `catalog lint` agree on every schema rule: each rule's example (from
generator/catalog/examples.py, so a new rule is covered as soon as it is listed) is
refused by both, and `new` says exactly what `lint` says."""

from __future__ import annotations

import copy
import functools
import re
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import run_cli
from generator.catalog import examples, lines, loader, schema


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
    text = index_text = None
    links = {}
    for path, value in changes.items():
        if path.startswith("link:"):
            links[path.removeprefix("link:")] = value
        elif path == "text:catalog.yaml":
            index_text = value
        elif path.startswith("catalog:"):
            _set(index, path.removeprefix("catalog:"), value)
        elif path.startswith("files/"):
            files[path.removeprefix("files/")] = value
        elif path == "text:sidecar.yaml":
            text = value
        else:
            _set(definition, path, value)
    folder = root / "templates" / "pinger"
    (folder / "files").mkdir(parents=True)
    if index_text != examples.DELETE:
        (root / "catalog.yaml").write_text(yaml.safe_dump(index, sort_keys=False))
    target = folder / "sidecar.yaml"
    if text == examples.LINK:
        (root / "real.yaml").write_text(yaml.safe_dump(definition, sort_keys=False))
        target.symlink_to(root / "real.yaml")
    elif isinstance(text, bytes):
        target.write_bytes(text)
    elif text != examples.DELETE:
        target.write_text(yaml.safe_dump(definition, sort_keys=False) if text is None else text)
    for name, content in files.items():
        target = folder / "files" / name
        if content == examples.LINK:
            target.symlink_to("/etc/passwd")
        elif isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)
    for path, outside in links.items():
        (root.parent / outside).mkdir(exist_ok=True)
        if (root / path).is_dir():
            for child in (root / path).iterdir():
                child.unlink()
            (root / path).rmdir()
        (root / path).symlink_to(root.parent / outside, target_is_directory=True)
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


# Where the schema reports a problem: a new rule adds such a line, and needs an example.
_PROBLEM = re.compile(r"(check|self)\.bad\(|report\.add\(|yield from (bad|rule)\(|^\s*yield [\w(]")
_HELPER = re.compile(r"yield from (bad|rule)\(")
_SOURCES = [Path(module.__file__) for module in (lines, loader, schema)]


@functools.lru_cache(maxsize=None)
def lines_of(path: Path) -> list[str]:
    return path.read_text().splitlines()


def _problem_lines() -> list[tuple[str, int]]:
    return [(str(path), number) for path in _SOURCES
            for number, text in enumerate(path.read_text().splitlines(), 1)
            if _PROBLEM.search(text) and "no example:" not in lines_of(path)[number - 2]]


def test_every_problem_the_schema_reports_has_an_example(tmp_path: Path) -> None:
    """Each line of catalog/ that reports a problem does so for some example in RULES, so a
    rule added without an example (and so without the agreement test above) fails here.
    A `yield from bad(...)` line counts only when its helper really yields a problem."""
    files, hit, yielded = {str(path) for path in _SOURCES}, set(), set()

    def trace(frame, event, arg):
        code = frame.f_code
        if code.co_filename not in files:
            return None
        if event == "line":
            hit.add((code.co_filename, frame.f_lineno))
            if code.co_name in ("bad", "rule") and code.co_filename == schema.__file__ and frame.f_back \
                    and lines_of(Path(code.co_filename))[frame.f_lineno - 1].lstrip().startswith("yield"):
                yielded.add((code.co_filename, frame.f_back.f_lineno))
        return trace

    sys.settrace(trace)
    try:
        for i, (_, changes) in enumerate(examples.RULES):
            root = build_catalog(tmp_path / str(i), changes)
            report = lines.Report()
            for entry, _, _ in loader.read_index(root, report).entries:
                loader.read_template(root, entry, report)
    finally:
        sys.settrace(None)
    missing = [f"{Path(path).name}:{number}" for path, number in _problem_lines()
               if (path, number) not in (yielded if _HELPER.search(lines_of(Path(path))[number - 1]) else hit)]
    assert missing == [], "add an example to generator/catalog/examples.py for each"
