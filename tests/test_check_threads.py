"""catalog lint checks several renders at once: the Envoy API check must hold up in threads."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ENVOY = next((Path(__file__).parent / "golden").glob("*/expected/config/envoy/envoy.yaml"))
# A fresh interpreter, so envoy-data-plane's classes are built for the first time by the threads.
_PROBE = """
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from generator.tools.check_configs import check_envoy
with ThreadPoolExecutor(max_workers=6) as pool:
    results = list(pool.map(lambda _: check_envoy(Path(sys.argv[1])), range(6)))
print("RESULTS", results)
"""


def test_the_envoy_check_gives_the_same_answer_in_concurrent_threads(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", _PROBE, str(ENVOY)], capture_output=True, text=True,
                          timeout=300, env={"XDG_CACHE_HOME": str(tmp_path), "HOME": str(tmp_path),
                                            "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ENVOY.parents[6])})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "RESULTS " + repr([[]] * 6)
