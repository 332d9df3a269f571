"""YAML text for Helm templates: data (dicts, lists, scalars) written in block style, with Go
template actions where the chart's values go. Values are never pasted into YAML text: a value
is written by a Go function that quotes it (`toJson`, `int`, `toYaml | nindent`), so a value
holding `"a\\nb: c"` cannot add keys; literal strings are written as YAML scalars, and a `{{`
in one as a Go string, so no literal can start a template action.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import yaml


@dataclass(frozen=True, slots=True)
class Go:
    """A scalar written by a Go template expression (which must quote what it writes)."""

    expr: str


@dataclass(frozen=True, eq=False, slots=True)
class Block:
    """A mapping or list written by a Go expression that gives YAML text (toYaml, include):
    `key: {{- EXPR | nindent N }}`."""

    expr: str


@dataclass(frozen=True, slots=True)
class Items:
    """List items from a Go expression giving a YAML list (only when it is not empty)."""

    expr: str


@dataclass(frozen=True, eq=False, slots=True)
class If:
    """In a list: items; as a key of a mapping (its value ignored): entries; kept when `cond`
    holds, else `otherwise`."""

    cond: str
    then: Any
    otherwise: Any = None


@dataclass(frozen=True, eq=False, slots=True)
class Comment:
    """A mapping key with a comment line above it (values.yaml)."""

    key: str
    text: str = field(default="")


def go_string(text: str) -> str:
    """A Go template string literal (JSON's escapes are Go's)."""
    return json.dumps(text)


def scalar(value: Any) -> str:
    if isinstance(value, Go):
        return "{{ " + value.expr + " }}"
    if isinstance(value, str) and "{{" in value:
        return "{{ " + go_string(value) + " | toJson }}"
    text = yaml.safe_dump(value, default_flow_style=True, width=1 << 30, allow_unicode=True)
    text = text.removesuffix("\n").removesuffix("\n...")
    if "\n" in text:  # a multi-line string: JSON is one line and valid YAML
        text = json.dumps(value, ensure_ascii=False)
    return text


def lines(node: Any, indent: int = 0) -> list[str]:
    """Block-style lines of a mapping or list at `indent` spaces."""
    pad = " " * indent
    out: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(key, If):
                out += _conditional(key, indent, lambda part: lines(part, indent))
                continue
            if isinstance(key, Block):  # entries from a Go expression, beside these
                out.append(f"{pad}{{{{- {key.expr} | nindent {indent} }}}}")
                continue
            if isinstance(key, Comment):
                out += [f"{pad}# {line}".rstrip() for line in key.text.splitlines()]
                key = key.key
            out += _entry(f"{pad}{scalar(key)}:", value, indent)
    else:
        for item in node:
            if isinstance(item, If):
                out += _conditional(item, indent, lambda part: lines(part, indent))
            elif isinstance(item, Items):
                out += [f"{pad}{{{{- with {item.expr} }}}}", f"{pad}{{{{- toYaml . | nindent {indent} }}}}",
                        f"{pad}{{{{- end }}}}"]
            elif isinstance(item, (dict, list)) and item:
                inner = lines(item, indent + 2)
                assert not inner[0].lstrip().startswith("{{"), "a list item starts with a plain key"
                out += [f"{pad}- {inner[0][indent + 2:]}", *inner[1:]]
            else:
                out.append(f"{pad}- {_empty(item) or scalar(item)}")
    return out


def _entry(head: str, value: Any, indent: int) -> list[str]:
    if isinstance(value, Block):
        return [f"{head} {{{{- {value.expr} | nindent {indent + 2} }}}}"]
    if isinstance(value, (dict, list)):
        if not value:
            return [f"{head} {_empty(value)}"]
        # A list under a key sits at the key's indent (kubectl's and helm create's style).
        return [head, *lines(value, indent + (2 if isinstance(value, dict) else 0))]
    return [f"{head} {scalar(value)}"]


def _empty(value: Any) -> str:
    if isinstance(value, dict) and not value:
        return "{}"
    if isinstance(value, list) and not value:
        return "[]"
    return ""


def _conditional(node: If, indent: int, render: Any) -> list[str]:
    pad = " " * indent
    out = [f"{pad}{{{{- if {node.cond} }}}}", *render(node.then)]
    if node.otherwise is not None:
        out += [f"{pad}{{{{- else }}}}", *render(node.otherwise)]
    return out + [f"{pad}{{{{- end }}}}"]


def document(node: dict) -> str:
    return "\n".join(lines(node)) + "\n"
