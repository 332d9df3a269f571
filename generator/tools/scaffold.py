"""`sidecar-new catalog new`: a new template folder and its catalog.yaml entry, written so
that `sidecar-new catalog lint` passes as generated, with TODO comments where to fill in."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import textwrap
from pathlib import Path

import yaml

from generator import rules
from generator.errors import CatalogError

# Ports the new template listens on by default: the first free ones from here, so a fresh
# template never fights an existing one (or the app's default 8080).
_FIRST_PORT = 9400
_CAPABILITY = re.compile(r"[a-z][a-z0-9-]{0,30}")

CATALOG_HEADER = """\
# A sidecar-new team catalog: the index of your vetted sidecar templates.
# Each entry points at a folder with sidecar.yaml (the definition) and files/ (config files).
# Check it with: sidecar-new catalog lint {folder}
name: {name}
version: "0.1.0"
templates:
"""

# The image a new entry starts with; `catalog lint` warns while it is still there.
PLACEHOLDER_IMAGE = "registry.example.com/platform/{name}:0.1.0"

ENTRY = """\
  - name: {name}
    capability: {capability}
    summary: TODO one line on what {name} does for the app
    # TODO: your image, pinned to an exact tag or @sha256 digest (never :latest).
    image: """ + PLACEHOLDER_IMAGE + """
    path: templates/{name}
"""

DEFINITION = """\
# {name}: a {capability} sidecar. Fill in the TODOs, then: sidecar-new catalog lint {catalog}
# Strings may use {{{{ param }}}} and {{{{ app.name }}}}, {{{{ app.port }}}}, {{{{ app.log_dir }}}}, ...
# See `sidecar-new show envoy` (or templates/ of the built-in catalog) for complete examples.
params:
  port:
    type: port
    default: {port}
    help: TODO what listens on this port (probes use it)
# TODO: the image's own non-root uid (>= 10000), so the hardened securityContext fits it.
run_as: 10001
# TODO: the command and arguments, if the image's entrypoint needs any.
args: [--config=/etc/{name}/config.yaml]
ports:
  - {{name: {port_name}, port: "{{{{ port }}}}"}}
# Config files in files/ (Jinja when .j2) are mounted read-only here.
config_dir: /etc/{name}
probes:
  # TODO: the image's health endpoints (use no `path` for a TCP check).
  readiness: {{port: "{{{{ port }}}}", path: /ready, period: 10}}
  liveness: {{port: "{{{{ port }}}}", path: /healthz, period: 20}}
# Compose healthchecks need a command that exists in the image; without one, Compose waits
# for service_started. TODO, if the image has wget or curl:
# compose_healthcheck: [wget, -q, --spider, "http://127.0.0.1:{{{{ port }}}}/healthz"]
# TODO: size these from a load test; every container needs cpu and memory requests and limits.
resources:
  requests: {{cpu: 20m, memory: 32Mi, ephemeral-storage: 8Mi}}
  limits: {{cpu: 200m, memory: 128Mi, ephemeral-storage: 32Mi}}
