"""Text edits at the parser's positions: whole lines in, the same lines out, in the document's
own indentation, deeper text before shallower where two land at one place."""

from __future__ import annotations

import pytest
import yaml

from generator.errors import SpecError
from generator.inject.splice import Edits, compose_all, detect_style, dig, get, named


def edits_for(text: str) -> tuple[Edits, yaml.Node]:
    edits = Edits(text)
    root = compose_all(text, "t")[0]
    edits.style = detect_style(edits, root.value[0][1], "items")  # the first key's mapping holds the list
    return edits, root


def test_an_item_and_a_key_added_where_a_list_ends_a_mapping_keep_their_places() -> None:
    text = "spec:\n  items:\n  - name: a\n    value: 1\n# trailing comment\nother: 2\n"
    edits, root = edits_for(text)
    spec = get(root, "spec")
    edits.add_key(spec, "extra", {"x": [1, 2]})  # added first, but shallower: goes after the item
    edits.append_item(get(spec, "items"), {"name": "b"})
    result = edits.apply()
    assert result == ("spec:\n  items:\n  - name: a\n    value: 1\n  - name: b\n  extra:\n    x:\n    - 1\n    - 2\n"
                      "# trailing comment\nother: 2\n")
    assert yaml.safe_load(result)["spec"]["items"][1] == {"name": "b"}


def test_lists_indented_one_step_get_new_blocks_indented_the_same_way() -> None:
    text = "spec:\n  items:\n    - name: a\n"
    edits, root = edits_for(text)
    edits.append_item(get(get(root, "spec"), "items"), {"name": "b", "ports": [{"p": 1}]})
    assert edits.apply() == text + "    - name: b\n      ports:\n        - p: 1\n"


def test_deleting_what_was_inserted_gives_the_text_back() -> None:
    text = "a:\n  list:\n  - name: x   # kept\n    v: 'q'\n  k: 1\n"
    edits, root = edits_for(text)
    edits.append_item(get(get(root, "a"), "list"), {"name": "new", "v": "a: b"})
    edits.add_key(get(root, "a"), "added", {"deep": {"er": True}})
    once = edits.apply()
    undo = Edits(once)
    root = compose_all(once, "t")[0]
    undo.delete_item(named(dig(root, "a", "list"), "new"))
    undo.delete_key(get(root, "a"), "added")
    assert undo.apply() == text


def test_values_are_dumped_never_pasted() -> None:
    text = "a:\n  k: 1\n"
    edits, root = edits_for(text)
    edits.add_key(get(root, "a"), "v", "x\nevil: 1")
    assert yaml.safe_load(edits.apply()) == {"a": {"k": 1, "v": "x\nevil: 1"}}


def test_a_flow_style_list_is_refused_in_one_line() -> None:
    edits, root = edits_for("a:\n  items: [{name: x}]\n")
    with pytest.raises(SpecError, match=r"^line 2: written in flow style"):
        edits.append_item(get(get(root, "a"), "items"), {"name": "y"})
