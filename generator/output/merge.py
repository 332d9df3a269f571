"""Three-way merge of an output folder: base = the old render, ours = the folder as it is,
theirs = the new render. Decides, per generated path, what the folder should hold; the
writer then writes it (and removes what is no longer generated, unless edited).

The line merge is `git merge-file`: the merge (and the conflict markers) people resolve every
day, with no new dependency (git is on every machine that fetches a git catalog; the builtin
catalog's updates need it only when a file changed on both sides). It runs only for a file
both the user and the catalog changed, so a fleet update starts it a handful of times, not
once per file.

The base is trusted per file only where its hash is the one the record holds: a record edited
by hand, a folder catalog that changed or a tool upgrade can make the re-created base differ
from what was written, and a wrong base would silently undo edits. Where it is not trusted, an
unedited file takes the new render, a file the catalog did not change keeps the edit, and a
file changed on both sides is a conflict over its whole text.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
from dataclasses import dataclass
from typing import Callable, Mapping

from generator.errors import WriteError
from generator.output.fileset import FileSet


@dataclass(frozen=True, slots=True)
class Merged:
    files: dict[str, bytes]  # what each generated path should hold (record excluded)
    conflicts: tuple[str, ...]  # paths written with conflict markers
    notes: tuple[str, ...]  # decisions a person should know about (one line each)
    adopted: frozenset[str]  # user files at a path the new render generates, merged in


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def merge_tree(base: Callable[[], FileSet], ours: Mapping[str, bytes | None], theirs: FileSet,
               recorded: Mapping[str, str], labels: tuple[str, str, str]) -> Merged:
    """`base`: makes the old render, called only if some file changed on both sides (most
    updates never need it: a render saved); `ours`: each path's bytes in the folder (None:
    absent); `recorded`: the record's hash of each file sidecar-new wrote; labels: (ours,
    base, theirs) for conflict markers."""
    files: dict[str, bytes] = {}
    conflicts: list[str] = []
    notes: list[str] = []
    adopted: set[str] = set()
    made: list[FileSet] = []
    for path in sorted(set(theirs) | set(recorded)):
        mine, new, old_hash = ours.get(path), theirs.get(path), recorded.get(path)
        if new is None:
            if mine is not None and old_hash is not None and sha(mine) != old_hash:
                notes.append(f"kept {path}: edited here, no longer generated")
            continue  # the writer removes it when unedited
        if mine is None:
            if old_hash is not None and sha(new) == old_hash:
                notes.append(f"left {path} deleted: deleted here, unchanged in the catalog")
                continue
            if old_hash is not None:
                notes.append(f"restored {path}: deleted here, changed in the catalog")
            files[path] = new
        elif mine == new or (old_hash is not None and sha(mine) == old_hash):
            files[path] = new  # the same, or not edited: the new render
        elif old_hash is not None and sha(new) == old_hash:
            files[path] = mine  # the catalog did not change it: the edit stays
        else:
            old = None
            if old_hash is None:
                adopted.add(path)  # the user's own file where the catalog now writes one
            else:
                if not made:
                    made.append(base())
                found = made[0].get(path)
                old = found if found is not None and sha(found) == old_hash else None
            text, clean = merge_text(mine, old if old is not None else b"", new, labels)
            files[path] = text
            if not clean:
                conflicts.append(path)
    return Merged(files, tuple(conflicts), tuple(notes), frozenset(adopted))


def merge_text(ours: bytes, base: bytes, theirs: bytes, labels: tuple[str, str, str]) -> tuple[bytes, bool]:
    """(the merged bytes, whether clean) by `git merge-file`, conflicts marked as git marks them."""
    with tempfile.TemporaryDirectory(prefix="sidecar-new-merge-") as folder:
        paths = []
        for name, data in (("ours", ours), ("base", base), ("theirs", theirs)):
            path = os.path.join(folder, name)
            with open(path, "wb") as handle:
                handle.write(data)
            paths.append(path)
        argv = ["git", "merge-file", "-p", "-L", labels[0], "-L", labels[1], "-L", labels[2], *paths]
        try:
            done = subprocess.run(argv, capture_output=True, env={**os.environ, "LC_ALL": "C"})
        except FileNotFoundError:
            raise WriteError("update: git is needed to merge files changed both here and in the "
                             "catalog (install git)") from None
    if done.returncode < 0 or done.returncode > 127:
        raise WriteError(f"update: git merge-file failed: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout, done.returncode == 0
