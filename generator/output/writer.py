"""The writer: the only code that touches the output folder.

Everything is staged in a temporary folder beside the target and moved into place with
renames, so an error or Ctrl-C at any moment leaves the target as it was.
"""

from __future__ import annotations

import difflib
import errno
import hashlib
import os
import shutil
import tempfile
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from generator.errors import WriteError
from generator import rules
from generator.output.fileset import FileSet
from generator.output.naming import CONFIG_DIR, RECORD
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
    with _os_errors(dest):
        return _plan(files, dest)


def _plan(files: FileSet, dest: Path) -> Plan:
    for path in files:
        if not rules.is_safe_relative(path):
            raise WriteError(f"{path}: refusing to write outside the output folder")
    exists = dest.exists()
    if exists and not dest.is_dir():
        raise WriteError(f"--output: {dest} exists and is not a folder")
    present = _existing_files(dest) if exists else set()
    for link in (p for p in present if os.path.islink(dest / p)):
        if any(path.startswith(f"{link}/") for path in files):
            raise WriteError(f"--output: {dest / link} is a link; refusing to write generated files "
                             "through it (replace it with a folder, or write elsewhere)")
    recorded = _recorded_hashes(dest) if exists else {}
    current = {p: _sha256(dest / p) for p in present if p in recorded or p in files}
    edited = sorted(p for p, h in recorded.items() if p in current and current[p] != h)
    changed = sorted(p for p in files if p in present and _read(dest / p) != files[p])
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
        with _os_errors(dest):
            old = (_read(dest / path) or b"").decode(errors="replace")
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
    # The real path: `.` has no name to stage beside, and a linked output is written through
    # (the link stays, its folder gets the files).
    with _os_errors(dest):
        real = Path(os.path.realpath(dest))  # fails if `.` is a folder that was removed
        real.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{real.name}.", suffix=".tmp", dir=real.parent))
        try:
            # mkdtemp makes a private (0700) folder; the output should look like any new folder
            # (or keep the mode the existing one had).
            if real.is_dir():
                shutil.copymode(real, staging)
                _copy_kept(real, staging, {*result.kept, *result.edited} - set(files))
            else:
                os.chmod(staging, 0o777 & ~_umask())
            for path, data in files.items():
                _stage(staging, path, data)
            _swap_into_place(staging, real)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return result


def _stage(staging: Path, path: str, data: bytes) -> None:
    target = staging / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    if path.startswith(f"{CONFIG_DIR}/"):
        # The containers read config/ through bind mounts as their own users (10001, 65532,
        # 65534), not as whoever rendered it: under umask 077 or 027 the files would be 0600
        # and the sidecars crash-loop on "permission denied". Readable by all, set explicitly;
        # nothing secret goes there (catalog lint refuses secrets in templates).
        os.chmod(target, 0o644)
        for folder in Path(path).parents[:-1]:
            os.chmod(staging / folder, 0o755)


def check_answers_target(path: Path) -> None:
    """Refuse an unusable --save-answers path before anything is asked or written."""
    if path.is_dir():
        raise WriteError(f"--save-answers: {path} is a folder")
    parent = path.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise WriteError(f"--save-answers: cannot write {path}: {parent} is not a folder")


def save_answers(answers: dict, path: Path) -> None:
    """Write an answers file for replay (--save-answers): a temp file renamed into place,
    so an existing file is either kept or fully replaced."""
    from generator.yamlio import dump

    check_answers_target(path)
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


@contextmanager
def _os_errors(dest: Path):
    """Any file-system failure becomes one line naming the output and the reason."""
    try:
        yield
    except OSError as exc:  # shutil.Error and SpecialFileError are OSErrors too
        where = f" ({exc.filename})" if exc.filename else ""
        raise WriteError(f"--output: cannot write {dest}: {exc.strerror or exc}{where}") from None


def _swap_into_place(staging: Path, dest: Path) -> None:
    if not dest.exists():
        os.rename(staging, dest)
        return
    try:
        cwd = os.getcwd()
    except OSError:  # already gone: nothing to come back to
        cwd = ""
    backup = dest.with_name(f".{dest.name}.old-{os.getpid()}")
    try:
        os.rename(dest, backup)
    except OSError as exc:
        # A mount point cannot be renamed. Writing into it file by file instead would break the
        # promise that an error or Ctrl-C leaves the folder as it was, so refuse and say why.
        if exc.errno not in (errno.EBUSY, errno.EXDEV):
            raise
        raise WriteError(f"--output: {dest} cannot be replaced in one step (is it a mount point?); "
                         "write to a folder inside it instead") from None
    try:
        os.rename(staging, dest)
    except BaseException:
        os.rename(backup, dest)
        raise
    if cwd == str(dest) or cwd.startswith(f"{dest}{os.sep}"):
        # The process's folder moved away with the old tree, which is removed next: come back
        # to the same path in the new one (`-o .`, and hooks that run in the output).
        with suppress(OSError):
            os.chdir(dest)
            os.chdir(cwd)
    shutil.rmtree(backup, ignore_errors=True)


def _copy_kept(dest: Path, staging: Path, keep: set[str]) -> None:
    """Carry the user's own files, links (as links, never followed) and empty folders over into
    the staged tree; folders left empty by files that are no longer generated are not."""
    for root, dirs, names in os.walk(dest, onerror=_raise):
        here = Path(root).relative_to(dest)
        if not dirs and not names:
            (staging / here).mkdir(parents=True, exist_ok=True)
        for name in [*names, *(d for d in dirs if os.path.islink(os.path.join(root, d)))]:
            relative, source = (here / name).as_posix(), Path(root) / name
            if relative not in keep:
                continue
            (staging / relative).parent.mkdir(parents=True, exist_ok=True)
            if source.is_symlink():
                os.symlink(os.readlink(source), staging / relative)
            elif source.is_file():
                shutil.copy2(source, staging / relative)
            else:
                raise WriteError(f"--output: {source} is not a regular file, folder or link (a named pipe, "
                                 "socket or device), so --force cannot carry it over; move it away first")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _existing_files(dest: Path) -> set[str]:
    """Every file and link (links to folders included, never followed) under `dest`."""
    return {(Path(root) / name).relative_to(dest).as_posix()
            for root, dirs, names in os.walk(dest, onerror=_raise)
            for name in [*names, *(d for d in dirs if os.path.islink(os.path.join(root, d)))]}


def _raise(exc: OSError) -> None:
    # os.walk skips folders it cannot read unless told otherwise; --force would then drop them.
    raise exc


def _recorded_hashes(dest: Path) -> dict[str, str]:
    record = dest / RECORD
    if not record.is_file():
        return {}
    data = load_text(record.read_text(encoding="utf-8", errors="replace"), str(record), WriteError)
    hashes = data.get("files") if isinstance(data, dict) else None
    return {str(k): str(v) for k, v in hashes.items()} if isinstance(hashes, dict) else {}


def _sha256(path: Path) -> str:
    data = _read(path)
    return hashlib.sha256(data).hexdigest() if data is not None else ""


def _read(path: Path) -> bytes | None:
    # Only regular files: reading a named pipe would block.
    return path.read_bytes() if path.is_file() else None
