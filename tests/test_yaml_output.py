"""YAML goes through libyaml for speed; the bytes written and the errors shown must be
exactly those of PyYAML's pure-Python emitter and parser."""

from __future__ import annotations

import string

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import examples
from generator import yamlio
from generator.errors import SpecError

# Text like the generator writes (names, paths, commands, config files) and the awkward
# cases where libyaml and PyYAML disagree: astral characters, CR, blank-line endings, long text.
_text = st.one_of(
    st.text(alphabet=string.printable, max_size=40),
    st.text(alphabet="ab \n\t:#-'\"|>{}[],&*!%@`?\\", max_size=60),
    st.text(max_size=20),
    st.sampled_from(["", "\n", "x\n\n", "y", "n", "1e3", "yes", "null", "~", "a\r\nb", "\U0001F600",
                     "é", "x " * 2500, "x\n" * 100, "k" * 150]),
)
_scalar = st.one_of(_text, st.integers(), st.floats(allow_nan=False), st.none(), st.booleans())
_node = st.recursive(_scalar, lambda children: st.one_of(
    st.lists(children, max_size=4), st.dictionaries(_text, children, max_size=4)), max_leaves=12)
_documents = st.lists(st.dictionaries(_text, _node, min_size=1, max_size=4), min_size=1, max_size=3)


def _pure_python(documents: list) -> str:
    return yaml.dump_all(documents, Dumper=yamlio._PlainDumper, sort_keys=False,
                         default_flow_style=False, allow_unicode=True, width=4096)


@settings(max_examples=examples(400), deadline=None)
@given(_documents)
def test_yaml_output_is_byte_identical_to_pyyamls_own_emitter(documents: list) -> None:
    assert yamlio.dump_all(documents) == _pure_python(documents)
    assert yamlio.dump(documents[0]) == _pure_python(documents[:1])


@pytest.mark.parametrize("text, line", [("a: [1,\n", 2), ("a: b\n c: d\n", 2), ("a: '\n", 2)])
def test_invalid_yaml_is_one_error_naming_the_file_and_line(text: str, line: int) -> None:
    with pytest.raises(SpecError) as caught:
        yamlio.load_text(text, "answers.yaml", SpecError)
    assert caught.value.message.startswith(f"answers.yaml:{line}: invalid YAML: ")


def test_yaml_errors_keep_pyyamls_wording() -> None:
    with pytest.raises(SpecError) as caught:  # libyaml would say "control characters"
        yamlio.load_text("a: b\x07c\n", "answers.yaml", SpecError)
    assert caught.value.message == ("answers.yaml: invalid YAML: unacceptable character #x0007: "
                                    "special characters are not allowed")


def test_yaml_that_only_pyyaml_reads_is_still_read() -> None:
    # libyaml refuses a tab before a block scalar's content; PyYAML reads it.
    assert yamlio.load_text("a: |\n\n \tb\n", "x.yaml", SpecError) == {"a": "\n\tb\n"}
