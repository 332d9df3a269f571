"""The per-file decisions of a three-way update (output/merge.py), one branch each."""

from __future__ import annotations

from generator.output.merge import merge_tree, sha

LABELS = ("yours", "old", "new")


def merge(base: dict, ours: dict, theirs: dict, recorded: dict | None = None):
    recorded = {p: sha(d) for p, d in base.items()} if recorded is None else recorded
    return merge_tree(lambda: base, ours, theirs, recorded, LABELS)


def test_an_unedited_file_takes_the_new_render_and_the_base_is_never_made() -> None:
    made = []

    def base():
        made.append(1)
        return {"a": b"1\n"}

    result = merge_tree(base, {"a": b"1\n"}, {"a": b"2\n"}, {"a": sha(b"1\n")}, LABELS)
    assert result.files == {"a": b"2\n"} and not result.conflicts and made == []


def test_an_edit_the_catalog_did_not_touch_stays() -> None:
    assert merge({"a": b"1\n"}, {"a": b"mine\n"}, {"a": b"1\n"}).files == {"a": b"mine\n"}


def test_changes_on_both_sides_in_different_places_merge_cleanly() -> None:
    base = {"a": b"one\ntwo\nthree\nfour\nfive\n"}
    result = merge(base, {"a": b"ONE\ntwo\nthree\nfour\nfive\n"}, {"a": b"one\ntwo\nthree\nfour\nFIVE\n"})
    assert result.files == {"a": b"ONE\ntwo\nthree\nfour\nFIVE\n"} and not result.conflicts


def test_the_same_line_changed_on_both_sides_is_a_conflict_with_git_markers() -> None:
    result = merge({"a": b"x: 1\n"}, {"a": b"x: 2\n"}, {"a": b"x: 3\n"})
    assert result.conflicts == ("a",)
    assert result.files["a"] == b"<<<<<<< yours\nx: 2\n=======\nx: 3\n>>>>>>> new\n"


def test_a_base_that_does_not_match_the_record_is_not_trusted() -> None:
    # The record says the file was "x: 0"; a re-created base saying otherwise must not be used.
    result = merge({"a": b"x: 1\ny: 1\n"}, {"a": b"x: 1\ny: 2\n"}, {"a": b"x: 1\ny: 1\nz: 1\n"},
                   recorded={"a": sha(b"x: 0\n")})
    assert result.conflicts == ("a",)


def test_a_deleted_file_stays_deleted_unless_the_catalog_changed_it() -> None:
    kept = merge({"a": b"1\n"}, {"a": None}, {"a": b"1\n"})
    assert kept.files == {} and kept.notes == ("left a deleted: deleted here, unchanged in the catalog",)
    back = merge({"a": b"1\n"}, {"a": None}, {"a": b"2\n"})
    assert back.files == {"a": b"2\n"} and back.notes == ("restored a: deleted here, changed in the catalog",)


def test_a_file_no_longer_generated_is_left_to_the_writer_or_kept_when_edited() -> None:
    assert merge({"a": b"1\n"}, {"a": b"1\n"}, {}).files == {}  # the writer removes it
    edited = merge({"a": b"1\n"}, {"a": b"mine\n"}, {})
    assert edited.files == {} and edited.notes == ("kept a: edited here, no longer generated",)


def test_a_file_of_yours_where_the_catalog_adds_one_is_adopted_and_merged() -> None:
    result = merge({}, {"b": b"mine\n"}, {"b": b"theirs\n"})
    assert result.adopted == frozenset({"b"}) and result.conflicts == ("b",)
    assert b"mine\n" in result.files["b"] and b"theirs\n" in result.files["b"]
