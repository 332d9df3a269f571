"""Catalog sources: the built-in catalog, a local folder, or a git/hg URL, zip file or
abbreviation (gh:org/repo). cookiecutter's repository support expands abbreviations, tells
the kinds apart and fetches hg and zips; git repositories are cached by catalog/gitcache.py.

cookiecutter costs ~300 ms to import, so it is imported only inside the functions that
fetch something remote; the built-in catalog and local folders never load it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterator, Mapping, Sequence

from generator.catalog.loader import Catalog, builtin_root, load_catalog
from generator import rules
from generator.errors import CatalogError, FetchError

ENV_SOURCE = "SIDECAR_NEW_CATALOG"
ENV_CHECKOUT = "SIDECAR_NEW_CATALOG_CHECKOUT"
ENV_DIRECTORY = "SIDECAR_NEW_CATALOG_DIRECTORY"
BUILTIN = "builtin"
_SKIPPED_DIRS = {".git", ".hg", "__pycache__"}


@dataclass(frozen=True, slots=True)
class Source:
    location: str  # as the user gave it: folder, URL, zip, abbreviation or "builtin"
    checkout: str | None = None
    directory: str | None = None
    field: str = "--catalog"  # what error messages name: the flag or the environment variable
    offline: bool = False  # only what the cache holds (--offline)
    commit: str | None = None  # fetch exactly this commit (a record's), still recording `checkout`


def resolve_source(location: str | None, checkout: str | None, directory: str | None,
                   environ: Mapping[str, str] = os.environ) -> Source:
    """The first catalog resolve_sources names."""
    return resolve_sources([location] if location else [], checkout, directory, environ)[0]


def resolve_sources(locations: Sequence[str] | None, checkout: str | None, directory: str | None,
                    environ: Mapping[str, str] = os.environ) -> list[Source]:
    """The catalogs to search, in order: each --catalog; otherwise SIDECAR_NEW_CATALOG, split
    as PATH is (with its _CHECKOUT and _DIRECTORY, which apply only to the environment's
    sources); otherwise the built-in catalog. --checkout and --directory apply to the first."""
    field = "--catalog"
    given = [location for location in (locations or []) if location]
    if not given and environ.get(ENV_SOURCE):
        from generator.catalog.stack import split_path

        given, field = split_path(environ[ENV_SOURCE], _abbreviation_names), ENV_SOURCE
        checkout = checkout or environ.get(ENV_CHECKOUT) or None
        directory = directory or environ.get(ENV_DIRECTORY) or None
    if not given:
        return [Source(BUILTIN, checkout, directory)]
    return [Source(location, checkout if i == 0 else None, directory if i == 0 else None, field=field)
            for i, location in enumerate(given)]


def load_sources(sources: Sequence[Source]) -> Catalog:
    """The catalogs the sources name, stacked in order (one source: that catalog)."""
    from generator.catalog.stack import stack

    return stack([load_source(source) for source in sources])


def _abbreviation_names() -> list[str]:
    return ["gh", "gl", "bb", *_abbreviations()]


def recorded_sources(provenance: object, field: str, checkout: str | None = None,
                     offline: bool = False) -> list[Source]:
    """Each catalog a record names (one mapping, or a stack's list); `checkout` moves the first."""
    if isinstance(provenance, list) and provenance:
        return [recorded_source(p, f"{field}[{i}]", checkout if i == 0 else None, offline)
                for i, p in enumerate(provenance)]
    return [recorded_source(provenance, field, checkout, offline)]


def recorded_source(provenance: object, field: str, checkout: str | None = None,
                    offline: bool = False) -> Source:
    """The catalog a record names (`generated_by.catalog`): its source and directory at the
    recorded commit, so a replay renders the same templates; `checkout` moves it to another ref
    (then the commit is not pinned)."""
    if not isinstance(provenance, dict) or not isinstance(provenance.get("source"), str):
        raise FetchError(f"{field}: the record does not say which catalog it came from")
    def text(key: str) -> str | None:
        value = provenance.get(key)
        return value if isinstance(value, str) and value else None
    if provenance["source"] == BUILTIN:
        return Source(BUILTIN, None, None, field=field, offline=offline)
    if checkout is not None:
        return Source(provenance["source"], checkout, text("directory"), field=field, offline=offline)
    return Source(provenance["source"], text("checkout"), text("directory"), field=field,
                  offline=offline, commit=text("commit"))


def fetch_source(source: Source) -> tuple[Path, str, str | None]:
    """(the catalog's folder on this machine, the source as recorded, the git commit if any)."""
    for ref in (source.checkout, source.commit):
        if ref is not None and (not ref.strip() or ref.startswith("-")):
            raise FetchError(f"--checkout: {ref!r} is not a branch, tag or commit")
    if source.location == BUILTIN:
        if source.checkout or source.directory:
            raise FetchError("--checkout and --directory need a --catalog other than the built-in one")
        return builtin_root(), BUILTIN, None
    local = Path(source.location).expanduser()
    if local.is_dir():
        if source.checkout:
            raise FetchError(f"--checkout: {source.location} is a local folder; --checkout is for "
                             "git and hg sources (check out the ref in the folder yourself)")
        return _subfolder(local, source, source.location), str(local.resolve()), None
    with _quiet_noninteractive():
        folder, url, commit = _fetch(source)
    return _subfolder(folder, source, url), url, commit


def load_source(source: Source) -> Catalog:
    """The catalog a source names, with where it came from filled in; FetchError or CatalogError."""
    root, shown, commit = fetch_source(source)
    if shown == BUILTIN:
        return load_catalog()  # traced by the tool's version; keeps the record unchanged
    catalog = load_catalog(root, source=shown)
    return replace(catalog, checkout=source.checkout, directory=source.directory, commit=commit,
                   content_hash=None if commit else content_hash(root))


def content_hash(root: Path) -> str:
    """sha256 over every file's path and content under root (links by their target, VCS folders
    skipped), so two catalogs with the same hash rendered from the same templates."""
    digest = hashlib.sha256()
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_DIRS)
        for name in sorted(names):
            path = Path(folder) / name
            relative = path.relative_to(root).as_posix()
            data = os.readlink(path).encode() if path.is_symlink() else path.read_bytes()
            digest.update(relative.encode() + b"\0" + hashlib.sha256(data).digest())
    return digest.hexdigest()


