"""A team catalog that never went through `catalog lint` gives one-line errors naming the
template file, never a traceback or invalid output."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import run_cli
from generator.catalog import builtin_root


@pytest.fixture
def catalog_copy(tmp_path: Path) -> Path:
    root = tmp_path / "catalog"
    shutil.copytree(builtin_root() / "templates", root / "templates")
    shutil.copy(builtin_root() / "catalog.yaml", root / "catalog.yaml")
    return root


@pytest.mark.parametrize("template, old, new, reason", [
    ("metrics", "memory: 128Mi,", "memory: 128M,", "memory: '128M' is not a resource quantity"),
    ("metrics", "memory: 128Mi,", "memory: 128m,", "must be bytes, Ki, Mi or Gi"),
    ("metrics", "limits: {cpu: 200m, memory: 128Mi, ephemeral-storage: 32Mi}",
     "limits: {cpu: 200m, ephemeral-storage: 32Mi}", "KeyError: 'memory'"),
    ("metrics", "- {name: statsd-tcp, port:", "- {nom: statsd-tcp, port:", "each port needs a name and a port"),
    ("metrics", "run_as: 65534", "run_as: 0", "must be a non-root uid"),
    ("metrics", '- {name: statsd-tcp, port: "{{ statsd_port }}"}', "- {name: statsd-tcp, port: 70000}",
     "ports.statsd-tcp: 70000 is not a port"),
    ("metrics", "config_dir: /etc/statsd-exporter", "config_dir: etc/statsd-exporter",
     "'etc/statsd-exporter' is not an absolute directory path"),
])
def test_malformed_definitions_are_one_line_catalog_errors(catalog_copy: Path, tmp_path: Path, template: str,
                                                         old: str, new: str, reason: str) -> None:
    definition = catalog_copy / "templates" / template / "sidecar.yaml"
    text = definition.read_text()
    assert old in text
    definition.write_text(text.replace(old, new))
    result = run_cli("new", "--no-input", "--name", "billing", "--image", "team/billing:1.0", "--with", template,
                     "--catalog", str(catalog_copy), "--output", str(tmp_path / "out"))
    assert result.exit_code == 1, result.output
    message = result.output.strip()
    assert "\n" not in message and message.startswith(f"error: {definition}")
    assert reason in message
    assert not (tmp_path / "out").exists()
