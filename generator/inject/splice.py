"""Edits to YAML text at the places the parser reports, so every byte an edit does not touch
stays as it was: comments, key order, quoting, blank lines, indentation, other documents.

Why not a round-trip library (ruamel.yaml): it re-emits the whole document and normalises
what it cannot model. Real files mix block-sequence indentation within one document
(GoogleCloudPlatform/microservices-demo's frontend.yaml writes `containers:` items two
columns in and `ports:` items flush), and ruamel rewrites every such line whatever indent
settings it is given (tests/test_inject_splice.py shows it on that file). PyYAML, already a
dependency, gives each node's start and end in the text; new blocks are dumped by PyYAML
(never pasted from values) in the document's own indentation and inserted as whole lines,
and removal deletes exactly those lines, which is what makes `--remove` byte for byte.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from generator.errors import SpecError
from generator.yamlio import _PlainDumper

Node = yaml.Node


def compose_all(text: str, source: str) -> list[Node | None]:
    """The node tree of each document (None for an empty one); errors name the source."""
    try:
        return [None if _is_null(n) else n for n in yaml.compose_all(text, Loader=yaml.SafeLoader)]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark else source
        raise SpecError(f"{where}: invalid YAML: {getattr(exc, 'problem', None) or exc}") from None


def _is_null(node: Node | None) -> bool:
    return node is None or isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null")


def get(node: Node | None, key: str) -> Node | None:
    """The value node under `key` in a mapping node (None if absent or not a mapping)."""
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                return v
    return None


def dig(node: Node | None, *keys: str) -> Node | None:
    for key in keys:
        node = get(node, key)
    return node


def items(node: Node | None) -> list[Node]:
    return list(node.value) if isinstance(node, yaml.SequenceNode) else []


def named(node: Node | None, name: str) -> Node | None:
    """The item of a sequence of mappings whose `name:` is `name`."""
    return next((i for i in items(node) if scalar(get(i, "name")) == name), None)


def scalar(node: Node | None) -> str | None:
    return node.value if isinstance(node, yaml.ScalarNode) else None


def content_end(node: Node) -> int:
    """Where the node's last character of content is (block collections' own end marks
    run on past comments and blank lines, so only scalars and flow collections count)."""
    if isinstance(node, yaml.ScalarNode) or getattr(node, "flow_style", False):
        return node.end_mark.index
    children = [c for pair in node.value for c in pair] if isinstance(node, yaml.MappingNode) else node.value
    return max((content_end(c) for c in children), default=node.end_mark.index)


@dataclass(frozen=True, slots=True)
class Style:
    """How the document indents: a mapping level's step, and how far a block sequence's
    dash sits right of its key (0: flush, as kubectl writes; or one step)."""
    step: int = 2
    offset: int = 0


@dataclass
class Edits:
    """Edits collected against one text and applied at once (positions stay those of the
    original text). At one position, deeper text goes first: an item added to a list that
    ends a mapping must stay in the list, before a key added to that mapping."""
    text: str
    style: Style = field(default_factory=Style)
    _edits: list[tuple[int, int, str, int, int]] = field(default_factory=list)

    def replace(self, node: Node, new_text: str) -> None:
        self._edits.append((node.start_mark.index, node.end_mark.index, new_text, 0, len(self._edits)))

    def append_item(self, seq: Node, value: Any) -> None:
        self._block(seq)
        last = seq.value[-1]
        dash = self._dash(last)
        column = dash - self._line_start(dash)
        inner = last.start_mark.column
        lines = self._dump(value).splitlines()
        block = [" " * column + "-" + " " * (inner - column - 1) + lines[0],
                 *(" " * inner + line for line in lines[1:])]
        self._insert(self._line_end(content_end(last)), block, column + 1)

    def add_key(self, mapping: Node, key: str, value: Any) -> None:
        self._block(mapping)
        column = mapping.value[0][0].start_mark.column
        block = [" " * column + line for line in self._dump({key: value}).splitlines()]
        self._insert(self._line_end(content_end(mapping)), block, column)

    def append_text(self, text: str) -> None:
        """Text added at the very end (new documents)."""
        self._edits.append((len(self.text), len(self.text), text, -1, len(self._edits)))

    def delete_item(self, item: Node) -> None:
        self._delete(self._dash(item), content_end(item))

    def delete_key(self, mapping: Node, key: str) -> None:
        for k, v in mapping.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                self._delete(k.start_mark.index, content_end(v))
                return

    def delete_span(self, start: int, end: int) -> None:
        self.replace_span(start, end, "")

    def replace_span(self, start: int, end: int, text: str) -> None:
        self._edits.append((start, end, text, 0, len(self._edits)))

    def line_span(self, node: Node) -> tuple[int, int]:
        """A block mapping's or sequence's whole lines, from its first line to its last content."""
        return self._line_start(node.start_mark.index), self._line_end(content_end(node))

    def apply(self) -> str:
        text = self.text
        # From the end back, so earlier positions stay valid; at one position the shallower
        # and later text goes in first, which leaves the deeper and earlier text before it.
        spans = sorted(self._edits, key=lambda e: (-e[0], e[3], -e[4]))
        for start, end, new, _, _ in spans:
            text = text[:start] + new + text[end:]
        return text

    @property
    def empty(self) -> bool:
        return not self._edits

    def _insert(self, at: int, lines: list[str], depth: int) -> None:
        text = "\n".join(lines) + "\n"
        if at == len(self.text) and not self.text.endswith("\n"):
            text = "\n" + text[:-1]  # the last line had no newline; keep it that way
        self._edits.append((at, at, text, depth, len(self._edits)))

    def _delete(self, start: int, end: int) -> None:
        start, end = self._line_start(start), self._line_end(end)
        if end == len(self.text) and not self.text.endswith("\n") and start > 0:
            start -= 1  # the newline _insert put before a last line
        self.delete_span(start, end)

    def _dump(self, value: Any) -> str:
        step = self.style.step
        dumper = _Offset if self.style.offset else _PlainDumper
        text = yaml.dump(value, Dumper=dumper, indent=max(2, min(step, 9)), sort_keys=False,
                         default_flow_style=False, allow_unicode=True, width=10**6)
        # A lone plain scalar ends its document with `...`; inside a list it must not.
        return text[:-4] if text.endswith("\n...\n") else text

    def _dash(self, item: Node) -> int:
        i = item.start_mark.index - 1
        while i >= 0 and self.text[i] in " \t":
            i -= 1
        if i < 0 or self.text[i] != "-" or self.text[self._line_start(i):i].strip():
            raise SpecError(f"line {item.start_mark.line + 1}: a list item that is not on a line of its own; "
                            "write the list in block style to inject")
        return i

    def _block(self, node: Node) -> None:
        if getattr(node, "flow_style", False) or not node.value:
            raise SpecError(f"line {node.start_mark.line + 1}: written in flow style ({{...}} or [...]); "
                            "write it in block style to inject")

    def _line_start(self, index: int) -> int:
        return self.text.rfind("\n", 0, index) + 1

    def _line_end(self, index: int) -> int:
        if index > 0 and self.text[index - 1] == "\n":
            return index  # a block scalar's end is already a line start
        found = self.text.find("\n", index)
        return len(self.text) if found < 0 else found + 1


class _Offset(_PlainDumper):
    """Block sequences one step right of their key (`key:\\n  - item`)."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        return super().increase_indent(flow, False)


def detect_style(edits: Edits, mapping: Node | None, seq_key: str | None = "containers") -> Style:
    """The document's block-sequence offset, read from the `seq_key` list of `mapping` (a
    pod spec's containers; None: its first block list), so new blocks look like their neighbours."""
    for k, v in mapping.value if isinstance(mapping, yaml.MappingNode) else ():
        if seq_key in (None, k.value) and isinstance(v, yaml.SequenceNode) and v.value and not v.flow_style:
            dash = edits._dash(v.value[0])
            offset = dash - edits._line_start(dash) - k.start_mark.column
            return Style(step=offset if offset >= 2 else 2, offset=max(0, offset))
    return Style()