def _subfolder(folder: Path, source: Source, shown: str) -> Path:
    if not source.directory:
        root = folder
    elif not rules.is_safe_relative(source.directory.strip("/")):
        raise FetchError(f"--directory: {source.directory!r} must be a relative path inside {shown}")
    else:
        root = folder / source.directory.strip("/")
        if not root.resolve().is_relative_to(folder.resolve()):
            raise FetchError(f"--directory: {source.directory!r} leads out of {shown}")
    if not (root / "catalog.yaml").is_file():
        inside = f" (directory {source.directory})" if source.directory else ""
        raise CatalogError(f"{source.field}: no catalog.yaml in {shown}{inside}; a catalog is "
                           "catalog.yaml + templates/ (pass --directory if it sits in a subfolder)")
    return root


def git_url(source: Source) -> str | None:
    """The git URL a remote source names (abbreviations expanded); None for any other kind."""
    from cookiecutter import repository, vcs

    url = repository.expand_abbreviations(source.location, _abbreviations())
    if repository.is_zip_file(url) or not repository.is_repo_url(url):
        return None
    try:
        kind = vcs.identify_repo(url)[0]
    except Exception:  # UnknownRepoType: a plain URL is taken for git, as _clone does
        kind = "git"
    return url.removeprefix("git+") if kind == "git" else None


