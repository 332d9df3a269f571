"""Catalog hooks: hooks/post_render in a catalog's root runs after a successful write, inside
the output folder, and only with --trust. Nothing from a catalog ever runs before the write."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from generator.catalog.loader import Catalog
from generator.errors import CatalogError, HookError

HOOKS_DIR = "hooks"
POST_RENDER = "post_render"
# post_render (executable, any language), post_render.sh (run with sh), post_render.py (Python)
_RUNNERS = {"": None, ".sh": ["sh"], ".py": [sys.executable]}
HOOK_TIMEOUT = 600


def hook_files(root: Path | None) -> list[Path]:
    """Every file in the catalog's hooks/ folder (the ones sidecar-new would not run too,
    so the user is told about all of them)."""
    folder = root / HOOKS_DIR if root else None
    if folder is None or not (folder.exists() or folder.is_symlink()):
        return []
    if folder.is_symlink() or not folder.is_dir():
        raise CatalogError(f"{folder}: hooks/ must be a folder inside the catalog, not a link")
    return sorted(p for p in folder.iterdir() if not p.name.startswith("."))


def post_render_hook(root: Path | None) -> Path | None:
    found = [p for p in hook_files(root) if p.stem == POST_RENDER and p.suffix in _RUNNERS]
    if len(found) > 1:
        raise CatalogError(f"{root / HOOKS_DIR}: more than one post_render hook "
                           f"({', '.join(p.name for p in found)}); keep one")
    return found[0] if found else None


def hook_command(hook: Path) -> list[str]:
    if hook.is_symlink() or not hook.is_file():
        raise CatalogError(f"{hook}: a hook must be a plain file inside the catalog, not a link")
    runner = _RUNNERS[hook.suffix]
    if runner is None and not os.access(hook, os.X_OK):
        raise CatalogError(f"{hook}: not executable (chmod +x it, or name it post_render.sh "
                           "or post_render.py)")
    return [*(runner or []), str(hook.resolve())]


def check_hooks(catalog: Catalog, trust: bool) -> None:
    """Before writing: refuse a hooks/ that is a link, and with --trust a hook that could not
    run (a link, not executable), so a broken hook stops the render instead of failing after
    the write."""
    hook_files(catalog.root)
    if trust:
        hook = post_render_hook(catalog.root)
        if hook is not None:
            hook_command(hook)


def run_hooks(catalog: Catalog, dest: Path, trust: bool) -> list[str]:
    """Run the catalog's post_render hook in `dest` (already written) if trusted; return the
    lines to show the user. A failing hook raises HookError; the files stay written."""
    files = hook_files(catalog.root)
    if not files:
        return []
    hook = post_render_hook(catalog.root)
    ignored = [f"{HOOKS_DIR}/{p.name}" for p in files if p != hook]
    notes = ([f"ignored {', '.join(ignored)} from catalog {catalog.name!r}: sidecar-new runs only "
              f"{HOOKS_DIR}/{POST_RENDER}"] if ignored else [])
    if hook is None:
        return notes
    shown = f"{HOOKS_DIR}/{hook.name}"
    if not trust:
        return [*notes, f"skipped hook {shown} from catalog {catalog.name!r} ({catalog.source}): "
                        "run again with --trust to run it"]
    command = hook_command(hook)
    env = {**os.environ, "SIDECAR_NEW_OUTPUT": str(dest.resolve()),
           "SIDECAR_NEW_CATALOG_ROOT": str(catalog.root.resolve() if catalog.root else "")}
    try:
        done = subprocess.run(command, cwd=dest, env=env, timeout=HOOK_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise HookError(f"hook {shown} ran longer than {HOOK_TIMEOUT} s and was stopped; "
                        f"the files were written to {dest}") from None
    except OSError as exc:
        raise HookError(f"hook {shown} could not start: {exc.strerror or exc}; "
                        f"the files were written to {dest}") from None
    if done.returncode:
        raise HookError(f"hook {shown} failed (exit {done.returncode}); the files were written to {dest}")
    return [*notes, f"ran hook {shown} from catalog {catalog.name!r} in {dest}"]
