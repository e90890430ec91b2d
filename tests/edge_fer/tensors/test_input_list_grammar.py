"""The SNPE input-list grammar (CONVENTIONS: Raw tensors and input lists), exactly: what is written
reads back the same, and every line outside the grammar is an error naming the file and the line."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge_fer.errors import EdgeFerError
from edge_fer.tensors.rawio import (
    InputListError,
    format_input_list,
    parse_input_list,
    read_input_list,
)

LIST = Path("/lists/input_list.txt")

# What a name or path may hold: printable, no whitespace (snpe-net-run splits lines at spaces).
_chars = st.characters(blacklist_categories=("Z", "C"), blacklist_characters=":=")
names = st.text(_chars, min_size=1, max_size=12)
# A bare path neither begins with a header mark nor holds ':=' (it would read as a pair).
bare_paths = st.text(_chars, min_size=1, max_size=30).filter(lambda p: p[0] not in "#%")
# The path of a pair may hold ':=' (the name ends at the first one) and begin with anything.
pair_paths = st.text(st.characters(blacklist_categories=("Z", "C")), min_size=1, max_size=30)
bare_entries = bare_paths.map(lambda p: {"": p})
input_names = names.filter(lambda n: n[0] not in "#%")  # the line would read as a header
named_entries = st.dictionaries(input_names, pair_paths, min_size=1, max_size=4)
entries = st.lists(st.one_of(bare_entries, named_entries), min_size=1, max_size=8)
headers = st.one_of(st.none(), st.lists(names, min_size=1, max_size=3))


def resolved(entry: dict[str, str]) -> dict[str, Path]:
    return {name: (Path(p) if Path(p).is_absolute() else LIST.parent / p) for name, p in entry.items()}


@settings(max_examples=150, deadline=None)
@given(entries, headers, headers)
def test_written_lists_read_back_the_same(written, layers, tensors):
    text = format_input_list(written, layers, tensors)
    parsed = parse_input_list(text, LIST)
    assert parsed.entries == [resolved(entry) for entry in written]
    assert parsed.output_layers == (layers or []) and parsed.output_tensors == (tensors or [])
    assert len(parsed) == len(written)


@settings(max_examples=100, deadline=None)
@given(entries, st.data())
def test_two_unnamed_paths_on_a_line_are_an_error_naming_the_line(written, data):
    lines = format_input_list(written).splitlines()
    at = data.draw(st.integers(0, len(lines)))
    first, second = data.draw(bare_paths), data.draw(bare_paths)
    lines.insert(at, f"{first} {second}")
    with pytest.raises(InputListError, match=rf"input_list.txt:{at + 1}: 2 paths without input names"):
        parse_input_list("\n".join(lines) + "\n", LIST)


@settings(max_examples=100, deadline=None)
@given(entries, st.data())
def test_a_nul_byte_anywhere_is_an_error_naming_its_line(written, data):
    text = format_input_list(written)
    at = data.draw(st.integers(0, len(text) - 1))
    broken = text[:at] + "\0" + text[at:]
    line = broken[:at].count("\n") + 1
    with pytest.raises(InputListError, match=rf"input_list.txt:{line}: holds a NUL byte"):
        parse_input_list(broken, LIST)


@given(entries)
def test_a_byte_order_mark_is_an_error_on_line_1(written):
    with pytest.raises(InputListError, match=r"input_list.txt:1: starts with a UTF-8 byte-order mark"):
        parse_input_list("\ufeff" + format_input_list(written), LIST)


@pytest.mark.parametrize(("text", "line", "problem"), [
    ("a.raw\nmy image.raw\n", 2, "2 paths without input names"),           # a path with a space
    ("x:=a.raw y:=b.raw\nx:=c.raw b.raw\n", 2, "2 paths without input names"),
    ("x:=a.raw x:=b.raw\n", 1, "input 'x' is given twice"),
    (":=a.raw y:=b.raw\n", 1, "':=a.raw' is not a name:=path pair"),
    ("x:= y:=b.raw\n", 1, "'x:=' is not a name:=path pair"),
    ("a.raw\n%output\n", 2, "must come before the first input line"),
    ("#\na.raw\n", 1, "names no output layers"),
    ("a.raw\nb\x07.raw\n", 2, "control character"),
])
def test_lines_outside_the_grammar_are_errors_naming_the_line(text, line, problem):
    with pytest.raises(InputListError, match=rf"input_list.txt:{line}: .*{problem}"):
        parse_input_list(text, LIST)


def test_blank_lines_crlf_and_headers_are_taken(tmp_path):
    (tmp_path / "l.txt").write_bytes(b"#conv1 fc\r\n%output:0\r\n\r\n  \r\na.raw\r\nx:=b.raw y:=c:=d.raw\r\n")
    parsed = read_input_list(tmp_path / "l.txt")
    assert parsed.output_layers == ["conv1", "fc"] and parsed.output_tensors == ["output:0"]
    assert parsed.entries == [{"": tmp_path / "a.raw"},
                              {"x": tmp_path / "b.raw", "y": tmp_path / "c:=d.raw"}]
    assert parsed.line_numbers == [5, 6] and parsed.where(1) == f"{tmp_path / 'l.txt'}:6"


def test_bytes_that_are_not_utf8_are_an_error_naming_the_line(tmp_path):
    (tmp_path / "l.txt").write_bytes(b"a.raw\nb.raw\n\xff.raw\n")
    with pytest.raises(InputListError, match=r"l.txt:3: not UTF-8 text \(byte 0xff"):
        read_input_list(tmp_path / "l.txt")


@pytest.mark.parametrize("entry", [{"": "my image.raw"}, {"": "a:=b.raw"}, {"": "#a.raw"},
                                   {"": ""}, {"": "a\nb.raw"}, {"%x": "a.raw"}, {"x y": "a.raw"}])
def test_the_writer_refuses_what_would_not_read_back(entry):
    with pytest.raises(EdgeFerError):
        format_input_list([entry])
