"""What inject added, recorded on the workload itself (an annotation; `x-sidecar-new` in
Compose), so a second inject starts from the original and `--remove` takes out exactly that."""

from __future__ import annotations

import json
from typing import Any

import yaml

from generator.errors import SpecError
from generator.inject.splice import Edits, Node, get, scalar

KEY = "sidecar-new.dev/injected"  # annotation on the workload (not its pods: no rollout for it)
VERSION = 1


def encode(record: dict[str, Any]) -> str:
    return json.dumps({"v": VERSION, **record}, separators=(",", ":"))


def decode(text: str | None, where: str) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        record = json.loads(text)
    except ValueError:
        record = None
    if not isinstance(record, dict) or record.get("v") != VERSION or not isinstance(record.get("sidecars"), list):
        raise SpecError(f"{where}: {KEY} is not a record sidecar-new inject wrote; remove it by hand")
    return record


def combine(old: dict[str, Any] | None, sidecars: tuple[str, ...], sets: tuple[str, ...],
            remove: tuple[str, ...], where: str) -> tuple[list[str], list[str]]:
    """The sidecars and --set values a re-run injects: those recorded, then those asked for,
    without the ones to remove (and their --set values); a removal of something never
    injected is refused."""
    kept = [*(old["sidecars"] if old else []), *sidecars]
    recorded = old.get("set", []) if old else []
    for name in remove:
        if name not in kept:
            raise SpecError(f"--remove {name}: not injected into {where} "
                            f"(injected: {', '.join(old['sidecars']) if old else 'nothing'})")
    kept_sets = [s for s in recorded if not any(s.startswith(f"sidecars.{r}.") for r in remove)] + list(sets)
    return [n for n in dict.fromkeys(kept) if n not in remove], kept_sets


def scalar_text(value: Any) -> str:
    """A scalar as YAML text for a value replaced in place (JSON strings are YAML strings)."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else json.dumps(str(value))


def plan_keys(text: str, parent: Node, section: str, additions: dict[str, Any]) -> dict[str, Any]:
    """How `additions` go under parent[section] (metadata.annotations, say): whether the
    section is created, which keys are added, which replaced (with their old text)."""
    node = get(parent, section)
    if node is None:
        return {"created": True, "added": list(additions), "replaced": {}}
    if not isinstance(node, yaml.MappingNode) or not node.value:
        raise SpecError(f"line {node.start_mark.line + 1}: {section}: is empty or not a block mapping; "
                        f"write it as one (or remove the line) to inject")
    added, replaced = [], {}
    for key, value in additions.items():
        old = get(node, key)
        if old is None:
            added.append(key)
        elif scalar(old) != str(value):
            replaced[key] = text[old.start_mark.index:old.end_mark.index]
    return {"created": False, "added": added, "replaced": replaced}


def apply_keys(edits: Edits, parent: Node, section: str, additions: dict[str, Any], plan: dict[str, Any]) -> None:
    if plan["created"]:
        edits.add_key(parent, section, dict(additions))
        return
    node = get(parent, section)
    for key in plan["added"]:
        edits.add_key(node, key, additions[key])
    for key in plan["replaced"]:
        edits.replace(get(node, key), scalar_text(additions[key]))


def undo_keys(edits: Edits, parent: Node | None, section: str, plan: dict[str, Any]) -> None:
    node = get(parent, section)
    if node is None:
        return
    if plan["created"]:
        edits.delete_key(parent, section)
        return
    for key in plan["added"]:
        if get(node, key) is not None:
            edits.delete_key(node, key)
    for key, text in plan["replaced"].items():
        if get(node, key) is not None:
            edits.replace(get(node, key), text)
