"""The writer: the only code that touches the output folder.

Everything is staged in a temporary folder beside the target and moved into place with
renames, so an error or Ctrl-C at any moment leaves the target as it was.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from generator.errors import WriteError
from generator.fileset import FileSet, is_safe_relative
from generator.pipeline import RECORD
from generator.yamlio import load_text


@dataclass(frozen=True, slots=True)
class Plan:
    """What a write would do to `dest`, worked out without changing anything."""

    dest: Path
    exists: bool
    added: tuple[str, ...]
    changed: tuple[str, ...]
    unchanged: tuple[str, ...]
    edited: tuple[str, ...]  # generated earlier, changed by hand since
    stale: tuple[str, ...]  # generated earlier, not any more, unedited: removed
    kept: tuple[str, ...]  # files the generator never wrote: left alone


def plan(files: FileSet, dest: Path) -> Plan:
    for path in files:
        if not is_safe_relative(path):
            raise WriteError(f"{path}: refusing to write outside the output folder")
    exists = dest.exists()
    if exists and not dest.is_dir():
        raise WriteError(f"--output: {dest} exists and is not a folder")
    present = _existing_files(dest) if exists else set()
    recorded = _recorded_hashes(dest) if exists else {}
    current = {p: _sha256(dest / p) for p in present if p in recorded or p in files}
    edited = sorted(p for p, h in recorded.items() if p in current and current[p] != h)
    changed = sorted(p for p in files if p in present and (dest / p).read_bytes() != files[p])
    return Plan(
        dest=dest, exists=exists and bool(present),
        added=tuple(sorted(p for p in files if p not in present)),
        changed=tuple(changed),
        unchanged=tuple(sorted(p for p in files if p in present and p not in changed)),
        edited=tuple(edited),
        stale=tuple(sorted(p for p in recorded if p in present and p not in files and p not in edited)),
        kept=tuple(sorted(p for p in present if p not in files and p not in recorded)),
    )


def diff(files: FileSet, dest: Path) -> str:
    """A unified diff from what is in `dest` to what a write would leave there."""
    result = plan(files, dest)
    chunks = []
    for path in sorted({*result.added, *result.changed, *result.stale}):
        old = (dest / path).read_bytes().decode(errors="replace") if (dest / path).is_file() else ""
        new = files[path].decode() if path in files else ""
        chunks += difflib.unified_diff(old.splitlines(True), new.splitlines(True),
                                       f"a/{path}" if old else "/dev/null",
                                       f"b/{path}" if path in files else "/dev/null")
    return "".join(chunks)


def write(files: FileSet, dest: Path, force: bool = False) -> Plan:
    result = plan(files, dest)
    if result.exists and not force:
        edited = f"; files edited since they were generated: {', '.join(result.edited)}" if result.edited else ""
        raise WriteError(f"--output: {dest} already exists{edited}; see the changes with --diff, "
                         "replace the generated files with --force")
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent))
    try:
        # mkdtemp makes a private (0700) folder; the output should look like any new folder
        # (or keep the mode the existing one had).
        if dest.is_dir():
            shutil.copymode(dest, staging)
        else:
            os.chmod(staging, 0o777 & ~_umask())
        if result.exists:
            _copy_kept(dest, staging, {*result.kept, *result.edited} - set(files))
        for path, data in files.items():
            target = staging / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        _swap_into_place(staging, dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return result


def save_answers(answers: dict, path: Path) -> None:
    """Write an answers file for replay (--save-answers): a temp file renamed into place,
    so an existing file is either kept or fully replaced."""
    from generator.yamlio import dump

    if path.is_dir():
        raise WriteError(f"--save-answers: {path} is a folder")
    text = f"# sidecar-new answers; replay with: sidecar-new new --answers {path.name}\n" + dump(answers)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        out = temp.open("x", encoding="utf-8")  # "x": never writes through a planted file or link
    except OSError as exc:
        raise WriteError(f"--save-answers: cannot write {path}: {exc.strerror or exc}") from None
    try:
        with out:
            out.write(text)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _swap_into_place(staging: Path, dest: Path) -> None:
    if not dest.exists():
        os.rename(staging, dest)
        return
    backup = dest.with_name(f".{dest.name}.old-{os.getpid()}")
    os.rename(dest, backup)
    try:
        os.rename(staging, dest)
    except BaseException:
        os.rename(backup, dest)
        raise
    shutil.rmtree(backup, ignore_errors=True)


def _copy_kept(dest: Path, staging: Path, keep: set[str]) -> None:
    """Carry the user's own files (and links, and empty folders) over into the staged tree."""
    for root, dirs, names in os.walk(dest):
        relative_root = Path(root).relative_to(dest)
        for name in dirs:
            (staging / relative_root / name).mkdir(parents=True, exist_ok=True)
        for name in names:
            relative = (relative_root / name).as_posix()
            source = Path(root) / name
            if relative in keep:
                shutil.copy2(source, staging / relative, follow_symlinks=False)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _existing_files(dest: Path) -> set[str]:
    return {(Path(root) / name).relative_to(dest).as_posix()
            for root, _, names in os.walk(dest) for name in names}


def _recorded_hashes(dest: Path) -> dict[str, str]:
    record = dest / RECORD
    if not record.is_file():
        return {}
    data = load_text(record.read_text(encoding="utf-8", errors="replace"), str(record), WriteError)
    hashes = data.get("files") if isinstance(data, dict) else None
    return {str(k): str(v) for k, v in hashes.items()} if isinstance(hashes, dict) else {}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
