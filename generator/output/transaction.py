"""Updating an output folder in place, file by file, so that a kill at any moment is undone
or finished by the next run.

Why in place and not a whole new tree swapped in: the folder, its subfolders and every file
sidecar-new did not write are never moved or copied, so their modes, owners, hard links and
any file saved into the folder while a render runs stay exactly as they are, a mount point or
a shell's current folder works as an output, and only generated files are touched.

The protocol, all inside the output folder under TX (the folder is locked with flock while
a run works on it; the lock dies with the process):
1. stage: the new files are written under TX/new/ (a kill here: the next run deletes TX);
2. commit: TX/journal.json is renamed into place: from here on the update is finished, never
   undone. It lists each path with the hash expected before (none: absent) and after
   (none: removed);
3. apply: each staged file is renamed over its path, each stale file unlinked, only while the
   path still holds what the journal expects (anything else is someone's new work: kept);
4. done: the journal, then TX, are removed.
SIGINT, SIGTERM and SIGHUP are held back from commit to done, so only SIGKILL (or a crash)
can stop a run in step 3, and `recover` (run first by every write) finishes it.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import shutil
import signal
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from generator.errors import WriteError
from generator.output.naming import TX

JOURNAL = "journal.json"
NEW = "new"
LOCK_WAIT = 30.0  # seconds to wait for another run on the same folder


@contextmanager
def locked(folder: Path, shown: Path) -> Iterator[None]:
    """Hold an exclusive flock on `folder` (another run on it waits; a killed run's lock is gone)."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        deadline = time.monotonic() + LOCK_WAIT
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise WriteError(f"--output: another sidecar-new run has been writing to {shown} "
                                     f"for more than {LOCK_WAIT:.0f} s; try again when it ends") from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)


def is_locked(folder: Path) -> bool:
    """True while a live process holds `folder`'s lock."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


def sha256(path: Path) -> str | None:
    """The hash of a regular file (not through a link); None when nothing is there. A link or a
    folder gets a hash of its own kind, so it never equals a file's."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    import stat

    if stat.S_ISLNK(info.st_mode):
        return "link:" + os.readlink(path)
    if not stat.S_ISREG(info.st_mode):
        return "other"  # a folder, a named pipe: never read (a pipe would block)
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def begin(folder: Path) -> Path:
    """Step 1 starts: the folder to stage the new files in, TX/new/ (TX must not exist:
    `recover` ran first)."""
    tx = folder / TX
    os.mkdir(tx, 0o700)
    os.mkdir(tx / NEW)
    return tx / NEW


def write_file(path: Path, data: bytes) -> None:
    """A new generated file: 0666 less the umask, like any file the user's tools create."""
    with open(path, "xb") as handle:
        handle.write(data)


def commit(folder: Path, entries: list[dict]) -> None:
    """Step 2: from this rename on, the update is finished rather than undone."""
    tx = folder / TX
    with open(tx / f"{JOURNAL}.tmp", "w", encoding="utf-8") as handle:
        json.dump({"pid": os.getpid(), "entries": entries}, handle)
    os.replace(tx / f"{JOURNAL}.tmp", tx / JOURNAL)


def apply(folder: Path) -> list[str]:
    """Steps 3 and 4 (idempotent: a run after a kill does them again). Returns the paths left as
    they were because they no longer held what the journal expected."""
    tx = folder / TX
    entries = json.loads((tx / JOURNAL).read_text(encoding="utf-8"))["entries"]
    skipped = []
    for entry in entries:
        path, before, after = entry["path"], entry["before"], entry["after"]
        target, staged = folder / path, tx / NEW / path
        if after is not None and not os.path.lexists(staged):
            continue  # applied before the kill
        now = sha256(target)
        if now not in (before, after):
            skipped.append(path)
            continue
        if after is None:
            if now is not None:
                os.unlink(target)
                _prune_empty_parents(folder, Path(path).parent)
        else:
            _make_parents(folder, tx / NEW, Path(path).parent)
            os.replace(staged, target)
    finish(folder)
    return skipped


def finish(folder: Path) -> None:
    tx = folder / TX
    with suppress_missing():
        os.unlink(tx / JOURNAL)  # first: without it, what is left is only debris
    shutil.rmtree(tx, ignore_errors=True)


def recover(folder: Path) -> str | None:
    """Finish or drop what a killed run left in `folder` (call with the lock held); a line
    saying what was done, or None when there was nothing."""
    tx = folder / TX
    if not os.path.lexists(tx):
        return None
    if tx.is_symlink() or not tx.is_dir():
        raise WriteError(f"--output: {tx} is not sidecar-new's; move it away")
    if not (tx / JOURNAL).is_file():
        shutil.rmtree(tx)
        return f"removed what an interrupted earlier run had staged in {folder} (it had changed nothing)"
    skipped = apply(folder)
    kept = f"; kept {', '.join(skipped)}, changed since" if skipped else ""
    return f"finished an update of {folder} that an earlier run began before it was killed{kept}"


@contextmanager
def uninterrupted() -> Iterator[None]:
    """Hold back SIGINT, SIGTERM and SIGHUP: they are delivered when the block ends."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
    before = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


def clean_stale_staging(parent: Path, name: str) -> None:
    """Remove staging folders beside `parent/name` whose run is gone (no lock held on them)."""
    prefix, suffix = staging_name(name, 0).split("0", 1)[0], ".tmp"
    try:
        found = [e for e in os.listdir(parent) if e.startswith(prefix) and e.endswith(suffix)]
    except OSError:
        return
    for entry in found:
        path = parent / entry
        if path.is_dir() and not path.is_symlink() and not is_locked(path):
            shutil.rmtree(path, ignore_errors=True)


def staging_name(name: str, pid: int) -> str:
    return f".{name}.sidecar-new-{pid}.tmp"


def rename_new_folder(staging: Path, dest: Path) -> bool:
    """Move a staged folder to `dest` unless something is there already (False then).
    An empty folder made here first takes the name, so a folder someone else creates at
    `dest` meanwhile is never replaced: renaming over a non-empty folder fails."""
    try:
        os.mkdir(dest)
    except FileExistsError:
        return False
    try:
        os.rename(staging, dest)  # replaces only our own empty placeholder
    except OSError as exc:
        if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
            with suppress_missing():
                os.rmdir(dest)
            raise
        return False
    return True


def _make_parents(folder: Path, staged: Path, relative: Path) -> None:
    """Create the missing folders of a path with the modes they were staged with (config/
    folders readable by the containers); folders that exist keep theirs."""
    missing = []
    while relative.parts and not os.path.isdir(folder / relative):
        missing.append(relative)
        relative = relative.parent
    for created in reversed(missing):
        os.mkdir(folder / created)
        try:
            os.chmod(folder / created, os.stat(staged / created).st_mode & 0o7777)
        except FileNotFoundError:  # a recovery after the staged folder was emptied: the umask's
            pass


def _prune_empty_parents(folder: Path, relative: Path) -> None:
    while relative.parts:
        try:
            os.rmdir(folder / relative)
        except OSError:
            return
        relative = relative.parent


@contextmanager
def suppress_missing() -> Iterator[None]:
    try:
        yield
    except FileNotFoundError:
        pass
