"""The template schema, in one place: sidecar.yaml parsed into frozen, typed definitions
whose strings may still hold {{ }}, every problem written with its line into one Report.

Two passes share the rules: `parse_definition` checks the shape (mappings, lists, keys)
and builds the typed definition, then `value_problems` checks every value. At load a value
that holds {{ }} is skipped; once the pod has expanded the definition, `check_expanded`
runs the same value rules on everything. A port's number is a number or a plain reference
to a port parameter (or app.port), so the request stage claims ports without rendering.
Every rule has a name and an example that breaks it in RULES (tests/test_schema_rules.py
renders each through `catalog lint` and `new`, which must say the same thing).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping

from generator import rules
from generator.catalog.lines import Report, line_of
from generator.errors import CatalogError

PARAM_TYPES = ("str", "int", "bool", "port", "path", "host")
PARAM_KEYS = ("type", "default", "help", "choices", "advanced")
DEFINITION_KEYS = ("params", "run_as", "needs", "fronts_app", "command", "args", "env", "app_env",
                   "ports", "volumes", "mounts", "config_dir", "probes", "compose_healthcheck",
                   "resources", "pre_stop_sleep", "secrets", "service_account_token", "before_app")
REQUIRED_DEFINITION_KEYS = ("ports", "probes", "resources")
PORT_KEYS = ("name", "port", "protocol", "public", "scrape_path")
PROBE_KINDS = ("startup", "readiness", "liveness")
PROBE_KEYS = ("port", "path", "period", "timeout", "failures", "initial_delay", "command")
_PROBE_TIMING = ("period", "timeout", "failures", "initial_delay")
VOLUME_KEYS = ("name", "path", "size", "memory", "app_path")
SECRET_KEYS = ("name", "secret", "path", "keys", "mode")
TOKEN_KEYS = ("path", "audience", "expiration")
BEFORE_APP_KEYS = ("args",)
RESOURCE_KEYS = ("cpu", "memory", "ephemeral-storage")
NEEDS = ("log_dir", "metrics_path")  # optional app fields a template may require
APP_PORT_KEYS = ("port",)  # the app values a template's port may name, as app.<key>
# Defaults, the one place for them: what a definition that leaves a key out gets.
DEFAULT_RUN_AS = 10001
DEFAULT_VOLUME_SIZE = "64Mi"
PROBE_PERIOD, PROBE_TIMEOUT, PROBE_FAILURES, PROBE_DELAY = 10, 2, 3, 0
MAX_PRE_STOP_SLEEP = 300
DEFAULT_SECRET_MODE = 0o440  # owner and the pod's group (fsGroup) read; nobody else
# A projected token's lifetime: the API server refuses under 10 minutes; kubelet renews it at
# 80% of its life. A day at most: a token that outlives a leak is the thing to avoid.
TOKEN_EXPIRATION, MIN_TOKEN_EXPIRATION, MAX_TOKEN_EXPIRATION = 3600, 600, 86400
_NO_DEFAULT = object()
_REFERENCE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?)\s*\}\}")


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    type: str
    help: str
    default: Any = _NO_DEFAULT
    choices: tuple = ()
    advanced: bool = False

    @property
    def required(self) -> bool:
        return self.default is _NO_DEFAULT


@dataclass(frozen=True, slots=True)
class Ref:
    """`{{ path }}`: a template parameter, or `app.<key>`, looked up in the render context."""

    path: str

    def resolve(self, context: Mapping[str, Any]) -> Any:
        value: Any = context
        for name in self.path.split("."):
            value = value[name]
        return value

    @property
    def param(self) -> str | None:
        """The template parameter it names; None for an app value."""
        return None if "." in self.path else self.path

    def __str__(self) -> str:
        return "{{ " + self.path + " }}"


@dataclass(frozen=True, slots=True)
class PortDef:
    name: str
    number: int | Ref
    protocol: str = "TCP"
    public: bool = False
    scrape_path: Any = None

    def resolve(self, context: Mapping[str, Any]) -> int:
        return self.number.resolve(context) if isinstance(self.number, Ref) else self.number


@dataclass(frozen=True, slots=True)
class VolumeDef:
    """Scratch space of the sidecar's own (an emptyDir / tmpfs)."""

    name: str
    path: Any
    size: Any = DEFAULT_VOLUME_SIZE
    memory: Any = False  # in memory (emptyDir medium Memory): counted against the memory limit
    app_path: Any = None  # the app mounts it read-only here (a sidecar that writes what the app reads)