def _abbreviations() -> dict:
    from cookiecutter import exceptions
    from cookiecutter.config import get_user_config

    try:
        return get_user_config().get("abbreviations") or {}
    except exceptions.CookiecutterException as exc:
        raise FetchError(f"cookiecutter config: {exc}") from None


def _fetch(source: Source) -> tuple[Path, str, str | None]:
    """(local folder, URL or path fetched, git commit) for a remote or zip source."""
    from cookiecutter import exceptions, repository
    from cookiecutter.config import get_user_config

    try:
        settings = get_user_config()
    except exceptions.CookiecutterException as exc:
        raise FetchError(f"cookiecutter config: {exc}") from None
    abbreviations = settings.get("abbreviations") or {}
    url = repository.expand_abbreviations(source.location, abbreviations)
    cache = Path(settings["cookiecutters_dir"]).expanduser() / "sidecar-new"
    key = hashlib.sha256(f"{url}\0{source.checkout or ''}".encode()).hexdigest()[:16]
    try:
        if repository.is_zip_file(url):
            return _unzip(url, source, cache / "zips" / key), url, None
        if repository.is_repo_url(url):
            return _clone(url, source, cache / key)
    except exceptions.CookiecutterException as exc:
        raise FetchError(f"{source.field}: cannot fetch {url}: {_one_line(str(exc))}") from None
    except subprocess.CalledProcessError as exc:
        output = exc.output.decode(errors="replace") if isinstance(exc.output, bytes) else str(exc.output)
        raise FetchError(f"{source.field}: cannot fetch {url}: {_last_error(output)}") from None
    except OSError as exc:
        raise FetchError(f"{source.field}: cannot fetch {url}: {exc.strerror or exc}") from None
    known = ", ".join(f"{name}:" for name in sorted(abbreviations)) or "none"
    raise FetchError(f"{source.field}: {source.location!r} is not a catalog folder, a git or hg URL, "
                     f"a .zip file or an abbreviation (known: {known})")


def _clone(url: str, source: Source, clone_to: Path) -> tuple[Path, str, str | None]:
    from cookiecutter import vcs

    try:
        kind = vcs.identify_repo(url)[0]
    except Exception:  # UnknownRepoType: file:///srv/catalog, https://code.example.com/catalog
        kind = "git"
    shown = url.removeprefix(f"{kind}+")
    if kind == "git":
        from generator.catalog import gitcache

        folder, commit = gitcache.checkout(shown, source.commit or source.checkout,
                                           offline=source.offline, field=source.field)
        return folder, shown, commit
    if source.offline:
        raise FetchError(f"--offline: {shown} is an hg repository; only git and zip catalogs are cached")
    # no_input: a clone left from an earlier run is replaced without the "re-download?" prompt.
    return Path(vcs.clone(url, checkout=source.commit or source.checkout, clone_to_dir=clone_to,
                          no_input=True)), shown, None


def _unzip(url: str, source: Source, keep_in: Path) -> Path:
    from cookiecutter import repository, zipfile

    if source.checkout:
        raise FetchError(f"--checkout: {url} is a zip file; --checkout is for git and hg sources")
    is_url = repository.is_repo_url(url)
    if not is_url and not Path(url).expanduser().is_file():
        raise FetchError(f"{source.field}: {url}: no such zip file")
    # Downloaded here rather than by cookiecutter, so the download is bounded too; then the
    # zip is checked before cookiecutter unpacks it.
    local = _download(url, keep_in / "download", source.field, source.offline) if is_url else Path(url).expanduser()
    check_zip(local, source.field)
    # cookiecutter unpacks into a fresh temporary folder; keep the result in the cache so
    # template folders (and hooks) stay where `show` and the hook runner say they are.
    unpacked = Path(zipfile.unzip(str(local), is_url=False, clone_to_dir=keep_in / "download",
                                  no_input=True))
    target = keep_in / unpacked.name
    shutil.rmtree(target, ignore_errors=True)
    shutil.move(str(unpacked), target)
    shutil.rmtree(unpacked.parent, ignore_errors=True)
    return target


