"""`update` over many folders at once: each folder by tools/update.py, in worker processes.

Why processes, not threads: an update is CPU work in Python (two renders, a merge), so
threads would take turns on the GIL; processes use both cores. They are forked after the
parent has fetched and loaded the catalogs the records name, so each worker starts with them
(no fetch, no catalog parse per worker). Workers ignore SIGINT: on Ctrl-C the parent stops
handing out folders and lets each worker finish the folder it is writing (the writer's
journal makes each folder old or new), so every folder is left old or new.
"""

from __future__ import annotations

import multiprocessing
from dataclasses import replace
import signal
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Callable, Sequence

from generator.catalog.fetch import recorded_sources
from generator.errors import SidecarError
from generator.output.naming import RECORD
from generator.tools.update import FAILED, Catalogs, Change, Outcome, update_folder
from generator.yamlio import load_file

_shared: Catalogs | None = None  # the parent's catalogs, inherited by forked workers

NOT_STARTED = "not started (interrupted)"


def update_all(folders: Sequence[Path], change: Change, *, show_diff: bool, jobs: int,
               report: Callable[[Outcome], None]) -> list[Outcome]:
    """Update every folder; `report` is called in the parent as each one ends. One folder's
    failure is its own outcome and changes nothing in the others."""
    global _shared
    catalogs = Catalogs(offline=change.offline)
    if len(folders) == 1 or jobs <= 1:
        outcomes = []
        for folder in folders:
            outcomes.append(_guarded(folder, change, catalogs, show_diff))
            report(outcomes[-1])
        return outcomes
    _warm(folders, change, catalogs)
    _shared = catalogs
    outcomes: dict[int, Outcome] = {}
    pool = ProcessPoolExecutor(max_workers=min(jobs, len(folders)), initializer=_ignore_sigint,
                               mp_context=multiprocessing.get_context("fork"))
    futures = {pool.submit(_work, str(folder), change, show_diff): i for i, folder in enumerate(folders)}
    try:
        pending = set(futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                outcomes[futures[future]] = _result(future, folders[futures[future]])
                report(outcomes[futures[future]])
    except KeyboardInterrupt:
        pool.shutdown(wait=True, cancel_futures=True)  # the folders being written are finished
        for future, i in futures.items():
            if i not in outcomes and future.done() and not future.cancelled():
                outcomes[i] = _result(future, folders[i])
                report(outcomes[i])
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        _shared = None
    return [outcomes[i] for i in range(len(folders))]


def _work(folder: str, change: Change, show_diff: bool) -> Outcome:
    return _guarded(Path(folder), change, _shared or Catalogs(offline=change.offline), show_diff)


def _guarded(folder: Path, change: Change, catalogs: Catalogs, show_diff: bool) -> Outcome:
    try:
        return update_folder(folder, change, catalogs, show_diff)
    except Exception as exc:  # a bug must not stop the other folders; said in one line
        return Outcome(str(folder), FAILED, f"internal error: {type(exc).__name__}: {exc}")


def _result(future, folder: Path) -> Outcome:
    try:
        return future.result()
    except Exception as exc:  # a worker that died (killed, out of memory)
        return Outcome(str(folder), FAILED, f"worker failed: {type(exc).__name__}: {exc}")


def _warm(folders: Sequence[Path], change: Change, catalogs: Catalogs) -> None:
    """Fetch and load, once, each catalog the records name and the one it moves to."""
    seen = set()
    for folder in folders:
        try:
            record = load_file(folder / RECORD, SidecarError)
            made = record.get("generated_by") if isinstance(record, dict) else None
            sources = recorded_sources(made.get("catalog") if isinstance(made, dict) else None, str(folder),
                                       offline=change.offline)
            key = tuple(replace(source, field="") for source in sources)
            if key in seen:
                continue
            seen.add(key)
            catalogs.load_stack(sources)
            catalogs.load_stack(catalogs.moved_all(sources, change.checkout))
        except (SidecarError, OSError):
            continue  # that folder's own run reports it


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