@dataclass(frozen=True, slots=True)
class SecretDef:
    """Keys of a Kubernetes Secret as files (Compose: secret files the user supplies)."""

    name: str
    secret: Any  # the Secret's name (usually a parameter): never its values
    path: Any
    keys: tuple[Any, ...]
    mode: Any = DEFAULT_SECRET_MODE


@dataclass(frozen=True, slots=True)
class TokenDef:
    """A projected service-account token for this container only (Compose: a token file)."""

    path: Any
    audience: Any
    expiration: Any = TOKEN_EXPIRATION


@dataclass(frozen=True, slots=True)
class BeforeAppDef:
    """A first step the app waits for: its one-shot form (args) for an init container below
    Kubernetes 1.29 and a one-shot Compose service; 1.29+ waits on the startup probe."""

    args: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class MountDef:
    """A volume of the pod's (the app's logs, another sidecar's) mounted here."""

    volume: Any
    path: Any
    read_only: Any = False


@dataclass(frozen=True, slots=True)
class ProbeDef:
    port: int | Ref | None = None  # None: an exec probe (command)
    path: Any = None  # None: a TCP check
    command: tuple[Any, ...] = ()  # exec form, in the container's own image
    period: Any = PROBE_PERIOD
    timeout: Any = PROBE_TIMEOUT
    failures: Any = PROBE_FAILURES
    initial_delay: Any = PROBE_DELAY


@dataclass(frozen=True, slots=True)
class Definition:
    params: tuple[Param, ...] = ()
    run_as: Any = DEFAULT_RUN_AS
    needs: tuple[str, ...] = ()
    fronts_app: Any = False
    command: tuple[Any, ...] = ()
    args: tuple[Any, ...] = ()
    env: tuple[tuple[str, Any], ...] = ()
    app_env: tuple[tuple[str, Any], ...] = ()
    ports: tuple[PortDef, ...] = ()
    volumes: tuple[VolumeDef, ...] = ()
    mounts: tuple[MountDef, ...] = ()
    config_dir: Any = None
    probes: tuple[tuple[str, ProbeDef], ...] = ()  # (startup|readiness|liveness, probe)
    compose_healthcheck: tuple[Any, ...] = ()
    requests: tuple[tuple[str, Any], ...] = ()
    limits: tuple[tuple[str, Any], ...] = ()
    pre_stop_sleep: Any = 0
    secrets: tuple[SecretDef, ...] = ()
    service_account_token: TokenDef | None = None
    before_app: BeforeAppDef | None = None

    def probe(self, kind: str) -> ProbeDef | None:
        return dict(self.probes).get(kind)


class Checker:
    """Shape checks on one file; each reports and returns whether the value is good."""

    def __init__(self, path: Path, report: Report) -> None:
        self.path, self.report, self.count = path, report, 0

    def bad(self, node: Any, key: Any, where: str, problem: str) -> bool:
        self.count += 1
        self.report.add(self.path, line_of(node, key), where, problem)
        return False

    def mapping(self, value: Any, node: Any, key: Any, where: str, allowed: tuple = (),
                required: tuple = ()) -> bool:
        if not isinstance(value, dict):
            return self.bad(node, key, where, "must be a mapping")
        good = True
        for unknown in [k for k in value if allowed and k not in allowed]:
            good = self.bad(value, unknown, f"{where}.{unknown}".lstrip("."),
                            f"unknown key (allowed: {', '.join(allowed)})")
        for missing in [k for k in required if value.get(k) is None]:
            # Point at the key that holds this mapping ("probes:"), or its first line at the top.
            good = self.bad(*((node, key) if key is not None else (value, None)),
                            f"{where}.{missing}".lstrip("."), "is required")
        return good

    def items(self, d: dict, key: str) -> list:
        value = d.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.bad(d, key, key, "must be a list")
            return []
        return value

    def rule(self, check: Any, value: Any, node: Any, key: Any, where: str) -> bool:
        """A rules.py rule on a literal value (its message names `where`)."""
        try:
            check(where, value)
        except rules.RuleError as exc:
            return self.bad(node, key, "", exc.message)
        return True


