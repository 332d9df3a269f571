"""Golden files: each tests/golden/<case>/answers.yaml renders to exactly <case>/expected/.

Regenerate deliberately with `pytest tests/test_golden.py --update-golden`, then read the diff.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from conftest import GOLDEN, tree_of
from generator.pipeline import build
from generator.input.spec import parse_spec

CASES = sorted(p.name for p in GOLDEN.iterdir() if (p / "answers.yaml").is_file())


def render_case(case: str, catalog) -> dict[str, bytes]:
    answers = yaml.safe_load((GOLDEN / case / "answers.yaml").read_text())
    return dict(build(parse_spec(answers, catalog), catalog))


@pytest.mark.parametrize("case", CASES)
def test_render_matches_golden_files(case: str, builtin_catalog, update_golden: bool) -> None:
    files = render_case(case, builtin_catalog)
    expected_dir = GOLDEN / case / "expected"
    if update_golden:
        shutil.rmtree(expected_dir, ignore_errors=True)
        for path, data in files.items():
            (expected_dir / path).parent.mkdir(parents=True, exist_ok=True)
            (expected_dir / path).write_bytes(data)
    expected = tree_of(expected_dir)
    assert sorted(files) == sorted(expected), "a file was added or removed"
    for path, data in files.items():
        assert data.decode() == expected[path].decode(), f"{case}/{path} differs from its golden file"


@pytest.mark.parametrize("case", CASES)
def test_rendering_twice_is_byte_identical(case: str, builtin_catalog) -> None:
    assert render_case(case, builtin_catalog) == render_case(case, builtin_catalog)


def write_case(case: str, catalog, dest: Path) -> Path:
    for path, data in render_case(case, catalog).items():
        (dest / path).parent.mkdir(parents=True, exist_ok=True)
        (dest / path).write_bytes(data)
    return dest
