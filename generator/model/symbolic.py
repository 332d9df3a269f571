"""Templates rendered for a Helm chart: each template parameter stands in as a Symbol, so what a
template does with it can be written as a Helm expression over the chart's values instead of as
a value fixed now.

A Symbol written out (`{{ port }}` in a definition or a config file) leaves a marker that the
chart emitter turns into the value's expression; a whole-string `{{ port }}` in a definition
keeps the Symbol itself (the typed value). `{% if forward_host %}` over parameters (names,
`not`, `and`, `or`, `==`/`!=` against a constant) becomes a Helm `if`. Anything else done with
a Symbol (sums, filters, tests in loops) raises and marks it misused: model/chart.py then fixes
that parameter at generate time and says so in the chart's schema.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, fields, is_dataclass
from functools import lru_cache
from typing import Any, Mapping

from generator.errors import RenderError

# Private-use characters: no template or value writes them (the chart is checked for leftovers).
_MARK = re.compile("\ue000([0-9]+)([tjs]?)\ue001")


class Misuse(TypeError):
    """A Symbol was used for more than being written out."""


class Symbol:
    """A chart value: a template parameter (`param`) or a value derived from the chart's own
    values (`derived`, e.g. cpu_workers from the CPU limit). `default` is its value now."""

    __slots__ = ("index", "sidecar", "param", "type", "default", "derived", "misused")

    def __init__(self, index: int, sidecar: str, param: str | None, type_: str, default: Any,
                 derived: str | None = None) -> None:
        self.index, self.sidecar, self.param, self.type = index, sidecar, param, type_
        self.default, self.derived, self.misused = default, derived, False

    def marker(self, mode: str = "") -> str:
        """'' as Python's str() writes it, 't' in a text file, 'j' in a YAML/JSON file (JSON)."""
        return f"\ue000{self.index}{mode}\ue001"

    def __str__(self) -> str:
        return self.marker()

    __format__ = lambda self, spec: self.marker() if not spec else self._misuse()  # noqa: E731

    def __repr__(self) -> str:
        return f"<chart value {self.sidecar}.{self.param or self.derived}>"

    def _misuse(self, *_: Any) -> Any:
        self.misused = True
        raise Misuse(f"{self.param or self.derived} is used in an expression")

    __bool__ = __len__ = __iter__ = __contains__ = __getitem__ = _misuse
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _misuse
    __truediv__ = __rtruediv__ = __floordiv__ = __rfloordiv__ = __mod__ = __rmod__ = _misuse
    __pow__ = __rpow__ = __neg__ = __pos__ = __abs__ = __int__ = __float__ = __index__ = _misuse
    __lt__ = __le__ = __gt__ = __ge__ = __eq__ = __ne__ = _misuse
    __hash__ = object.__hash__


@dataclass(frozen=True, slots=True)
class Slot:
    """Where a Symbol is written: mode '' (Python's str), 't' (text file), 'j' (JSON)."""

    symbol: Symbol
    mode: str = ""


@dataclass(frozen=True, slots=True)
class Test:
    """A condition over Symbols: op is 'sym', 'not', 'and', 'or', 'eq', 'ne' or 'const'."""

    op: str
    args: tuple


@dataclass(frozen=True, slots=True)
class Cond:
    test: Test
    then: tuple
    otherwise: tuple


Part = "str | Slot | Cond"


def split(text: str, symbols: Mapping[int, Symbol]) -> tuple:
    """Text with markers -> literal strings and Slots."""
    parts: list[Any] = []
    position = 0
    for match in _MARK.finditer(text):
        if match.start() > position:
            parts.append(text[position:match.start()])
        parts.append(Slot(symbols[int(match[1])], match[2]))
        position = match.end()
    if position < len(text):
        parts.append(text[position:])
    return tuple(parts)


def has_marker(text: str) -> bool:
    return bool(_MARK.search(text))


def written(value: Any, mode: str) -> str:
    """A value as the template writes it: Python's str, JSON in YAML/JSON files ('j'), or its
    str() inside a JSON string there ('s': `{{ "host:" ~ port }}`), escaped as JSON escapes it."""
    if mode == "j":
        return json.dumps(value, ensure_ascii=False)
    if mode == "s":
        return json.dumps(str(value), ensure_ascii=False)[1:-1]
    return str(value)


def evaluate_parts(parts: tuple, value_of: Any) -> str:
    """The text the parts give when each Symbol takes value_of(symbol): the check that the
    chart's expressions reproduce the render (with the defaults, they must match it)."""
    out = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
        elif isinstance(part, Slot):
            out.append(written(value_of(part.symbol), part.mode))
        else:
            out.append(evaluate_parts(part.then if _holds(part.test, value_of) else part.otherwise, value_of))
    return "".join(out)


def _holds(test: Test, value_of: Any) -> bool:
    op, args = test.op, test.args
    if op == "sym":
        return bool(value_of(args[0]))
    if op == "not":
        return not _holds(args[0], value_of)
    if op == "and":
        return _holds(args[0], value_of) and _holds(args[1], value_of)
    if op == "or":
        return _holds(args[0], value_of) or _holds(args[1], value_of)
    if op in ("eq", "ne"):
        return (value_of(args[0]) == args[1]) == (op == "eq")
    return bool(args[0])  # const


def evaluate(value: Any, value_of: Any, symbols: Mapping[int, Symbol]) -> Any:
    """A definition value (dataclasses, tuples, Symbols, text with markers) with the Symbols
    replaced by value_of(symbol)."""
    if isinstance(value, Symbol):
        return value_of(value)
    if isinstance(value, str):
        return evaluate_parts(split(value, symbols), value_of) if has_marker(value) else value
    if isinstance(value, tuple):
        return tuple(evaluate(v, value_of, symbols) for v in value)
    if is_dataclass(value) and not isinstance(value, type):
        return type(value)(**{f.name: evaluate(getattr(value, f.name), value_of, symbols) for f in fields(value)})
    return value