# --- pass one: the shape, into typed definitions ---------------------------------------

def parse_definition(data: Any, files: list[str], check: Checker) -> Definition | None:
    """sidecar.yaml (with lines) -> Definition; None if its shape is wrong (reported)."""
    if not check.mapping(data, data, None, "", DEFINITION_KEYS, REQUIRED_DEFINITION_KEYS):
        return None
    lines: dict[str, int | None] = {}

    def leaf(node: Any, key: Any, where: str) -> Any:
        lines[where] = line_of(node, key)
        return node[key]

    d = data
    params = _params(check, d.get("params"), d)
    port_params = {p.name for p in params if p.type == "port"}
    needs = check.items(d, "needs")
    for need in needs:
        if need not in NEEDS:
            check.bad(d, "needs", "needs", f"{need!r} is not an optional app field ({', '.join(NEEDS)})")
    lists = {key: tuple(leaf(d[key], i, f"{key}[{i}]") for i in range(len(check.items(d, key))))
             for key in ("command", "args", "compose_healthcheck")}
    envs = {key: _env(check, d, key, leaf) for key in ("env", "app_env")}
    if files and d.get("config_dir") is None:
        check.bad(d, None, "config_dir", f"is required: files/ has {', '.join(files)} to mount")
    ports, volumes = _ports(check, d, port_params, leaf), _volumes(check, d, leaf)
    mounts, probes = _mounts(check, d, leaf), _probes(check, d, port_params, leaf)
    requests, limits = _resources(check, d, leaf)
    secrets, token, before_app = _secrets(check, d, leaf), _token(check, d, leaf), _before_app(check, d, leaf)
    if before_app is not None and not any(kind == "startup" for kind, _ in probes):
        check.bad(d, "before_app", "before_app", "needs probes.startup: on Kubernetes 1.29+ the app starts "
                                                 "once that probe passes (say when the first step is done)")
    definition = Definition(
        params=params, run_as=leaf(d, "run_as", "run_as") if "run_as" in d else DEFAULT_RUN_AS,
        needs=tuple(n for n in needs if n in NEEDS),
        fronts_app=leaf(d, "fronts_app", "fronts_app") if "fronts_app" in d else False,
        command=lists["command"], args=lists["args"], compose_healthcheck=lists["compose_healthcheck"],
        env=envs["env"], app_env=envs["app_env"],
        ports=ports, volumes=volumes, mounts=mounts,
        config_dir=leaf(d, "config_dir", "config_dir") if d.get("config_dir") is not None else None,
        probes=probes, requests=requests, limits=limits,
        pre_stop_sleep=leaf(d, "pre_stop_sleep", "pre_stop_sleep") if "pre_stop_sleep" in d else 0,
        secrets=secrets, service_account_token=token, before_app=before_app,
    )
    for field, problem in value_problems(definition, at_load=True):
        check.bad(_At(lines.get(field) or data.line), None, "", problem)
    return None if check.count else definition


class _At:
    """A line to report at, where the node itself is gone (a value in a typed definition)."""

    def __init__(self, line: int | None) -> None:
        self.line = line


