"""Jinja, sandboxed and strict: expands template definitions and renders config files.

User values never get pasted into YAML or JSON text unquoted: in definitions a
whole-string expression keeps its native type, and in .yaml/.yml/.json config files
every {{ expression }} is written through json.dumps (JSON is valid YAML).
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any, Mapping

from generator.errors import RenderError

_STRUCTURED_SUFFIXES = (".yaml", ".yml", ".json")


@lru_cache(maxsize=2)
def _environment(structured: bool):
    from jinja2 import StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    return ImmutableSandboxedEnvironment(
        undefined=StrictUndefined, keep_trailing_newline=True, autoescape=False,
        finalize=_to_json if structured else None,
    )


# Compiling is most of Jinja's cost (~0.5 ms a template); the same few expressions recur
# in every sidecar definition, in parse_spec's port check and again in build_pod.
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


def _fail(where: str, exc: Exception) -> RenderError:
    return RenderError(f"{where}: {type(exc).__name__}: {exc}")


def expand(value: Any, context: Mapping[str, Any], where: str) -> Any:
    """Evaluate {{ }} in every string of a definition tree; '{{ x }}' alone keeps x's type."""
    if isinstance(value, dict):
        return {k: expand(v, context, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [expand(v, context, f"{where}[{i}]") for i, v in enumerate(value)]
    if not isinstance(value, str) or "{{" not in value and "{%" not in value:
        return value
    from jinja2 import TemplateError, Undefined

    stripped = value.strip()
    try:
        if (stripped.startswith("{{") and stripped.endswith("}}")
                and stripped.count("{{") == 1 and "{%" not in stripped):
            result = _expression(stripped[2:-2].strip())(**context)
            if isinstance(result, Undefined):
                result._fail_with_undefined_error()
            return result
        return _template(False, value).render(**context)
    except (TemplateError, ArithmeticError, TypeError, ValueError) as exc:
        raise _fail(where, exc) from None


def render_file(name: str, text: str, context: Mapping[str, Any], where: str) -> str:
    """Render one config file; only .j2 files are templates, the rest are copied."""
    if not name.endswith(".j2"):
        return text
    from jinja2 import TemplateError

    structured = name[:-3].endswith(_STRUCTURED_SUFFIXES)
    try:
        return _template(structured, text).render(**context)
    except (TemplateError, ArithmeticError, TypeError, ValueError) as exc:
        raise _fail(where, exc) from None