def symbols_in(value: Any, symbols: Mapping[int, Symbol]) -> set[Symbol]:
    found: set[Symbol] = set()
    if isinstance(value, Symbol):
        found.add(value)
    elif isinstance(value, str):
        found.update(symbols[int(m[1])] for m in _MARK.finditer(value))
    elif isinstance(value, (tuple, list)):
        for v in value:
            found |= symbols_in(v, symbols)
    elif isinstance(value, dict):
        for k, v in value.items():
            found |= symbols_in(k, symbols) | symbols_in(v, symbols)
    elif is_dataclass(value) and not isinstance(value, type):
        for f in fields(value):
            found |= symbols_in(getattr(value, f.name), symbols)
    return found


# --- config files ------------------------------------------------------------------------

@lru_cache(maxsize=2)
def _environment(structured: bool):
    from jinja2 import StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def finalize(value: Any) -> Any:
        if isinstance(value, Symbol):
            return value.marker("j" if structured else "t")
        if structured:
            from generator.model.render import _to_json
            return _to_json(value)
        return value

    return ImmutableSandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=True,
                                         autoescape=False, finalize=finalize)


def referenced(text: str) -> set[str]:
    """The names a Jinja text reads (its parameters among them)."""
    from jinja2 import meta

    try:
        return set(meta.find_undeclared_variables(_environment(False).parse(text)))
    except Exception:  # a syntax error: the concrete render has reported it already
        return set()


def render_parts(name: str, text: str, context: Mapping[str, Any], where: str) -> tuple:
    """A config file as parts: literal text, Slots, and Conds for `if`s over Symbols."""
    if not name.endswith(".j2"):
        return (text,)
    from generator.model.render import _STRUCTURED_SUFFIXES

    structured = name[:-3].endswith(_STRUCTURED_SUFFIXES)
    env = _environment(structured)
    symbols = {v.index: v for v in context.values() if isinstance(v, Symbol)}
    try:
        parts = tuple(_translate(env, env.parse(text).body, context, symbols))
        # In a YAML/JSON file every expression is written as JSON: a marker str() left is
        # inside a JSON string, where the value must be escaped as json.dumps escapes it.
        return _in_json_strings(parts) if structured else parts
    except Misuse:
        raise
    except Exception as exc:
        raise RenderError(f"{where}: cannot render for the chart: {' '.join(str(exc).split())[:300]}") from None


def _in_json_strings(parts: tuple) -> tuple:
    out: list[Any] = []
    for part in parts:
        if isinstance(part, Slot) and part.mode == "":
            part = Slot(part.symbol, "s")
        elif isinstance(part, Cond):
            part = Cond(part.test, _in_json_strings(part.then), _in_json_strings(part.otherwise))
        out.append(part)
    return tuple(out)


def _names(node: Any) -> set[str]:
    from jinja2 import nodes

    found = {n.name for n in node.find_all(nodes.Name)}
    if isinstance(node, nodes.Name):
        found.add(node.name)
    return found


def _translate(env: Any, body: list, context: Mapping[str, Any], symbols: Mapping[int, Symbol]) -> list:
    from jinja2 import nodes

    names = {k for k, v in context.items() if isinstance(v, Symbol)}
    out: list[Any] = []
    run: list[Any] = []

    def flush() -> None:
        if run:
            out.extend(split(_render(env, run, context), symbols))
            run.clear()

    for node in body:
        if isinstance(node, nodes.If) and _names(node.test) & names:
            flush()
            otherwise = node.else_
            if node.elif_:  # elif chains nest as else: if
                first, *rest = node.elif_
                otherwise = [nodes.If(first.test, first.body, rest, node.else_, lineno=first.lineno)]
            out.append(Cond(_test(env, node.test, context), tuple(_translate(env, node.body, context, symbols)),
                            tuple(_translate(env, otherwise, context, symbols))))
        else:
            run.append(node)
    flush()
    return out


def _test(env: Any, node: Any, context: Mapping[str, Any]) -> Test:
    from jinja2 import nodes

    names = {k for k, v in context.items() if isinstance(v, Symbol)}
    if not _names(node) & names:
        return Test("const", (_render(env, [nodes.If(node, [nodes.Output([nodes.TemplateData("1")])], [],
                                                      [nodes.Output([nodes.TemplateData("")])])],
                                      context) == "1",))
    if isinstance(node, nodes.Name):
        return Test("sym", (context[node.name],))
    if isinstance(node, nodes.Not):
        return Test("not", (_test(env, node.node, context),))
    if isinstance(node, (nodes.And, nodes.Or)):
        return Test(type(node).__name__.lower(), (_test(env, node.left, context), _test(env, node.right, context)))
    if (isinstance(node, nodes.Compare) and isinstance(node.expr, nodes.Name) and node.expr.name in names
            and len(node.ops) == 1 and node.ops[0].op in ("eq", "ne") and isinstance(node.ops[0].expr, nodes.Const)
            and isinstance(node.ops[0].expr.value, (str, int, bool))):
        return Test(node.ops[0].op, (context[node.expr.name], node.ops[0].expr.value))
    for name in _names(node) & names:  # anything else over a parameter: fixed at generate time
        context[name].misused = True
    raise Misuse("a condition the chart cannot express")


def _render(env: Any, body: list, context: Mapping[str, Any]) -> str:
    from jinja2 import nodes

    template = nodes.Template(body, lineno=1)
    template.set_environment(env)
    code = env.compile(template)
    return env.template_class.from_code(env, code, env.make_globals(None)).render(**context)