def _env(check: Checker, d: dict, key: str, leaf) -> tuple[tuple[str, Any], ...]:
    env = d.get(key)
    if env is None or not check.mapping(env, d, key, key):
        return ()
    return tuple((name, leaf(env, name, f"{key}.{name}")) for name in env)


def _params(check: Checker, params: Any, d: dict) -> tuple[Param, ...]:
    if params is None or not check.mapping(params, d, "params", "params"):
        return ()
    found = []
    for name, spec in params.items():
        where = f"params.{name}"
        if not isinstance(name, str) or not name.isidentifier() or name == "app":
            check.bad(params, name, where, "parameter names must be identifiers, not 'app'")
        if not check.mapping(spec, params, name, where, PARAM_KEYS):
            continue
        kind = spec.get("type", "str")
        if kind not in PARAM_TYPES:
            check.bad(spec, "type", f"{where}.type", f"{kind!r} is not one of {', '.join(PARAM_TYPES)}")
            continue
        if not isinstance(spec.get("help"), str) or not spec["help"].strip():
            check.bad(spec, "help" if "help" in spec else None, f"{where}.help",
                      "is required: the wizard and `show` print it")
        choices = spec.get("choices") or []
        if not isinstance(choices, list):
            check.bad(spec, "choices", f"{where}.choices", "must be a list")
            choices = []
        if "advanced" in spec and not isinstance(spec["advanced"], bool):
            check.bad(spec, "advanced", f"{where}.advanced", f"must be true or false, not {spec['advanced']!r}")
        if "default" in spec:
            check.rule(lambda f, v: rules.param_value(f, kind, v, tuple(choices)),
                       spec["default"], spec, "default", f"{where}.default")
        found.append(Param(name=str(name), type=kind, help=str(spec.get("help", "")),
                           default=spec.get("default", _NO_DEFAULT), choices=tuple(choices),
                           advanced=spec.get("advanced") is True))
    return tuple(found)


def _ports(check: Checker, d: dict, port_params: set[str], leaf) -> tuple[PortDef, ...]:
    ports = d["ports"]
    # A sidecar nothing connects to (Vault Agent) may say `ports: []` when all its probes run
    # commands; every other probe needs a port of the container's own.
    probes = d.get("probes") if isinstance(d.get("probes"), dict) else {}
    exec_only = bool(probes) and all(isinstance(p, dict) and "command" in p for p in probes.values())
    if not isinstance(ports, list) or not ports and not exec_only:
        check.bad(d, "ports", "ports", "must be a non-empty list (probes need a port; only a template whose "
                                       "probes all run commands may say ports: [])")
        return ()
    found, names = [], set()
    for i, port in enumerate(ports):
        where = f"ports[{i}]"
        if not check.mapping(port, ports, i, where, PORT_KEYS, ("name", "port")):
            continue
        name = port["name"]
        # Literal: the port ledger and its messages name a port before anything is rendered.
        if not isinstance(name, str) or len(name) > 15 or not rules.is_port_name(name):
            check.bad(port, "name", f"{where}.name", f"{name!r} must be at most 15 characters of "
                      "[a-z0-9-] with a letter (a Kubernetes port name)")
        elif name in names:
            check.bad(port, "name", f"{where}.name", f"{name!r} is given to two ports")
        names.add(name)
        number = _number(check, port, "port", f"{where}.port", port_params)
        if port.get("protocol", "TCP") not in ("TCP", "UDP"):
            check.bad(port, "protocol", f"{where}.protocol", "must be TCP or UDP")
        found.append(PortDef(
            name=name, number=number, protocol=port.get("protocol", "TCP"),
            public=leaf(port, "public", f"{where}.public") if "public" in port else False,
            scrape_path=leaf(port, "scrape_path", f"{where}.scrape_path") if "scrape_path" in port else None))
    return tuple(found)


def _number(check: Checker, node: dict, key: str, where: str, port_params: set[str]) -> int | Ref:
    try:
        return port_number(node[key], port_params)
    except ValueError as exc:
        check.bad(node, key, where, str(exc))
        return 0


