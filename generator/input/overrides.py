"""`--set dotted.path=value`: one answers value changed from the command line, applied to the
raw answers before they are checked into a Spec, so every answers field can be set this way
and meets the same rules as in a file.

A path walks mappings by key and lists by entry: an entry is picked by its name (a plain
string item, or a mapping's `name:`), or by its index. Under `sidecars.NAME` the `params`
level may be left out (`sidecars.envoy.listen_port=9000`), as people say it. The value is
YAML (`9000` a number, `"9000"` text, `true`, `[a, b]`, empty: null), read with the same
bounds as an answers file.
"""

from __future__ import annotations

import copy
from typing import Any, Iterable

from generator.errors import SpecError
from generator.yamlio import load_text

FLAG = "--set"


def parse_set(text: str) -> tuple[tuple[str, ...], Any]:
    """`a.b.c=value` -> (("a", "b", "c"), the value as YAML), or SpecError naming it."""
    path, sep, value = text.partition("=")
    if not sep:
        raise SpecError(f"{FLAG} {text!r}: must be dotted.path=value (e.g. app.replicas=3)")
    keys = tuple(path.strip().split("."))
    if not path.strip() or any(not key for key in keys):
        raise SpecError(f"{FLAG} {text!r}: {path!r} is not a dotted path (e.g. app.replicas)")
    try:
        parsed = load_text(value, f"{FLAG} {path.strip()}", SpecError) if value.strip() else None
    except SpecError:
        raise SpecError(f"{FLAG} {path.strip()}: {value!r} is not a YAML value (quote text: "
                        "'\"...\"')") from None
    return keys, parsed


def apply_sets(answers: dict[str, Any], sets: Iterable[str], sections: Iterable[str]) -> dict[str, Any]:
    """The answers with each `--set` applied in order (a copy; the input is left as it is).
    `sections`: the answers' top-level keys, so a typo there is named at once."""
    result = copy.deepcopy(answers)
    known = tuple(sections)
    for text in sets:
        keys, value = parse_set(text)
        if keys[0] not in known:
            raise SpecError(f"{FLAG} {'.'.join(keys)}: unknown answers section {keys[0]!r} "
                            f"(known: {', '.join(known)})")
        _assign(result, keys, value)
    return result


def _assign(answers: dict[str, Any], keys: tuple[str, ...], value: Any) -> None:
    node: Any = answers
    for depth, key in enumerate(keys[:-1]):
        node = _step(node, keys, depth)
    last = keys[-1]
    if isinstance(node, dict):
        node[last] = value
    elif isinstance(node, list):
        node[_index(node, keys, len(keys) - 1)] = value
    else:
        raise SpecError(f"{FLAG} {'.'.join(keys)}: {'.'.join(keys[:-1])} holds "
                        f"{type(node).__name__}, not a mapping or list")


def _step(node: Any, keys: tuple[str, ...], depth: int) -> Any:
    """The child that keys[depth] names in `node`, made a mapping where it is missing."""
    key = keys[depth]
    where = ".".join(keys[:depth + 1])
    if isinstance(node, dict):
        child = node.get(key)
        if child is None:
            child = node[key] = [] if (depth == 0 and key == "sidecars") else {}
        if not isinstance(child, (dict, list)):
            raise SpecError(f"{FLAG} {'.'.join(keys)}: {where} is {type(child).__name__}, "
                            "not a mapping or list")
        return child
    if isinstance(node, list):
        position = _index(node, keys, depth)
        child = node[position]
        if isinstance(child, str):  # a bare name ("envoy") becomes {name, params}
            child = node[position] = {"name": child}
        if not isinstance(child, dict):
            raise SpecError(f"{FLAG} {'.'.join(keys)}: {where} is {type(child).__name__}, not a mapping")
        if keys[0] == "sidecars" and depth == 1 and keys[2] not in ("name", "params"):
            # sidecars.NAME.PARAM: the parameters mapping is meant
            params = child.get("params")
            if params is None:
                params = child["params"] = {}
            if not isinstance(params, dict):
                raise SpecError(f"{FLAG} {'.'.join(keys)}: sidecars.{key}.params is not a mapping")
            return params
        return child
    raise SpecError(f"{FLAG} {'.'.join(keys)}: {'.'.join(keys[:depth])} is "
                    f"{type(node).__name__}, not a mapping or list")


def _index(items: list, keys: tuple[str, ...], depth: int) -> int:
    key = keys[depth]
    for position, item in enumerate(items):
        name = item if isinstance(item, str) else item.get("name") if isinstance(item, dict) else None
        if name == key:
            return position
    if key.isdigit() and int(key) < len(items):
        return int(key)
    where = ".".join(keys[:depth])
    hint = f" (add it with --with {key})" if where == "sidecars" else ""
    raise SpecError(f"{FLAG} {'.'.join(keys)}: {key!r} is not in {where}{hint}")
