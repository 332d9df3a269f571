"""One file replaced in place, atomically: a temp file beside it, renamed over it, so a reader
sees the old bytes or the new, never half (inject --in-place)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from generator.errors import WriteError
from generator.output.transaction import sha256, uninterrupted


def replace_file(path: Path, data: bytes, expected: bytes) -> None:
    """`path` gets `data`, keeping its mode; refused if it no longer holds `expected` (what was
    read): someone saved it meanwhile, and their change must not be lost."""
    path = Path(os.path.realpath(path))  # through a link, as editors do: the link stays a link
    temp = path.with_name(f".{path.name}.sidecar-new-{os.getpid()}.tmp")
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
        with open(temp, "xb") as handle:  # "x": never through a planted file or link
            handle.write(data)
        os.chmod(temp, mode)
        with uninterrupted():
            if path.read_bytes() != expected:
                raise WriteError(f"{path}: changed while inject ran; nothing written, run it again")
            os.replace(temp, path)
    except OSError as exc:
        raise WriteError(f"--in-place: cannot write {path}: {exc.strerror or exc}") from None
    finally:
        temp.unlink(missing_ok=True)


def write_beside(base: Path, files: dict[str, bytes], owned: dict[str, str]) -> list[str]:
    """Files beside an edited file (a Compose file's sidecar configs), each written atomically,
    readable by the sidecars' users (0644 in 0755 folders, whatever the umask). A file already
    there is replaced only if an earlier inject wrote it and it is unchanged since (`owned`:
    path -> sha256 then); files of `owned` no longer wanted are removed on the same terms.
    Returns notes on what was left alone."""
    notes = []
    for path, data in files.items():
        target = base / path
        if target.is_file() and target.read_bytes() == data:
            continue
        if target.exists() and not _unchanged(target, owned.get(path)):
            raise WriteError(f"{target}: exists and inject did not write it (or it was edited since); "
                             "nothing written: move it away or take the sidecar out first")
    for path, data in files.items():
        target = base / path
        if target.is_file() and target.read_bytes() == data:
            continue
        try:
            _make_folders(base, target.parent)
            temp = target.with_name(f".{target.name}.sidecar-new-{os.getpid()}.tmp")
            with open(temp, "xb") as handle:
                handle.write(data)
            os.chmod(temp, 0o644)
            os.replace(temp, target)
        except OSError as exc:
            raise WriteError(f"--in-place: cannot write {target}: {exc.strerror or exc}") from None
    for path, digest in owned.items():
        target = base / path
        if path in files or not target.exists():
            continue
        if not _unchanged(target, digest):
            notes.append(f"kept {target}: edited since inject wrote it")
            continue
        target.unlink()
        folder = target.parent
        while folder != base and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
            folder = folder.parent
    return notes


def _unchanged(path: Path, digest: str | None) -> bool:
    return digest is not None and path.is_file() and not path.is_symlink() and sha256(path) == digest


def _make_folders(base: Path, folder: Path) -> None:
    missing = []
    while not folder.exists() and folder != base:
        missing.append(folder)
        folder = folder.parent
    for created in reversed(missing):
        created.mkdir()
        os.chmod(created, 0o755)