def port_number(value: Any, port_params: set[str]) -> int | Ref:
    """A port's number as written in sidecar.yaml, or ValueError with the reason (one line)."""
    if isinstance(value, str):
        match = _REFERENCE.fullmatch(value.strip())
        if not match:
            raise ValueError(f"{value!r} must be a number or a plain parameter reference such as "
                             "'{{ listen_port }}' (ports take no other Jinja)")
        ref = Ref(match[1])
        if ref.param is None and ref.path.removeprefix("app.") not in APP_PORT_KEYS:
            raise ValueError(f"{value!r} names no app port (app.port is the one)")
        if ref.param is not None and ref.param not in port_params:
            known = ", ".join(sorted(port_params)) or "none"
            raise ValueError(f"{value!r} names no port parameter of this template (type: port; "
                             f"known: {known})")
        return ref
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise ValueError(f"{value!r} is not a port (a whole number from 1 to 65535)")
    return value


def _optional(node: dict, key: str, where: str, leaf, default: Any) -> Any:
    return leaf(node, key, f"{where}.{key}") if key in node else default


def _volumes(check: Checker, d: dict, leaf) -> tuple[VolumeDef, ...]:
    found = []
    for i, volume in enumerate(check.items(d, "volumes")):
        where = f"volumes[{i}]"
        if check.mapping(volume, d["volumes"], i, where, VOLUME_KEYS, ("name", "path")):
            found.append(VolumeDef(leaf(volume, "name", f"{where}.name"), leaf(volume, "path", f"{where}.path"),
                                   _optional(volume, "size", where, leaf, DEFAULT_VOLUME_SIZE),
                                   _optional(volume, "memory", where, leaf, False),
                                   _optional(volume, "app_path", where, leaf, None)))
    return tuple(found)


def _secrets(check: Checker, d: dict, leaf) -> tuple[SecretDef, ...]:
    found = []
    for i, secret in enumerate(check.items(d, "secrets")):
        where = f"secrets[{i}]"
        if not check.mapping(secret, d["secrets"], i, where, SECRET_KEYS, ("name", "secret", "path", "keys")):
            continue
        keys = secret["keys"]
        if not isinstance(keys, list) or not keys:
            check.bad(secret, "keys", f"{where}.keys", "must be a non-empty list of the Secret's keys to mount")
            continue
        found.append(SecretDef(leaf(secret, "name", f"{where}.name"), leaf(secret, "secret", f"{where}.secret"),
                               leaf(secret, "path", f"{where}.path"),
                               tuple(leaf(keys, k, f"{where}.keys[{k}]") for k in range(len(keys))),
                               _optional(secret, "mode", where, leaf, DEFAULT_SECRET_MODE)))
    return tuple(found)


def _token(check: Checker, d: dict, leaf) -> TokenDef | None:
    token, where = d.get("service_account_token"), "service_account_token"
    if token is None or not check.mapping(token, d, where, where, TOKEN_KEYS, ("path", "audience")):
        return None
    return TokenDef(leaf(token, "path", f"{where}.path"), leaf(token, "audience", f"{where}.audience"),
                    _optional(token, "expiration", where, leaf, TOKEN_EXPIRATION))


def _before_app(check: Checker, d: dict, leaf) -> BeforeAppDef | None:
    step, where = d.get("before_app"), "before_app"
    if step is None or not check.mapping(step, d, where, where, BEFORE_APP_KEYS, ("args",)):
        return None
    args = step["args"]
    if not isinstance(args, list) or not args:
        check.bad(step, "args", f"{where}.args", "must be a non-empty list: the one-shot form of the first step")
        return None
    return BeforeAppDef(tuple(leaf(args, k, f"{where}.args[{k}]") for k in range(len(args))))


