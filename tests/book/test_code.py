"""The text shows the library's own code: show_source reads it from flowlib, with its file and
line numbers, and fails loudly when a chapter asks for code that is no longer there."""
from __future__ import annotations

import inspect

import pytest

from flowlib.book.code import SourceError, show_source, source
from flowlib.metrics.fid import frechet_distance
from flowlib.models.flows import AffineCoupling


def test_show_source_is_the_function_itself_with_its_file_and_lines():
    lines, first = inspect.getsourcelines(AffineCoupling.encode)
    md = show_source(AffineCoupling.encode).data
    assert f"**flowlib/models/flows.py**, lines {first}–{first + len(lines) - 1}" in md
    assert "```python\ndef encode(self, x):\n" in md            # dedented, highlighted
    assert "per_example_sum(s)" in md and md.rstrip().endswith("```")


def test_a_part_is_chosen_by_text_and_numbered_as_in_the_file():
    code, where, first, last = source(frechet_distance, start="s1 = (s1 + s1.T) / 2",
                                      stop="value = float(")
    assert where == "flowlib/metrics/fid.py"
    assert code.startswith("s1 = (s1 + s1.T) / 2") and code.rstrip().splitlines()[-1].startswith("value")
    file_lines = open(inspect.getsourcefile(frechet_distance)).read().splitlines()
    assert file_lines[first - 1].strip() == code.splitlines()[0]
    assert file_lines[last - 1].strip() == code.rstrip().splitlines()[-1]


def test_code_that_moved_away_is_an_error_that_names_it():
    with pytest.raises(SourceError, match="'no such line' is not in the source of frechet_distance"):
        source(frechet_distance, start="no such line")
    with pytest.raises(SourceError, match="not inside"):
        source(frechet_distance, lines=(1, 2))