# A catalog is a few dozen small text files: bounds far above that, far below a zip bomb.
ZIP_MAX_BYTES = 64 * 2**20
ZIP_MAX_ENTRIES = 10_000
ZIP_MAX_RATIO = 100  # unpacked / packed, past the first MiB


def _download(url: str, folder: Path, field: str, offline: bool = False) -> Path:
    path = folder / (url.rstrip("/").rsplit("/", 1)[-1] or "catalog.zip")
    if offline:
        if not path.is_file():
            raise FetchError(f"--offline: {url} was never downloaded to the cache ({folder}); run "
                             "once without --offline")
        return path
    import requests  # cookiecutter's own dependency, loaded with it

    folder.mkdir(parents=True, exist_ok=True)
    received = 0
    with requests.get(url, stream=True, timeout=100) as response, open(path, "wb") as out:
        response.raise_for_status()
        for chunk in response.iter_content(chunk_size=1 << 16):
            received += len(chunk)
            if received > ZIP_MAX_BYTES:
                out.close()
                path.unlink()
                raise FetchError(f"{field}: {url}: larger than the limit of {ZIP_MAX_BYTES // 2**20} MiB")
            out.write(chunk)
    return path


def check_zip(path: Path, field: str) -> None:
    """Refuse a zip before unpacking it when it would unpack past the bounds (the sizes come
    from its directory; Python's zipfile never writes more than those), or holds more than one
    top-level folder (cookiecutter would take the first and drop the rest silently)."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as bundle:
            entries = bundle.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise FetchError(f"{field}: {path}: not a readable zip file ({exc})") from None
    unpacked = sum(e.file_size for e in entries)
    packed = max(1, sum(e.compress_size for e in entries))
    if len(entries) > ZIP_MAX_ENTRIES:
        raise FetchError(f"{field}: {path}: {len(entries)} entries, more than the limit of {ZIP_MAX_ENTRIES}")
    if unpacked > ZIP_MAX_BYTES:
        raise FetchError(f"{field}: {path}: unpacks to {unpacked // 2**20} MiB, more than the limit of "
                         f"{ZIP_MAX_BYTES // 2**20} MiB")
    if unpacked > 2**20 and unpacked / packed > ZIP_MAX_RATIO:
        raise FetchError(f"{field}: {path}: unpacks {unpacked // packed}-fold, more than the limit of "
                         f"{ZIP_MAX_RATIO}-fold (a zip bomb?)")
    tops = sorted({e.filename.lstrip("/").split("/", 1)[0] for e in entries if e.filename.strip("/")})
    if len(tops) > 1:
        raise FetchError(f"{field}: {path}: {len(tops)} top-level entries ({', '.join(tops[:3])}"
                         f"{', ...' if len(tops) > 3 else ''}); a catalog zip holds one folder")


@contextmanager
def _quiet_noninteractive() -> Iterator[None]:
    """Fetching never prompts (git asks for credentials on a terminal; ssh for host keys and
    passwords) and cookiecutter's logger does not print tracebacks of failed clones."""
    import logging

    logger = logging.getLogger("cookiecutter")
    saved_env = {k: os.environ.get(k) for k in ("GIT_TERMINAL_PROMPT", "GIT_SSH_COMMAND")}
    saved_log = (logger.propagate, list(logger.handlers))
    os.environ["GIT_TERMINAL_PROMPT"] = "0"
    os.environ.setdefault("GIT_SSH_COMMAND", "ssh -o BatchMode=yes")
    logger.propagate = False
    logger.handlers = [logging.NullHandler()]
    try:
        yield
    finally:
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        logger.propagate, logger.handlers = saved_log


def _last_error(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if line.lower().startswith(("fatal:", "error:", "abort:"))]
    return (errors or lines[-1:] or ["failed"])[0]  # git's first fatal line names the cause


def _one_line(text: str) -> str:
    return " ".join(text.split())