def _mounts(check: Checker, d: dict, leaf) -> tuple[MountDef, ...]:
    found = []
    for i, mount in enumerate(check.items(d, "mounts")):
        where = f"mounts[{i}]"
        if check.mapping(mount, d["mounts"], i, where, ("volume", "path", "read_only"), ("volume", "path")):
            found.append(MountDef(leaf(mount, "volume", f"{where}.volume"), leaf(mount, "path", f"{where}.path"),
                                  leaf(mount, "read_only", f"{where}.read_only") if "read_only" in mount
                                  else False))
    return tuple(found)


def _probes(check: Checker, d: dict, port_params: set[str], leaf) -> tuple[tuple[str, ProbeDef], ...]:
    probes = d["probes"]
    if not check.mapping(probes, d, "probes", "probes", PROBE_KINDS):
        return ()
    for kind in ("readiness", "liveness"):
        if probes.get(kind) is None:
            check.bad(d, "probes", f"probes.{kind}", "is required: a long-running container needs "
                                                      "readiness and liveness probes")
    found = []
    for kind, probe in probes.items():
        where = f"probes.{kind}"
        if probe is None or not check.mapping(probe, probes, kind, where, PROBE_KEYS):
            continue
        # A probe asks a port (HTTP when it has a path, else TCP) or runs a command in the image.
        if ("port" in probe) == ("command" in probe):
            check.bad(probes, kind, f"{where}.port", "is required (or command: an exec probe), not both")
            continue
        if "command" in probe and (not isinstance(probe["command"], list) or not probe["command"]
                                   or "path" in probe):
            check.bad(probe, "command", f"{where}.command", "must be a non-empty list (exec form), without path")
            continue
        timing = {key: leaf(probe, key, f"{where}.{key}") for key in _PROBE_TIMING if key in probe}
        command = probe.get("command") or []
        found.append((kind, ProbeDef(
            port=_number(check, probe, "port", f"{where}.port", port_params) if "port" in probe else None,
            path=leaf(probe, "path", f"{where}.path") if "path" in probe else None,
            command=tuple(leaf(command, k, f"{where}.command[{k}]") for k in range(len(command))), **timing)))
    return tuple(found)


def _resources(check: Checker, d: dict, leaf) -> tuple[tuple, tuple]:
    resources = d["resources"]
    if not check.mapping(resources, d, "resources", "resources", ("requests", "limits")):
        return (), ()
    parts = []
    for part in ("requests", "limits"):
        values, where = resources.get(part), f"resources.{part}"
        if values is None:
            check.bad(d, "resources", where, "is required: every container needs cpu and memory "
                                              "requests and limits")
        elif check.mapping(values, resources, part, where, RESOURCE_KEYS):
            for key in ("cpu", "memory"):
                if values.get(key) is None:
                    check.bad(resources, part, f"{where}.{key}", "is required: every container needs "
                                                                "cpu and memory requests and limits")
            parts.append(tuple((key, leaf(values, key, f"{where}.{key}")) for key in values))
            continue
        parts.append(())
    return parts[0], parts[1]


# --- pass two: the values, at load (skipping {{ }}) and again once expanded ------------------