"""

CONFIG_FILE = """\
# {name}'s config file, rendered with Jinja (values are written as JSON, so they stay valid YAML).
# TODO: replace with the real configuration.
listen_port: {{{{ port }}}}
app: {{{{ app.name }}}}
"""


def scaffold(root: Path, name: str, capability: str) -> list[Path]:
    """Create templates/<name>/ and add its entry to root/catalog.yaml (created if missing);
    return the files written. Nothing is written when a check fails."""
    try:
        rules.dns_label("NAME", name)
    except rules.RuleError as exc:
        raise CatalogError(exc.message) from None
    if not _CAPABILITY.fullmatch(capability):
        raise CatalogError(f"--capability: {capability!r} must be a short lower-case word such as "
                           "logging, proxy or metrics")
    if root.exists() and not root.is_dir():
        raise CatalogError(f"--catalog: {root} is not a folder")
    index = root / "catalog.yaml"
    folder = root / "templates" / name
    port = _free_port(root, name) if index.is_file() else _FIRST_PORT
    if folder.exists():
        raise CatalogError(f"{folder}: already exists")
    text = index.read_text(encoding="utf-8") if index.is_file() else \
        CATALOG_HEADER.format(name=_catalog_name(root), folder=root)
    updated = add_entry(text, index, ENTRY.format(name=name, capability=capability))
    files = {folder / "sidecar.yaml": DEFINITION.format(name=name, capability=capability, port=port,
                                                         catalog=root, port_name=_port_name(name)),
             folder / "files" / "config.yaml.j2": CONFIG_FILE.format(name=name)}
    try:
        for path, content in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8")
        _replace(index, updated)  # last: catalog.yaml never lists a half-written folder
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return [*files, index]


def add_entry(text: str, index: Path, entry: str) -> str:
    """catalog.yaml text with `entry` appended to its block-style templates: list, comments kept."""
    try:
        document = yaml.compose(text)
    except yaml.YAMLError as exc:
        raise CatalogError(f"{index}: invalid YAML, fix it before adding a template ({exc})") from None
    templates = None
    if isinstance(document, yaml.MappingNode):
        templates = next((v for k, v in document.value if k.value == "templates"), None)
    if templates is None or (isinstance(templates, yaml.ScalarNode) and templates.value == ""):
        return text.rstrip("\n") + ("\n" if text.strip() else "") + \
            ("templates:\n" if templates is None else "") + entry
    if not isinstance(templates, yaml.SequenceNode) or templates.flow_style:
        raise CatalogError(f"{index}: templates: add the entry by hand (sidecar-new appends only to a "
                           "block list of `- name: ...` entries)")
    indent = templates.value[0].start_mark.column - 2 if templates.value else 2
    lines = text.splitlines(keepends=True)
    # The list ends where the next top-level key (or the end of the file) starts.
    mark = templates.end_mark
    end = mark.line if mark.column == 0 and mark.line < len(lines) else len(lines)
    while end > 0 and not lines[end - 1].strip():
        end -= 1
    if lines and end and not lines[end - 1].endswith("\n"):
        lines[end - 1] += "\n"
    shifted = "".join(" " * indent + line if line.strip() else line
                      for line in textwrap.dedent(entry).splitlines(keepends=True))
    updated = "".join(lines[:end]) + shifted + "".join(lines[end:])
    try:  # the old entries unchanged and the new one last, or nothing is written
        safe = yaml.safe_load(updated)["templates"] == [*yaml.safe_load(text)["templates"],
                                                        *yaml.safe_load(textwrap.dedent(entry))]
    except (yaml.YAMLError, TypeError, KeyError):
        safe = False
    if not safe:
        raise CatalogError(f"{index}: templates: could not append the entry safely; add it by hand")
    return updated


def _port_name(name: str) -> str:
    """A Kubernetes port name (IANA_SVC_NAME): at most 15 of [a-z0-9-], a letter, no '--'."""
    base = re.sub("-+", "-", name)[:15].strip("-")
    return base if re.search("[a-z]", base) else f"p{base[:14]}".rstrip("-")


def _free_port(root: Path, name: str) -> int:
    from generator.catalog.loader import load_catalog
    from generator.tools.lint_render import sample_params
    from generator.input.ports import claims_of
    from generator.input.spec import SAMPLE_APP, App, template_context

    from generator.yamlio import load_file

    raw = load_file(root / "catalog.yaml", CatalogError)
    if isinstance(raw, dict) and not raw.get("templates"):
        return _FIRST_PORT  # the first template: nothing to collide with (load_catalog wants one)
    try:
        catalog = load_catalog(root, source=str(root))
    except CatalogError as exc:
        raise CatalogError(f"{exc.message} (fix the catalog before adding a template)") from None
    if any(t.name == name for t in catalog.templates):
        raise CatalogError(f"NAME: {name!r} is already in {root / 'catalog.yaml'}")
    app = App(**SAMPLE_APP)
    taken = {app.port}
    for template in catalog.templates:
        params = {**{p.name: p.default for p in template.params if not p.required}, **sample_params(template)}
        taken |= {claim.number for claim in claims_of(template, template_context(app, params))}
    return next(port for port in range(_FIRST_PORT, 65536) if port not in taken)


def _catalog_name(root: Path) -> str:
    name = re.sub(r"[^a-z0-9-]+", "-", root.resolve().name.lower()).strip("-")
    return name[:63].strip("-") or "team"


def _replace(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, staged = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        # mkstemp makes it 0600: keep the mode catalog.yaml had, or a new file's usual one.
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(staged, path.stat().st_mode & 0o7777 if path.exists() else 0o666 & ~mask)
        os.replace(staged, path)
    except BaseException:
        Path(staged).unlink(missing_ok=True)
        raise
