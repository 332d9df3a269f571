"""The fleet benchmark runs end to end on a small fleet (the 500-service figure is in the README)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench" / "fleet.py"


@pytest.mark.slow
def test_the_fleet_benchmark_updates_every_service_then_finds_none_changed() -> None:
    done = subprocess.run([sys.executable, str(BENCH), "--services", "6", "--edit-every", "2"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "-> 6 services: 6 updated" in done.stdout and "-> 6 services: 6 unchanged" in done.stdout
    assert "(3 edited by hand)" in done.stdout
