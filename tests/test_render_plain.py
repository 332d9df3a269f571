"""Definitions' plain {{ name }} / {{ app.key }} substitutions skip Jinja's compiler for
speed; what they give (value, type, text, error) must be exactly what Jinja gives."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jinja2 import StrictUndefined, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from conftest import examples
from generator.errors import RenderError
from generator.model.render import expand

CONTEXT = {"port": 8080, "flag": True, "nothing": None, "ratio": 0.5, "label": "a b",
           "app": {"name": "web", "port": 80, "log_dir": None, "get": "key named like a method"}}
_JINJA = ImmutableSandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=True,
                                       autoescape=False)


def jinja(value: str):
    """expand()'s contract, done by Jinja alone: a lone expression keeps its type."""
    stripped = value.strip()
    if stripped.startswith("{{") and stripped.endswith("}}") and stripped.count("{{") == 1:
        result = _JINJA.compile_expression(stripped[2:-2].strip(), undefined_to_none=False)(**CONTEXT)
        if isinstance(result, Undefined):
            result._fail_with_undefined_error()
        return result
    return _JINJA.from_string(value).render(**CONTEXT)


_names = st.sampled_from(["port", "flag", "nothing", "ratio", "label", "app", "app.name", "app.port",
                          "app.log_dir", "app.get", "app.items", "app.missing", "missing", "none",
                          "true", "True", "range", "app.name.upper"])
_expression = st.builds(lambda form, name: form % name, st.sampled_from(
    ["{{ %s }}", "{{%s}}", "{{\t%s\n}}", "{{- %s }}", "{{ %s -}}", "{{ %s|string }}"]), _names)
_text = st.sampled_from(["", " ", "http://127.0.0.1:", "/-/ready", "\n", "{", "}", "}}", "{#", "#}",
                        "{%", "%}", "\r\n", "'", "--port="])
_values = st.lists(st.tuples(_text, _expression), min_size=1, max_size=4).flatmap(
    lambda pairs: _text.map(lambda tail: "".join(a + b for a, b in pairs) + tail))


@settings(max_examples=examples(500), deadline=None)
@given(_values)
def test_plain_substitutions_give_what_jinja_gives(value: str) -> None:
    try:
        expected = jinja(value)
    except Exception:
        with pytest.raises(RenderError):
            expand(value, CONTEXT, "field")
        return
    got = expand(value, CONTEXT, "field")
    assert (type(got), got) == (type(expected), expected)


@pytest.mark.parametrize("value, expected", [
    ("{{ port }}", 8080), (" {{ app.port }} ", 80), ("{{ nothing }}", None), ("{{ flag }}", True),
    ("http://127.0.0.1:{{ port }}/-/ready", "http://127.0.0.1:8080/-/ready"),
    ("{{ app.name }}-{{ label }}", "web-a b"), ("{{ app.log_dir }}", None),
])
def test_a_whole_expression_keeps_its_type_and_text_is_substituted(value: str, expected) -> None:
    assert expand(value, CONTEXT, "field") == expected


def test_an_unknown_name_is_still_jinjas_undefined_error_in_words() -> None:
    with pytest.raises(RenderError) as caught:
        expand("{{ app.missing }}", CONTEXT, "sidecar.yaml.ports[0].port")
    assert caught.value.message == "sidecar.yaml.ports[0].port: 'dict object' has no attribute 'missing'"
