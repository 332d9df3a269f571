"""YAML that remembers its lines, and the schema of a template definition (sidecar.yaml),
for `sidecar-new catalog lint`: each problem is reported as FILE:LINE: field: problem."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from generator import rules
from generator.catalog.loader import PARAM_TYPES
from generator.catalog.schema import port_number
from generator.errors import SpecError

PARAM_KEYS = ("type", "default", "help", "choices", "advanced")
PORT_KEYS = ("name", "port", "protocol", "public", "scrape_path")
PROBE_KEYS = ("port", "path", "period", "timeout", "failures", "initial_delay")
RESOURCE_KEYS = ("cpu", "memory", "ephemeral-storage")
NEEDS = ("log_dir", "metrics_path")  # optional app fields a template may require
_SECRET = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY", re.I)
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class _Map(dict):
    """A YAML mapping that remembers its line and the line of each key."""


class _Seq(list):
    """A YAML sequence that remembers its line and the line of each item."""


class LineLoader(yaml.SafeLoader):
    pass


def _construct_map(loader: LineLoader, node: yaml.MappingNode) -> _Map:
    loader.flatten_mapping(node)
    result = _Map()
    result.line, result.lines, result.duplicates = node.start_mark.line + 1, {}, []
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, (str, int, float, bool)) and key is not None:
            key = str(key)
        if key in result:
            result.duplicates.append((key, key_node.start_mark.line + 1))
        result[key] = loader.construct_object(value_node, deep=True)
        result.lines[key] = key_node.start_mark.line + 1
    return result


def _construct_seq(loader: LineLoader, node: yaml.SequenceNode) -> _Seq:
    result = _Seq(loader.construct_object(item, deep=True) for item in node.value)
    result.line, result.lines = node.start_mark.line + 1, [item.start_mark.line + 1 for item in node.value]
    return result


LineLoader.add_constructor("tag:yaml.org,2002:map", _construct_map)
LineLoader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)


@dataclass
class Report:
    """Problems found so far, as `FILE:LINE: field: problem` lines."""

    problems: list[str] = field(default_factory=list)

    def add(self, file: Path, line: int | None, where: str, problem: str) -> None:
        at = f"{file}:{line}" if line else str(file)
        self.problems.append(f"{at}: {where + ': ' if where else ''}{problem}")


def read_yaml(path: Path, report: Report) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        report.add(path, None, "", f"cannot read: {getattr(exc, 'strerror', None) or exc}")
        return None
    try:
        data = yaml.load(text, Loader=LineLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        report.add(path, mark.line + 1 if mark else None, "", f"invalid YAML: {getattr(exc, 'problem', None) or exc}")
        return None
    _report_duplicates(data, path, report)
    return data


def _report_duplicates(node: Any, path: Path, report: Report, where: str = "") -> None:
    if isinstance(node, _Map):
        for key, line in node.duplicates:
            report.add(path, line, f"{where}{key}", "key given twice (YAML keeps only the last)")
        for key, value in node.items():
            _report_duplicates(value, path, report, f"{where}{key}.")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            _report_duplicates(value, path, report, f"{where.rstrip('.')}[{i}].")


def line_of(node: Any, key: Any = None) -> int | None:
    if key is not None and isinstance(node, _Map):
        return node.lines.get(key, node.line)
    if key is not None and isinstance(node, _Seq) and isinstance(key, int) and key < len(node.lines):
        return node.lines[key]
    return getattr(node, "line", None)


def _expr(value: Any) -> bool:
    """A Jinja expression: checked when the template renders, not here."""
    return isinstance(value, str) and ("{{" in value or "{%" in value)


class Checker:
    """Schema checks on one file; each helper reports and returns whether the value is good."""

    def __init__(self, path: Path, report: Report) -> None:
        self.path, self.report, self.count = path, report, 0

    def bad(self, node: Any, key: Any, where: str, problem: str) -> bool:
        self.count += 1
        self.report.add(self.path, line_of(node, key), where, problem)
        return False

    def mapping(self, value: Any, node: Any, key: Any, where: str, allowed: tuple[str, ...] = (),
                required: tuple[str, ...] = ()) -> bool:
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

    def kind(self, value: Any, node: Any, key: Any, where: str, kinds: tuple[type, ...], name: str) -> bool:
        if _expr(value) or (isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)):
            return True
        return self.bad(node, key, where, f"must be {name}, not {value!r}")

    def rule(self, check: Any, value: Any, node: Any, key: Any, where: str) -> bool:
        if _expr(value):
            return True
        try:
            check(where, value)
        except SpecError as exc:
            return self.bad(node, key, "", exc.message.split(" (or pass --allow-unpinned)")[0])
        return True


def lint_body(check: Checker, d: dict, files: list[str]) -> None:
    """Every key of a sidecar.yaml whose top level is a mapping with the required keys."""
    _params(check, d.get("params"), d)
    if "run_as" in d and check.kind(d["run_as"], d, "run_as", "run_as", (int,), "a uid"):
        if not _expr(d["run_as"]) and d["run_as"] < 10000:
            check.bad(d, "run_as", "run_as", f"{d['run_as']} is below 10000: run as a non-root uid "
                      ">= 10000 that no host user has (checkov CKV_K8S_40)")
    for need in _items(check, d, "needs"):
        if need not in NEEDS:
            check.bad(d, "needs", "needs", f"{need!r} is not an optional app field ({', '.join(NEEDS)})")
    if "fronts_app" in d:
        check.kind(d["fronts_app"], d, "fronts_app", "fronts_app", (bool,), "true or false")
    for key in ("command", "args", "compose_healthcheck"):
        for i, item in enumerate(_items(check, d, key)):
            check.kind(item, d[key], i, f"{key}[{i}]", (str, int, float), "a string")
    for key in ("env", "app_env"):
        _env(check, d, key)
    _ports(check, d)
    mount_paths = _volumes(check, d)
    if d.get("config_dir") is not None:
        check.rule(rules.directory, d["config_dir"], d, "config_dir", "config_dir")
        mount_paths.append((d["config_dir"], d, "config_dir"))
    elif files:
        check.bad(d, None, "config_dir", f"is required: files/ has {', '.join(files)} to mount")
    seen = set()
    for path, node, key in mount_paths:
        if not isinstance(path, str):  # reported above as not a directory path
            continue
        if not _expr(path) and path in seen:
            check.bad(node, key, "mounts", f"{path!r} is mounted twice in this container")
        seen.add(path)
    _probes(check, d)
    _resources(check, d)
    if "pre_stop_sleep" in d and check.kind(d["pre_stop_sleep"], d, "pre_stop_sleep", "pre_stop_sleep",
                                            (int,), "a number of seconds"):
        if not _expr(d["pre_stop_sleep"]) and not 0 <= d["pre_stop_sleep"] <= 300:
            check.bad(d, "pre_stop_sleep", "pre_stop_sleep", "must be from 0 to 300 seconds")


def _items(check: Checker, d: dict, key: str) -> list:
    value = d.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        check.bad(d, key, key, "must be a list")
        return []
    return value


def _params(check: Checker, params: Any, d: dict) -> None:
    if params is None or not check.mapping(params, d, "params", "params"):
        return
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
        if "advanced" in spec:
            check.kind(spec["advanced"], spec, "advanced", f"{where}.advanced", (bool,), "true or false")
        if "default" in spec:
            check.rule(lambda f, v: rules.param_value(f, kind, v, tuple(choices)),
                       spec["default"], spec, "default", f"{where}.default")


def _env(check: Checker, d: dict, key: str) -> None:
    env = d.get(key)
    if env is None or not check.mapping(env, d, key, key):
        return
    for name, value in env.items():
        where = f"{key}.{name}"
        if not isinstance(name, str) or not _ENV_NAME.fullmatch(name):
            check.bad(env, name, where, "is not an environment variable name")
        elif isinstance(value, (dict, list)):
            check.bad(env, name, where, "must be a plain value")
        elif _SECRET.search(name) and value not in (None, ""):
            check.bad(env, name, where, "looks like a secret: keep secrets out of templates (use a "
                                        "Secret or a file the team mounts)")


def _ports(check: Checker, d: dict) -> None:
    ports = d["ports"]
    if not isinstance(ports, list) or not ports:
        check.bad(d, "ports", "ports", "must be a non-empty list (probes need a port)")
        return
    for i, port in enumerate(ports):
        where = f"ports[{i}]"
        if not check.mapping(port, ports, i, where, PORT_KEYS, ("name", "port")):
            continue
        name = port["name"]
        if not _expr(name) and (not isinstance(name, str) or len(name) > 15 or not rules.is_port_name(name)):
            check.bad(port, "name", f"{where}.name", f"{name!r} must be at most 15 characters of "
                      "[a-z0-9-] with a letter (a Kubernetes port name)")
        try:
            port_number(port["port"], port_params(d.get("params")))
        except ValueError as exc:
            check.bad(port, "port", f"{where}.port", str(exc))
        if port.get("protocol", "TCP") not in ("TCP", "UDP"):
            check.bad(port, "protocol", f"{where}.protocol", "must be TCP or UDP")
        if "public" in port:
            check.kind(port["public"], port, "public", f"{where}.public", (bool,), "true or false")
        if "scrape_path" in port:
            check.rule(rules.url_path, port["scrape_path"], port, "scrape_path", f"{where}.scrape_path")


def port_params(params: Any) -> set[str]:
    if not isinstance(params, dict):
        return set()
    return {name for name, spec in params.items() if isinstance(spec, dict) and spec.get("type") == "port"}


def _volumes(check: Checker, d: dict) -> list[tuple[Any, Any, Any]]:
    paths = []
    for i, volume in enumerate(_items(check, d, "volumes")):
        where = f"volumes[{i}]"
        if check.mapping(volume, d["volumes"], i, where, ("name", "path", "size"), ("name", "path")):
            check.rule(rules.dns_label, volume["name"], volume, "name", f"{where}.name")
            check.rule(rules.directory, volume["path"], volume, "path", f"{where}.path")
            if "size" in volume:
                check.rule(rules.quantity, str(volume["size"]), volume, "size", f"{where}.size")
            paths.append((volume["path"], volume, "path"))
    for i, mount in enumerate(_items(check, d, "mounts")):
        where = f"mounts[{i}]"
        if check.mapping(mount, d["mounts"], i, where, ("volume", "path", "read_only"), ("volume", "path")):
            check.kind(mount["volume"], mount, "volume", f"{where}.volume", (str,), "a volume name")
            check.rule(rules.directory, mount["path"], mount, "path", f"{where}.path")
            if "read_only" in mount:
                check.kind(mount["read_only"], mount, "read_only", f"{where}.read_only", (bool,), "true or false")
            paths.append((mount["path"], mount, "path"))
    return paths


def _probes(check: Checker, d: dict) -> None:
    probes = d["probes"]
    if not check.mapping(probes, d, "probes", "probes", ("startup", "readiness", "liveness")):
        return
    for kind in ("readiness", "liveness"):
        if probes.get(kind) is None:
            check.bad(d, "probes", f"probes.{kind}", "is required: a long-running container needs "
                                                      "readiness and liveness probes")
    for kind, probe in probes.items():
        where = f"probes.{kind}"
        if probe is None or not check.mapping(probe, probes, kind, where, PROBE_KEYS, ("port",)):
            continue
        check.rule(rules.port, probe["port"], probe, "port", f"{where}.port")
        if "path" in probe:
            check.rule(rules.http_target, probe["path"], probe, "path", f"{where}.path")
        for key in PROBE_KEYS[2:]:
            if key in probe and check.kind(probe[key], probe, key, f"{where}.{key}", (int,), "a whole number"):
                if not _expr(probe[key]) and probe[key] < (0 if key == "initial_delay" else 1):
                    check.bad(probe, key, f"{where}.{key}", "is too small")


def _resources(check: Checker, d: dict) -> None:
    resources = d["resources"]
    if not check.mapping(resources, d, "resources", "resources", ("requests", "limits")):
        return
    for part in ("requests", "limits"):
        values = resources.get(part)
        where = f"resources.{part}"
        if values is None:
            check.bad(d, "resources", where, "is required: every container needs cpu and memory "
                                              "requests and limits")
            continue
        if not check.mapping(values, resources, part, where, RESOURCE_KEYS):
            continue
        for key in ("cpu", "memory"):
            if values.get(key) is None:
                check.bad(resources, part, f"{where}.{key}", "is required: every container needs cpu and "
                                                          "memory requests and limits")
        for key, value in values.items():
            if key in RESOURCE_KEYS and value is not None:
                check.rule(rules.quantity, str(value), values, key, f"{where}.{key}")
