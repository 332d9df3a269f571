"""Jinja, sandboxed and strict: expands template definitions and renders config files.

User values never get pasted into YAML or JSON text unquoted: in definitions a
whole-string expression keeps its native type, and in .yaml/.yml/.json config files
every {{ expression }} is written through json.dumps (JSON is valid YAML).
"""

from __future__ import annotations

import json
import keyword
import re
from dataclasses import fields, is_dataclass, replace
from functools import lru_cache
from typing import Any, Mapping

from generator.catalog.schema import Definition, Ref
from generator.errors import RenderError

_STRUCTURED_SUFFIXES = (".yaml", ".yml", ".json")
# {{ name }} or {{ name.key }}: most of what definitions hold (ports, paths, params).
_PLAIN = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*\}\}")
_JINJA_CONSTANTS = ("true", "false", "none")
_MISSING = object()


@lru_cache(maxsize=2)
def _environment(structured: bool):
    from jinja2 import StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    return ImmutableSandboxedEnvironment(
        undefined=StrictUndefined, keep_trailing_newline=True, autoescape=False,
        finalize=_to_json if structured else None,
    )


# Compiling is most of Jinja's cost (~0.5 ms a template); the same few expressions recur
# in every sidecar definition and its config files.
@lru_cache(maxsize=1024)
def _expression(source: str):
    return _environment(False).compile_expression(source, undefined_to_none=False)


@lru_cache(maxsize=1024)
def _template(structured: bool, text: str):
    return _environment(structured).from_string(text)


def _to_json(value: Any) -> str:
    from jinja2 import Undefined

    if isinstance(value, Undefined):
        value._fail_with_undefined_error()
    return json.dumps(value, ensure_ascii=False)


# Whatever a template's own code raises is the template's error, named by its file: Jinja's
# errors, and Python's from what the sandbox lets it call ('{0}'.format() -> IndexError,
# an unknown codec -> LookupError, a macro calling itself -> RecursionError, ...).
_TEMPLATE_ERRORS = (Exception,)


# What went wrong, in words rather than Python's or Jinja's exception names.
_KINDS = {"UndefinedError": "", "SecurityError": "refused by the sandbox: ",
          "OverflowError": "refused by the sandbox: ", "TemplateSyntaxError": "template syntax: ",
          "ZeroDivisionError": "division by zero: ", "RecursionError": "calls itself too deeply: "}


def _fail(where: str, exc: Exception) -> RenderError:
    if isinstance(exc, RenderError):
        return exc
    reason = " ".join(str(exc).split())
    return RenderError(f"{where}: {_KINDS.get(type(exc).__name__, 'cannot render: ')}{reason[:300]}")


def _text(value: Any, where: str) -> Any:
    """Rendered text must be writable as UTF-8 (a lone surrogate is not)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise RenderError(f"{where}: renders {value[exc.start]!r}, a lone surrogate, which is not "
                              "text") from None
    return value


def expand(value: Any, context: Mapping[str, Any], where: str) -> Any:
    """Evaluate {{ }} in every string of a definition tree; '{{ x }}' alone keeps x's type."""
    if isinstance(value, dict):
        return {k: expand(v, context, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [expand(v, context, f"{where}[{i}]") for i, v in enumerate(value)]
    if not isinstance(value, str) or "{{" not in value and "{%" not in value:
        return value
    plain = _plain(value, context)
    if plain is not _MISSING:
        return plain
    from jinja2 import Undefined

    stripped = value.strip()
    try:
        if (stripped.startswith("{{") and stripped.endswith("}}")
                and stripped.count("{{") == 1 and "{%" not in stripped):
            result = _expression(stripped[2:-2].strip())(**context)
            if isinstance(result, Undefined):
                result._fail_with_undefined_error()
            return _text(result, where)
        return _text(_template(False, value).render(**context), where)
    except _TEMPLATE_ERRORS as exc:
        raise _fail(where, exc) from None


def expand_definition(definition: Definition, context: Mapping[str, Any], where: str) -> Definition:
    """The typed definition with every {{ }} filled in (parameters are not expanded)."""
    return replace(definition, **{f.name: _expand_typed(getattr(definition, f.name), context, f"{where}: {f.name}")
                                  for f in fields(definition) if f.name != "params"})


def _expand_typed(value: Any, context: Mapping[str, Any], where: str) -> Any:
    if isinstance(value, Ref):
        return value.resolve(context)
    if is_dataclass(value):
        return replace(value, **{f.name: _expand_typed(getattr(value, f.name), context, f"{where}.{f.name}")
                                 for f in fields(value)})
    if isinstance(value, tuple):
        if all(isinstance(item, tuple) and len(item) == 2 for item in value):  # (key, value) pairs
            return tuple((key, _expand_typed(item, context, f"{where}.{key}")) for key, item in value)
        return tuple(_expand_typed(item, context, f"{where}[{i}]") for i, item in enumerate(value))
    return expand(value, context, where)


def _plain(value: str, context: Mapping[str, Any]) -> Any:
    """What Jinja gives for a string whose every {{ }} is a plain name or path found in the
    context, without compiling it (~0.5 ms each); _MISSING for anything else, which Jinja
    then renders or refuses with its own message."""
    if any(mark in value for mark in ("{%", "{#", "{{{", "}}}", "\r")):  # Jinja rewrites \r\n
        return _MISSING
    parts = _PLAIN.split(value)  # text, path, text, path, ..., text
    if any("{{" in text for text in parts[::2]):
        return _MISSING
    values = [_lookup(path, context) for path in parts[1::2]]
    if any(v is _MISSING for v in values):
        return _MISSING
    if len(parts) == 3 and not parts[0].strip() and not parts[2].strip():
        return values[0]  # a whole-string expression keeps its type, as in expand()
    return "".join(text + str(v) for text, v in zip(parts[::2], values)) + parts[-1]


def _lookup(path: str, context: Mapping[str, Any]) -> Any:
    names = path.split(".")
    if any(keyword.iskeyword(n) or n in _JINJA_CONSTANTS for n in names) or names[0] not in context:
        return _MISSING
    value = context[names[0]]
    for name in names[1:]:
        # Jinja tries the attribute first (dict.items, ...), then the key.
        if not isinstance(value, dict) or name not in value or hasattr(value, name):
            return _MISSING
        value = value[name]
    return value


def render_file(name: str, text: str, context: Mapping[str, Any], where: str) -> str:
    """Render one config file; only .j2 files are templates, the rest are copied."""
    if not name.endswith(".j2"):
        return text
    structured = name[:-3].endswith(_STRUCTURED_SUFFIXES)
    try:
        return _text(_template(structured, text).render(**context), where)
    except _TEMPLATE_ERRORS as exc:
        raise _fail(where, exc) from None
