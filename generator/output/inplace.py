"""One file replaced in place, atomically: a temp file beside it, renamed over it, so a reader
sees the old bytes or the new, never half (inject --in-place)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from generator.errors import WriteError
from generator.output.transaction import uninterrupted


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
