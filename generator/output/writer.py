"""The writer: the only code that touches the output folder.

A new folder is staged beside the target and renamed into place; an existing one is updated
in place, file by file, through a journal (output/transaction.py), so a kill at any moment
leaves it as it was or is finished by the next run. Only files the record shows sidecar-new
wrote are ever replaced or removed; anything else at a path it generates is named and kept.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Mapping

from generator.errors import WriteError
from generator import rules
from generator.output import transaction
from generator.output.fileset import FileSet
from generator.output.naming import CONFIG_DIR, RECORD, TX
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
    foreign: tuple[str, ...] = ()  # not written by sidecar-new, where it would write: refused
    notes: tuple[str, ...] = ()  # what the write did beyond the plan (a recovery, a file kept)
    seen: Mapping[str, str | None] = field(default_factory=dict, compare=False)  # hashes planned on

    @property
    def replaced_edits(self) -> tuple[str, ...]:
        return tuple(p for p in self.edited if p in self.changed)

    @property
    def kept_edits(self) -> tuple[str, ...]:
        """Edited files that are no longer generated: kept, never removed."""
        return tuple(p for p in self.edited if p not in self.changed and p not in self.unchanged)


def plan(files: FileSet, dest: Path) -> Plan:
    with _os_errors(dest):
        _check_paths(files)
        return _plan(files, dest, Path(os.path.realpath(dest)))


def _check_paths(files: FileSet) -> None:
    for path in files:
        if not rules.is_safe_relative(path) or path == TX or path.startswith(f"{TX}/"):
            raise WriteError(f"{path}: refusing to write outside the output folder")


def _plan(files: FileSet, dest: Path, real: Path) -> Plan:
    exists = os.path.lexists(real)
    if exists and not real.is_dir():
        raise WriteError(f"--output: {dest} exists and is not a folder")
    present = _existing_files(real) if exists else set()
    for link in (p for p in present if os.path.islink(real / p)):
        if any(path.startswith(f"{link}/") for path in files):
            raise WriteError(f"--output: {dest / link} is a link; refusing to write generated files "
                             "through it (replace it with a folder, or write elsewhere)")
    is_record, recorded = _record(real) if exists else (False, {})
    seen = {p: transaction.sha256(real / p) for p in present if p in recorded or p in files}
    new = {p: hashlib.sha256(data).hexdigest() for p, data in files.items()}
    edited = sorted(p for p, h in recorded.items() if p in seen and seen[p] != h)
    changed = sorted(p for p in files if p in present and seen[p] != new[p])
    ours = set(recorded) | ({RECORD} if is_record else set())
    # Anything sidecar-new did not write, where it would write: a file with other content, a
    # folder where a file goes, a file where a folder goes.
    foreign = {p for p in changed if p not in ours}
    foreign |= {p for p in files if os.path.isdir(real / p) and not os.path.islink(real / p)}
    foreign |= {parent for p in files for parent in _parents(p) if parent in present}
    return Plan(
        dest=dest, exists=exists and bool(present),
        added=tuple(sorted(p for p in files if p not in present and p not in foreign)),
        changed=tuple(changed),
        unchanged=tuple(sorted(p for p in files if p in present and p not in changed)),
        edited=tuple(edited),
        stale=tuple(sorted(p for p in recorded if p in present and p not in files and p not in edited)),
        kept=tuple(sorted(p for p in present if p not in files and p not in recorded)),
        foreign=tuple(sorted(foreign)), seen=seen,
    )


def _parents(path: str) -> list[str]:
    parts = path.split("/")[:-1]
    return ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]


def diff(files: FileSet, dest: Path) -> str:
    """A unified diff from what is in `dest` to what a write would leave there."""
    import difflib

    result = plan(files, dest)
    if os.path.lexists(result.dest / TX):
        raise WriteError(f"--output: an earlier run was killed while updating {dest}; any render "
                         "into it (with or without --force) finishes that first, then --diff works")
    chunks = []
    for path in sorted({*result.added, *result.changed, *result.stale}):
        with _os_errors(dest):
            old = (_read(dest / path) or b"").decode(errors="replace")
        new = files[path].decode() if path in files else ""
        chunks += difflib.unified_diff(old.splitlines(True), new.splitlines(True),
                                       f"a/{path}" if old else "/dev/null",
                                       f"b/{path}" if path in files else "/dev/null")
    return "".join(chunks)


def write(files: FileSet, dest: Path, force: bool = False,
          on_landed: Callable[[], None] | None = None, *, adopt: frozenset[str] = frozenset(),
          expect: Mapping[str, str | None] | None = None) -> Plan:
    """Write `files` to `dest`. `on_landed` is called the moment the new files are in place
    (with SIGINT held back), so the caller can tell an interrupt before from one after.
    For `update`, which merged the folder's files into `files` before taking the lock:
    `adopt` names files sidecar-new did not write that the merge took in (so they are not
    refused as foreign), and `expect` the hash (None: absent) each path had when it was read;
    a path that changed since stops the write before anything changes."""
    landed = on_landed or (lambda: None)
    with _os_errors(dest):
        _check_paths(files)
        real = Path(os.path.realpath(dest))  # fails if `.` is a folder that was removed
        if not os.path.lexists(real):
            result = _write_new(files, dest, real, landed)
            if result is not None:
                return result
            # Something appeared at `dest` while rendering: from here it is an existing folder,
            # planned again under the lock like any other.
        if not real.is_dir():
            raise WriteError(f"--output: {dest} exists and is not a folder")
        transaction.clean_stale_staging(real.parent, real.name)
        with transaction.locked(real, dest):
            recovered = transaction.recover(real)
            result = _plan(files, dest, real)
            if adopt:
                result = replace(result, foreign=tuple(p for p in result.foreign if p not in adopt))
            _refuse(result, force)
            for path, before in (expect or {}).items():
                if transaction.sha256(real / path) != before:
                    raise WriteError(f"--output: {dest / path} changed while updating; nothing was "
                                     "written (run again)")
            notes = (recovered,) if recovered else ()
            skipped = _update(files, real, result, landed)
            if skipped:
                notes += (f"kept {', '.join(skipped)}: changed while rendering, so not replaced",)
            return replace(result, notes=notes)


def _refuse(result: Plan, force: bool) -> None:
    if result.foreign:
        raise WriteError(f"--output: {result.dest} holds files sidecar-new did not write where it "
                         f"would write its own: {', '.join(result.foreign)}; move or rename them "
                         "(nothing was written)")
    if result.exists and not force:
        edited = (f"; files edited since they were generated: {', '.join(result.edited)}"
                  if result.edited else "")
        raise WriteError(f"--output: {result.dest} already exists{edited}; see the changes with "
                         "--diff, replace the generated files with --force")


def _write_new(files: FileSet, dest: Path, real: Path, landed: Callable[[], None]) -> Plan | None:
    """A folder that does not exist yet: staged beside it, then renamed into place. None if
    something took its name meanwhile (nothing is written then)."""
    real.parent.mkdir(parents=True, exist_ok=True)
    transaction.clean_stale_staging(real.parent, real.name)
    staging = real.parent / transaction.staging_name(real.name, os.getpid())
    shutil.rmtree(staging, ignore_errors=True)  # a dead run's with our pid
    os.mkdir(staging)  # 0777 less the umask: the output looks like any new folder
    try:
        with transaction.locked(staging, dest):  # a live run's staging is not stale
            for path, data in files.items():
                _stage(staging, path, data)
            with transaction.uninterrupted():
                moved = transaction.rename_new_folder(staging, real)
                if moved:
                    landed()
    finally:
        if os.path.lexists(staging):
            shutil.rmtree(staging, ignore_errors=True)
    if not moved:
        return None
    names = tuple(sorted(files))
    return Plan(dest=dest, exists=False, added=names, changed=(), unchanged=(), edited=(), stale=(),
                kept=())


def _stage(root: Path, path: str, data: bytes) -> None:
    target = root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    transaction.write_file(target, data)
    if path.startswith(f"{CONFIG_DIR}/"):
        # The containers read config/ through bind mounts as their own users (10001, 65532,
        # 65534), not as whoever rendered it: under umask 077 or 027 the files would be 0600
        # and the sidecars crash-loop on "permission denied". Readable by all, set explicitly;
        # nothing secret goes there (catalog lint refuses secrets in templates). Folders that
        # already exist in the output keep the mode they have.
        os.chmod(target, 0o644)
        for folder in Path(path).parents[:-1]:
            os.chmod(root / folder, 0o755)


def _update(files: FileSet, real: Path, result: Plan, landed: Callable[[], None]) -> list[str]:
    """Update an existing folder in place (the lock held); the paths kept because they changed
    between the plan and the update."""
    writes = [*result.added, *result.changed]
    entries = [{"path": p, "before": result.seen.get(p), "after": hashlib.sha256(files[p]).hexdigest()}
               for p in sorted(writes, key=lambda p: p == RECORD)]  # the record last
    entries += [{"path": p, "before": result.seen[p], "after": None} for p in result.stale]
    if not entries:
        landed()
        return []
    committed = False
    try:
        staged = transaction.begin(real)
        for path in writes:
            _stage(staged, path, files[path])
        for entry in entries:
            if transaction.sha256(real / entry["path"]) != entry["before"]:
                raise WriteError(f"--output: {result.dest / entry['path']} changed while rendering; "
                                 "nothing was written (run again)")
        with transaction.uninterrupted():
            transaction.commit(real, entries)
            committed = True
            skipped = transaction.apply(real)
            landed()
        return skipped
    except BaseException as exc:
        if not committed:
            transaction.finish(real)  # only staged files: the folder is as it was
            raise
        if isinstance(exc, OSError):
            raise WriteError(f"--output: cannot finish updating {result.dest}: {exc.strerror or exc}; "
                             "fix that and render again, which finishes the update") from None
        # An interrupt that slipped in before signals were held: finish, never leave half.
        transaction.apply(real)
        landed()
        raise

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
    """Any file-system failure becomes one line naming the output and the reason (a path in
    the writer's staging area is shown as the output path it stands for)."""
    try:
        yield
    except OSError as exc:  # shutil.Error and SpecialFileError are OSErrors too
        shown = _shown(str(exc.filename)) if exc.filename else ""
        where = f" ({shown})" if shown and shown != str(dest) else ""
        raise WriteError(f"--output: cannot write {dest}: {exc.strerror or exc}{where}") from None


_STAGED = re.compile(r"/\.([^/]+)\.sidecar-new-[0-9]+\.tmp(?=/|$)|/" + re.escape(TX) + r"(/new)?(?=/|$)")


def _shown(path: str) -> str:
    return _STAGED.sub(lambda m: f"/{m[1]}" if m[1] else "", path)


def _existing_files(dest: Path) -> set[str]:
    """Every file and link (links to folders included, never followed) under `dest`, except
    the writer's own work folder."""
    found = set()
    for root, dirs, names in os.walk(dest, onerror=_raise):
        if root == str(dest) and TX in dirs:
            dirs.remove(TX)
        for name in [*names, *(d for d in dirs if os.path.islink(os.path.join(root, d)))]:
            found.add((Path(root) / name).relative_to(dest).as_posix())
    return found


def _raise(exc: OSError) -> None:
    # os.walk skips folders it cannot read unless told otherwise; the plan would miss files.
    raise exc


def _record(dest: Path) -> tuple[bool, dict[str, str]]:
    """(whether dest holds a sidecar-new record, the file hashes it lists)."""
    record = dest / RECORD
    if not record.is_file() or record.is_symlink():
        return False, {}
    data = load_text(record.read_text(encoding="utf-8", errors="replace"), str(record), WriteError)
    if not isinstance(data, dict) or not isinstance(data.get("generated_by"), dict):
        return False, {}
    hashes = data.get("files")
    return True, ({str(k): str(v) for k, v in hashes.items() if rules.is_safe_relative(str(k))}
                  if isinstance(hashes, dict) else {})


def _read(path: Path) -> bytes | None:
    # Only regular files: reading a named pipe would block.
    return path.read_bytes() if path.is_file() else None
