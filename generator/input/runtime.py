"""The app's run-time settings in the answers: environment (plain values and Secret/ConfigMap
references), resources, user, writable paths, command and args. Each parser takes the raw
value and returns the clean one, or raises with the field named (rules.py holds the rules the
catalog schema shares: env names and references, quantities, uids)."""

from __future__ import annotations

from typing import Any

from generator import rules
from generator.errors import SpecError
from generator.input.sidecars import known_keys, mapping

# Today's app resources, the one place for them: what an app without `resources:` gets.
REQUESTS = (("cpu", "100m"), ("memory", "128Mi"), ("ephemeral-storage", "64Mi"))
LIMITS = (("cpu", "500m"), ("memory", "512Mi"), ("ephemeral-storage", "256Mi"))
RESOURCE_KEYS = ("cpu", "memory", "ephemeral-storage")
USER = 10001  # uid and gid; >= 10000 (rules.MIN_UID)
SCRATCH_SIZE = "64Mi"  # a writable path's emptyDir / tmpfs when no size is given
MAX_WRITABLE_PATHS = 20


def env(raw: Any, where: str = "app.env") -> tuple[tuple[str, str | rules.EnvSource], ...]:
    found = []
    for name, value in mapping(where, raw).items():
        field = f"{where}.{name}"
        found.append((rules.env_name(field, name), rules.env_value(field, name, value)))
    return tuple(found)


def env_from(raw: Any) -> tuple[rules.EnvSource, ...]:
    if not isinstance(raw, list):
        raise SpecError(f"app.env_from: {rules.shown(raw)} must be a list of {{secret: NAME}} or {{config_map: NAME}}")
    found = [rules.env_from(f"app.env_from[{i}]", item) for i, item in enumerate(raw)]
    for i, source in enumerate(found):
        if source in found[:i]:
            raise SpecError(f"app.env_from[{i}]: {source.kind} {source.name!r} is listed twice")
    return tuple(found)


Resources = tuple[tuple[str, str], ...]


def resources(raw: Any, where: str = "app.resources", base: tuple[Resources, Resources] = (REQUESTS, LIMITS)
              ) -> tuple[Resources, Resources]:
    """(requests, limits): each key given replaces the base's (today's defaults, or the app's for
    an environment); memory and storage in whole bytes (rules.MEMORY_UNITS, what Compose can say too); no
    limit below its request."""
    given = mapping(where, raw)
    known_keys(where, given, ("requests", "limits"))
    parts, written = [], {}
    for part, defaults in (("requests", base[0]), ("limits", base[1])):
        values = written[part] = mapping(f"{where}.{part}", given.get(part))
        known_keys(f"{where}.{part}", values, RESOURCE_KEYS)
        merged = dict(defaults)
        for key, value in values.items():
            field = f"{where}.{part}.{key}"
            rules.quantity(field, value)
            if key != "cpu" and not rules.is_memory(value):
                raise SpecError(f"{field}: {value!r} must be {rules.MEMORY_UNITS}, e.g. 512Mi")
            if not rules.quantity_value(value):
                raise SpecError(f"{field}: {value!r} must be more than 0")
            merged[key] = value
        parts.append(merged)
    requests, limits = parts
    for key in RESOURCE_KEYS:
        problem = rules.limit_problem(requests[key], limits[key])
        if problem:
            default = "" if key in written["limits"] else " (the limit it would keep: give one)"
            raise SpecError(f"{where}.limits.{key}: {problem}{default}")
    return tuple(requests.items()), tuple(limits.items())


def user(raw: Any) -> tuple[int, int]:
    """(uid, gid): the app's user and the group every container shares (fsGroup)."""
    given = mapping("app.user", raw)
    known_keys("app.user", given, ("uid", "gid"))
    uid = rules.uid("app.user.uid", given.get("uid", USER))
    return uid, rules.uid("app.user.gid", given.get("gid", uid), "gid")


def writable_paths(raw: Any, log_dir: str | None) -> tuple[tuple[str, str], ...]:
    """(path, size) of each folder the app writes besides /tmp: a scratch volume each, so the
    root filesystem stays read-only. An entry is a path, or {path, size}."""
    if not isinstance(raw, list) or len(raw) > MAX_WRITABLE_PATHS:
        raise SpecError(f"app.writable_paths: {rules.shown(raw)} must be a list of at most "
                        f"{MAX_WRITABLE_PATHS} folders (a path, or {{path: P, size: 256Mi}})")
    found: list[tuple[str, str]] = []
    taken = ["/tmp", *([log_dir] if log_dir else [])]
    for i, item in enumerate(raw):
        field = f"app.writable_paths[{i}]"
        entry = item if isinstance(item, dict) else {"path": item}
        known_keys(field, entry, ("path", "size"))
        path = rules.own_folder(f"{field}.path" if isinstance(item, dict) else field, entry.get("path"),
                                "a scratch volume mounted there would hide what the image keeps in it")
        size = entry.get("size", SCRATCH_SIZE)
        if not rules.is_memory(size) or not rules.quantity_value(size):
            raise SpecError(f"{field}.size: {rules.shown(size)} must be a size in {rules.MEMORY_UNITS}, e.g. 256Mi")
        for other in taken:
            if path == other or path.startswith(f"{other}/") or other.startswith(f"{path}/"):
                what = "the app's /tmp" if other == "/tmp" else ("app.log_dir" if other == log_dir else repr(other))
                raise SpecError(f"{field}: {path!r} is {'' if path == other else 'inside or around '}"
                                f"{what}, which is writable already")
        taken.append(path)
        found.append((path, str(size)))
    return tuple(found)


def command(field: str, raw: Any) -> tuple[str, ...]:
    """The app's command or args (exec form); empty: the image's own."""
    if not isinstance(raw, list) or not all(isinstance(word, str) for word in raw):
        raise SpecError(f"{field}: {rules.shown(raw)} must be a list of strings (exec form, e.g. [/app/server])")
    if any("\x00" in word for word in raw):
        raise SpecError(f"{field}: holds a NUL character")
    return tuple(raw)
