"""`update`: bring one service folder to a newer catalog (and changed answers) by a three-way
merge. base = its recorded answers rendered with the recorded catalog commit (re-created, not
stored), ours = the folder as it is, theirs = the changed answers rendered with the catalog
moved to the new ref. The merge (output/merge.py) decides each file; the writer writes them
through its journal, so the folder ends old or new, never mixed.
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from generator import rules
from generator.catalog.fetch import BUILTIN, Source, load_source, recorded_sources
from generator.catalog.stack import stack
from generator.catalog.loader import Catalog
from generator.errors import SidecarError, SpecError, WriteError
from generator.input.answers import load_answers
from generator.input.overrides import apply_sets
from generator.input.spec import ANSWER_KEYS, parse_spec
from generator.output import transaction
from generator.output.merge import merge_tree, sha
from generator.output.naming import RECORD, TX
from generator.pipeline import build
from generator.yamlio import load_file

UPDATED, UNCHANGED, CONFLICTS, FAILED = "updated", "unchanged", "conflicts", "failed"


@dataclass(frozen=True, slots=True)
class Change:
    """What to change besides the catalog: the same for every folder of a run."""

    checkout: str | None = None  # the ref to move to; None: newest tag or followed branch
    add: tuple[str, ...] = ()  # --with
    remove: tuple[str, ...] = ()  # --without
    sets: tuple[str, ...] = ()  # --set
    offline: bool = False
    allow_unpinned: bool = False


@dataclass(frozen=True, slots=True)
class Outcome:
    folder: str
    status: str
    detail: str = ""  # one line: versions, or the error
    conflicts: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    diff: str = ""  # --diff only

    def line(self) -> str:
        shown = f"{self.status:<9} {self.folder}"
        return f"{shown}: {self.detail}" if self.detail else shown


@dataclass
class Catalogs:
    """Catalogs loaded once per run (and per worker process): a fleet shares a few sources."""

    offline: bool = False
    loaded: dict[Source, Catalog | SidecarError] = field(default_factory=dict)
    newest: dict[tuple[str, str | None], str | None] = field(default_factory=dict)
    stacks: dict[tuple[Source, ...], Catalog] = field(default_factory=dict)

    def load(self, source: Source) -> Catalog:
        key = replace(source, field="")  # one load whichever record named it
        if key not in self.loaded:
            try:
                self.loaded[key] = load_source(source)
            except SidecarError as exc:
                self.loaded[key] = exc  # a source that failed is not fetched again per folder
        found = self.loaded[key]
        if isinstance(found, SidecarError):
            raise found
        return found

    def load_stack(self, sources: list[Source]) -> Catalog:
        if len(sources) == 1:
            return self.load(sources[0])
        key = tuple(replace(source, field="") for source in sources)
        if key not in self.stacks:  # one stack object, so its name index is built once
            self.stacks[key] = stack([self.load(source) for source in sources])
        return self.stacks[key]

    def moved_all(self, old: list[Source], checkout: str | None) -> list[Source]:
        """Each recorded catalog moved on; --checkout applies to the first (the team's)."""
        return [self.moved(source, checkout if i == 0 else None) for i, source in enumerate(old)]

    def moved(self, old: Source, checkout: str | None) -> Source:
        """The recorded source at the ref an update moves it to."""
        if old.location == BUILTIN:
            return old
        if checkout is None:
            checkout = self.newest_ref(old)
        return replace(old, checkout=checkout, commit=None)

    def newest_ref(self, old: Source) -> str | None:
        key = (old.location, old.checkout)
        if key not in self.newest:
            try:
                self.newest[key] = _newest_ref(old)
            except SidecarError as exc:
                self.newest[key] = exc  # type: ignore[assignment]
        found = self.newest[key]
        if isinstance(found, SidecarError):
            raise found
        return found


def _newest_ref(old: Source) -> str | None:
    """Newest tag or followed branch of a git source; a folder or zip: as it is now."""
    if Path(old.location).expanduser().is_dir() or old.location.endswith(".zip"):
        return None
    from generator.catalog import gitcache
    from generator.catalog.fetch import git_url

    url = git_url(old)
    return gitcache.newest_ref(url, old.checkout, offline=old.offline, field=old.field) if url else old.checkout


def update_folder(folder: Path, change: Change, catalogs: Catalogs, show_diff: bool = False) -> Outcome:
    """One service: merged and written (or, with show_diff, only compared); never raises for
    a problem of this folder: it becomes a `failed` outcome."""
    shown = str(folder)
    try:
        return _update(folder, change, catalogs, show_diff)
    except SidecarError as exc:
        return Outcome(shown, FAILED, exc.message)
    except OSError as exc:
        return Outcome(shown, FAILED, f"{exc.strerror or exc} ({exc.filename or folder})")


def _update(folder: Path, change: Change, catalogs: Catalogs, show_diff: bool) -> Outcome:
    made, recorded, answers = _read_record(folder)
    old_sources = recorded_sources(made.get("catalog"), f"{folder / RECORD}: generated_by.catalog",
                                   offline=change.offline)
    new_catalog = catalogs.load_stack(catalogs.moved_all(old_sources, change.checkout))
    new_answers = _changed(answers, change)
    image_kept = (new_answers.get("app") or {}).get("image") == (answers.get("app") or {}).get("image")
    theirs = build(parse_spec(new_answers, new_catalog, change.allow_unpinned or image_kept), new_catalog)
    if os.path.lexists(folder / TX):
        if show_diff:
            raise WriteError(f"{folder}: an earlier run was killed while updating it; run update "
                             "without --diff to finish that first")
        _recover(folder)
    ours = {path: _read(folder / path) for path in set(theirs) | set(recorded)}
    old_version = _version(made.get("catalog"))
    labels = (f"yours ({folder})", f"catalog {old_version}", f"catalog {_version(new_catalog.provenance)}")
    merged = merge_tree(lambda: _base(answers, old_sources, catalogs), ours,
                        {p: d for p, d in theirs.items() if p != RECORD}, recorded, labels)
    files = {**merged.files, RECORD: theirs[RECORD]}
    # Markers a person has not resolved yet (from this merge or an earlier one) keep the
    # service in conflict, so a second update does not report it as fine.
    merged = replace(merged, conflicts=tuple(sorted(p for p, data in merged.files.items() if _has_markers(data))))
    versions = _versions(old_version, _version(new_catalog.provenance))
    if show_diff:
        text = _diff(folder, ours, files, recorded)
        status = CONFLICTS if merged.conflicts else (UPDATED if text else UNCHANGED)
        return Outcome(str(folder), status, _detail(status, versions, merged.conflicts, bool(text)),
                       merged.conflicts, merged.notes, text)
    from generator.output.writer import write

    expect = {path: (None if data is None else sha(data)) for path, data in ours.items()}
    plan = write(files, folder, force=True, adopt=merged.adopted, expect=expect)
    touched = bool(plan.added or plan.changed or plan.stale)
    status = CONFLICTS if merged.conflicts else (UPDATED if touched else UNCHANGED)
    return Outcome(str(folder), status, _detail(status, versions, merged.conflicts, touched),
                   merged.conflicts, merged.notes + plan.notes)


def _read_record(folder: Path) -> tuple[dict, dict[str, str], dict[str, Any]]:
    """(generated_by, the hash of each file sidecar-new wrote, the recorded answers)."""
    record_path = folder / RECORD
    if not record_path.is_file():
        raise SpecError(f"{folder}: no {RECORD} here; update works on folders sidecar-new wrote")
    record = load_file(record_path, SpecError)
    made = record.get("generated_by") if isinstance(record, dict) else None
    if not isinstance(made, dict):
        raise SpecError(f"{record_path}: not a sidecar-new record (no generated_by)")
    hashes = record.get("files")
    # Only paths inside the folder, as the writer reads them: a record is a file anyone can edit.
    recorded = ({str(k): str(v) for k, v in hashes.items() if rules.is_safe_relative(str(k)) and str(k) != TX}
                if isinstance(hashes, dict) else {})
    return made, recorded, load_answers(record_path)


def _changed(answers: dict[str, Any], change: Change) -> dict[str, Any]:
    """The recorded answers with --with, --without and --set applied."""
    result = dict(answers)
    sidecars = list(result.get("sidecars") or [])
    names = [s if isinstance(s, str) else s.get("name") if isinstance(s, dict) else None for s in sidecars]
    for name in change.remove:
        if name not in names:
            raise SpecError(f"--without {name}: not among this service's sidecars ({', '.join(map(str, names)) or 'none'})")
        del sidecars[names.index(name)]
        names.remove(name)
    for name in change.add:
        if name not in names:
            sidecars.append(name)
            names.append(name)
    result["sidecars"] = sidecars
    return apply_sets(result, change.sets, ANSWER_KEYS)


def _base(answers: dict[str, Any], sources: list[Source], catalogs: Catalogs):
    """The recorded answers rendered with the recorded catalog; empty when that cannot be
    re-created (the merge then trusts only the record's hashes)."""
    try:
        catalog = catalogs.load_stack(sources)
        return build(parse_spec(answers, catalog, allow_unpinned=True), catalog)
    except SidecarError:
        return {}


def _recover(folder: Path) -> None:
    real = Path(os.path.realpath(folder))
    with transaction.locked(real, folder):
        transaction.recover(real)


def _read(path: Path) -> bytes | None:
    """A regular file's bytes; None when absent. A link, folder or pipe where a generated file
    goes is refused (its hash never matches, so the writer would refuse it too)."""
    if not os.path.lexists(path):
        return None
    if path.is_symlink() or not path.is_file():
        raise WriteError(f"{path}: not a regular file where sidecar-new keeps a generated file")
    return path.read_bytes()


def _version(provenance: object) -> str:
    """name version commit, from a record's (or a catalog's) provenance; a stack's joined."""
    if isinstance(provenance, list):
        return " + ".join(_version(layer) for layer in provenance)
    found = provenance if isinstance(provenance, dict) else {}
    commit = f" {str(found['commit'])[:12]}" if found.get("commit") else ""
    return f"{found.get('name', '?')} {found.get('version', '?')}{commit}"


def _versions(before: str, after: str) -> str:
    return f"catalog {after}" if before == after else f"catalog {before} -> {after}"


_MARKERS = re.compile(rb"^<{7} .*^>{7} ", re.M | re.S)


def _has_markers(data: bytes) -> bool:
    return b"<<<<<<< " in data and _MARKERS.search(data) is not None


def _detail(status: str, versions: str, conflicts: tuple[str, ...], touched: bool) -> str:
    if status == CONFLICTS:
        return f"{versions}; conflict markers in {', '.join(conflicts)}"
    return versions if touched else ""


def _diff(folder: Path, ours: dict[str, bytes | None], files: dict[str, bytes], recorded: dict[str, str]) -> str:
    """A unified diff from the folder to what the update would leave there."""
    chunks: list[str] = []
    for path in sorted(set(files) | set(recorded)):
        before = ours.get(path) if path in ours else _read(folder / path)
        if path in files:
            after = files[path]
        elif before is not None and path in recorded and sha(before) == recorded[path]:
            after = None  # unedited and no longer generated: removed
        else:
            after = before
        if before == after:
            continue
        old = (before or b"").decode(errors="replace")
        new = (after or b"").decode(errors="replace")
        chunks += difflib.unified_diff(old.splitlines(True), new.splitlines(True),
                                       f"a/{path}" if before is not None else "/dev/null",
                                       f"b/{path}" if after is not None else "/dev/null")
    return "".join(chunks)