def _expr(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def value_problems(d: Definition, at_load: bool = False) -> Iterator[tuple[str, str]]:
    """(field, `field: problem`) for every value that breaks a rule; at load, values holding
    {{ }} are left for check_expanded."""
    def bad(field: str, value: Any, problem: str | None) -> Iterator[tuple[str, str]]:
        if problem and not (at_load and _expr(value)):
            yield field, f"{field}: {problem}"

    def kind(value: Any, kinds: tuple[type, ...], name: str) -> str | None:
        good = isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)
        return None if good else f"must be {name}, not {value!r}"

    def rule(check: Any, field: str, value: Any) -> Iterator[tuple[str, str]]:
        if not (at_load and _expr(value)):
            try:
                check(field, value)
            except rules.RuleError as exc:
                yield field, exc.message

    uid = kind(d.run_as, (int,), "a uid")
    yield from bad("run_as", d.run_as, uid) if uid else rule(rules.uid, "run_as", d.run_as)
    yield from bad("fronts_app", d.fronts_app, kind(d.fronts_app, (bool,), "true or false"))
    for key in ("command", "args", "compose_healthcheck"):
        for i, item in enumerate(getattr(d, key)):
            yield from bad(f"{key}[{i}]", item, kind(item, (str, int, float), "a string"))
    for key in ("env", "app_env"):
        for name, value in getattr(d, key):
            if not isinstance(name, str) or not rules.is_env_name(name):
                yield f"{key}.{name}", f"{key}.{name}: is not an environment variable name"
            elif key == "env" and isinstance(value, dict):
                # A Secret or ConfigMap key ({secret: "{{ credentials }}/client-secret"}): the
                # same reference the app's answers take, checked once its name is filled in.
                if not (at_load and any(_expr(v) for v in value.values())):
                    try:
                        rules.env_value(f"{key}.{name}", name, value)
                    except rules.RuleError as exc:
                        yield f"{key}.{name}", exc.message
            elif isinstance(value, (dict, list)):
                yield f"{key}.{name}", f"{key}.{name}: must be a plain value" + (
                    " or {secret: NAME/KEY}" if key == "env" else "")
            elif rules.looks_like_secret(name) and value not in (None, ""):
                yield f"{key}.{name}", (f"{key}.{name}: looks like a secret: keep secrets out of "
                                        "templates (use a Secret or a file the team mounts)")
    for i, port in enumerate(d.ports):
        if not isinstance(port.number, Ref):
            yield from rule(rules.port, f"ports[{i}].port", port.number)
        yield from bad(f"ports[{i}].public", port.public, kind(port.public, (bool,), "true or false"))
        if port.scrape_path is not None:
            yield from rule(rules.url_path, f"ports[{i}].scrape_path", port.scrape_path)
    paths: list[tuple[str, Any]] = []
    for i, volume in enumerate(d.volumes):
        yield from rule(rules.dns_label, f"volumes[{i}].name", volume.name)
        yield from rule(rules.directory, f"volumes[{i}].path", volume.path)
        yield from bad(f"volumes[{i}].size", volume.size, _memory(volume.size))
        paths.append((f"volumes[{i}].path", volume.path))
    for i, volume in enumerate(d.volumes):
        yield from bad(f"volumes[{i}].memory", volume.memory, kind(volume.memory, (bool,), "true or false"))
        if volume.app_path is not None:
            yield from rule(rules.directory, f"volumes[{i}].app_path", volume.app_path)
    names = [v.name for v in d.volumes]
    for i, secret in enumerate(d.secrets):
        field = f"secrets[{i}]"
        yield from rule(rules.dns_label, f"{field}.name", secret.name)
        if secret.name in names:
            yield f"{field}.name", f"{field}.name: {secret.name!r} names a volume already; volume names are one list"
        names.append(secret.name)
        yield from rule(rules.dns_label, f"{field}.secret", secret.secret)
        yield from rule(rules.directory, f"{field}.path", secret.path)
        for k, key in enumerate(secret.keys):
            yield from bad(f"{field}.keys[{k}]", key, None if isinstance(key, str) and rules.is_secret_key(key)
                           else f"{key!r} is not a Secret key ([-._a-zA-Z0-9], up to 253)")
        mode = kind(secret.mode, (int,), "a file mode such as 0440")
        if mode is None and not 0 <= secret.mode <= 0o777:
            mode = f"{secret.mode!r} is not a file mode (0 to 0777)"
        elif mode is None and secret.mode & 0o007:
            mode = f"{oct(secret.mode)} lets every user read the secret; keep it to owner and group (e.g. 0440)"
        yield from bad(f"{field}.mode", secret.mode, mode)
        paths.append((f"{field}.path", secret.path))
    token = d.service_account_token
    if token is not None:
        yield from rule(rules.directory, "service_account_token.path", token.path)
        yield from bad("service_account_token.audience", token.audience,
                       None if isinstance(token.audience, str) and token.audience.strip()
                       and rules.is_printable(token.audience) else "must be a non-empty string (whom the token is for)")
        expiry = kind(token.expiration, (int,), "a number of seconds")
        if expiry is None and not MIN_TOKEN_EXPIRATION <= token.expiration <= MAX_TOKEN_EXPIRATION:
            expiry = (f"must be from {MIN_TOKEN_EXPIRATION} (the API server's minimum) to "
                      f"{MAX_TOKEN_EXPIRATION} seconds")
        yield from bad("service_account_token.expiration", token.expiration, expiry)
        paths.append(("service_account_token.path", token.path))
    if d.before_app is not None:
        for i, item in enumerate(d.before_app.args):
            yield from bad(f"before_app.args[{i}]", item, kind(item, (str, int, float), "a string"))
    for i, mount in enumerate(d.mounts):
        yield from bad(f"mounts[{i}].volume", mount.volume, kind(mount.volume, (str,), "a volume name"))
        yield from rule(rules.directory, f"mounts[{i}].path", mount.path)
        yield from bad(f"mounts[{i}].read_only", mount.read_only, kind(mount.read_only, (bool,), "true or false"))
        paths.append((f"mounts[{i}].path", mount.path))
    if d.config_dir is not None:
        yield from rule(rules.directory, "config_dir", d.config_dir)
        paths.append(("config_dir", d.config_dir))
    # Once expanded, two mounts at one path are the pod's to report: it knows whether the
    # app's log_dir (the user's answer) or the template put them there.
    seen = set()
    for field, path in paths if at_load else ():
        if isinstance(path, str) and not _expr(path):
            if path in seen:
                yield field, f"{field}: {path!r} is mounted twice in this container"
            seen.add(path)
    for kind_name, probe in d.probes:
        where = f"probes.{kind_name}"
        if probe.port is not None and not isinstance(probe.port, Ref):
            yield from rule(rules.port, f"{where}.port", probe.port)
        if probe.path is not None:
            yield from rule(rules.http_target, f"{where}.path", probe.path)
        for i, item in enumerate(probe.command):
            yield from bad(f"{where}.command[{i}]", item, kind(item, (str, int, float), "a string"))
        for key in _PROBE_TIMING:
            value = getattr(probe, key)
            problem = kind(value, (int,), "a whole number")
            if problem is None and value < (0 if key == "initial_delay" else 1):
                problem = "is too small"
            yield from bad(f"{where}.{key}", value, problem)
    for part, values in (("requests", d.requests), ("limits", d.limits)):
        for key, value in values:
            field = f"resources.{part}.{key}"
            found = list(rule(rules.quantity, field, str(value)))
            yield from found or bad(field, value, _memory(value) if key == "memory" else None)
    requests, limits = dict(d.requests), dict(d.limits)
    for key in ("cpu", "memory"):
        problem = rules.limit_problem(requests.get(key), limits.get(key))
        if problem:
            yield f"resources.limits.{key}", f"resources.limits.{key}: {problem}"
    sleep = kind(d.pre_stop_sleep, (int,), "a number of seconds")
    if sleep is None and not 0 <= d.pre_stop_sleep <= MAX_PRE_STOP_SLEEP:
        sleep = f"must be from 0 to {MAX_PRE_STOP_SLEEP} seconds"
    yield from bad("pre_stop_sleep", d.pre_stop_sleep, sleep)


def _memory(value: Any) -> str | None:
    """Memory and tmpfs sizes: what both Kubernetes and Compose read (bytes, Ki, Mi, Gi)."""
    return None if rules.is_memory(value) else f"{value!r} must be {rules.MEMORY_UNITS}, e.g. 64Mi"


def check_expanded(d: Definition, where: str) -> Definition:
    """The value rules once every {{ }} is filled in: the first problem as a CatalogError."""
    for _, problem in value_problems(d):
        raise CatalogError(f"{where}: {problem}")
    return d
