"""Git catalogs kept on this machine: one mirror per URL, brought up to date with `git fetch`,
and one folder per commit with that commit's files.

Why not cookiecutter's clone (catalog/fetch.py used it before): it deletes and clones again
on every run, cannot say which tag is the newest, and has no offline mode. An update of a
fleet renders each service at two commits; a commit's files never change, so the folder made
for it once serves every later run, and a recorded commit that is in the cache needs no
network at all.

Layout under cache_root() ($XDG_CACHE_HOME/sidecar-new, else ~/.cache/sidecar-new):
    git/<hash of URL>.git     bare mirror (refs/heads, refs/tags), fetched under a flock
    trees/<commit>/           the commit's files (`git archive`), made beside and renamed in
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Mapping

from generator.errors import FetchError

_FULL_COMMIT = re.compile(r"[0-9a-f]{40}")
_fetched: set[Path] = set()  # mirrors fetched in this run: a fleet update fetches each once


def new_run() -> None:
    """A command starts: fetch each mirror again (once) before using it. Forked fleet
    workers keep the parent's run, so they never fetch."""
    _fetched.clear()


def cache_root(environ: Mapping[str, str] = os.environ) -> Path:
    """XDG_CACHE_HOME when it is an absolute path (the spec says to ignore a relative one)."""
    base = environ.get("XDG_CACHE_HOME", "")
    root = Path(base) if base and os.path.isabs(base) else Path("~/.cache").expanduser()
    return root / "sidecar-new"


def checkout(url: str, ref: str | None, *, offline: bool, field: str) -> tuple[Path, str]:
    """(a folder with the files of `ref` in `url`, its commit). ref None: the default branch."""
    mirror = _mirror(url, offline, field, needs=ref)
    commit = _resolve(mirror, ref)
    if commit is None:
        if offline:
            raise FetchError(f"--offline: the cached copy of {url} has no {ref!r} (cached in {mirror}); "
                             "run once without --offline to fetch it")
        raise FetchError(f"{field}: cannot fetch {url}: no branch, tag or commit {ref!r} in it")
    return _tree(mirror, commit, field, url), commit


def newest_ref(url: str, following: str | None, *, offline: bool, field: str) -> str | None:
    """Where an update moves a catalog by default: a record made from the default branch
    (no checkout) follows it (None); one made from a branch follows that branch; one made
    from a tag or commit goes to the newest tag (version order: v1.10 after v1.9, v2.0.0-rc1
    before v2.0.0), or stays where it is when there is none."""
    if following is None:
        return None
    mirror = _mirror(url, offline, field, needs=None)
    if _git(mirror, "rev-parse", "--verify", "-q", f"refs/heads/{following}").returncode == 0:
        return following
    tags = _git(mirror, "-c", "versionsort.suffix=-", "tag", "--list", "--sort=-v:refname").stdout.split()
    return tags[0] if tags else following


def _mirror(url: str, offline: bool, field: str, needs: str | None) -> Path:
    """The URL's bare mirror, cloned or fetched unless offline (or unless `needs` is a commit
    already in it: a commit never changes)."""
    mirror = cache_root() / "git" / f"{hashlib.sha256(url.encode()).hexdigest()[:20]}.git"
    if offline:
        if not (mirror / "HEAD").is_file():
            raise FetchError(f"--offline: {url} is not in the cache ({cache_root()}); run once "
                             "without --offline to fetch it")
        return mirror
    if mirror in _fetched or (needs and _FULL_COMMIT.fullmatch(needs) and (mirror / "HEAD").is_file()
                           and _resolve(mirror, needs) == needs):
        return mirror
    mirror.parent.mkdir(parents=True, exist_ok=True)
    with _flock(mirror.with_suffix(".lock")):  # two runs fetching one mirror take turns
        if (mirror / "HEAD").is_file():
            done = _git(mirror, "fetch", "--quiet", "--prune", "--force", "--tags", "origin",
                        "+refs/heads/*:refs/heads/*")
        else:
            temp = mirror.with_name(f"{mirror.name}.{os.getpid()}.tmp")
            shutil.rmtree(temp, ignore_errors=True)
            done = _run(["git", "clone", "--quiet", "--bare", "--", url, str(temp)], None)
            if done.returncode == 0:
                os.rename(temp, mirror)
            shutil.rmtree(temp, ignore_errors=True)
    if done.returncode != 0:
        raise FetchError(f"{field}: cannot fetch {url}: {_first_error(done.stderr)}")
    _fetched.add(mirror)
    return mirror


def _resolve(mirror: Path, ref: str | None) -> str | None:
    if ref is not None and (not ref.strip() or ref.startswith("-")):
        return None  # never an option to git
    done = _git(mirror, "rev-parse", "--verify", "-q", f"{ref or 'HEAD'}^{{commit}}")
    return done.stdout.strip() if done.returncode == 0 else None


def _tree(mirror: Path, commit: str, field: str, url: str) -> Path:
    """The commit's files, extracted once: written beside, then renamed into place, so a
    folder that exists is complete (another process may be making the same one)."""
    tree = cache_root() / "trees" / commit
    if tree.is_dir():
        return tree
    import io
    import tarfile

    tree.parent.mkdir(parents=True, exist_ok=True)
    temp = tree.with_name(f"{commit}.{os.getpid()}.tmp")
    shutil.rmtree(temp, ignore_errors=True)
    done = subprocess.run(["git", "--git-dir", str(mirror), "archive", "--format=tar", commit],
                          capture_output=True, env=_environ())
    if done.returncode != 0:
        raise FetchError(f"{field}: cannot read {commit[:12]} of {url}: "
                         f"{_first_error(done.stderr.decode(errors='replace'))}")
    try:
        with tarfile.open(fileobj=io.BytesIO(done.stdout)) as archive:
            # "tar": no member written outside the folder; links are kept as links, as a
            # clone would have them, for the loader to refuse with its own message.
            archive.extractall(temp, filter="tar")
        os.rename(temp, tree)
    except tarfile.TarError as exc:
        raise FetchError(f"{field}: cannot unpack {commit[:12]} of {url}: {exc}") from None
    except OSError:
        if not tree.is_dir():  # lost the race to another process: theirs is as good
            raise
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    return tree


@contextmanager
def _flock(path: Path) -> Iterator[None]:
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _git(mirror: Path, *args: str) -> subprocess.CompletedProcess:
    return _run(["git", "--git-dir", str(mirror), *args], None)


def _run(argv: list[str], cwd: Path | None) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, env=_environ())


def _environ() -> dict[str, str]:
    """Never a prompt (credentials, ssh host keys), never the user's hooks or templates."""
    return {**os.environ, "GIT_TERMINAL_PROMPT": "0",
            "GIT_SSH_COMMAND": os.environ.get("GIT_SSH_COMMAND", "ssh -o BatchMode=yes"),
            "LC_ALL": "C"}


def _first_error(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if line.lower().startswith(("fatal:", "error:"))]
    return (errors or lines[-1:] or ["failed"])[0]
