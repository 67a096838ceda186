"""core.utils.tables: the cell formats the cost reports share, and rows that do not fit."""

from __future__ import annotations

import pytest

from core.utils.tables import format_count, orgtbl, precision_label, simple


def test_format_count():
    assert format_count(None) == "-"
    assert format_count(1234567) == "1,234,567"
    assert format_count(1024.0) == "1,024"            # an integral float prints as a count
    assert format_count(2.5) == "2.50"
    assert format_count(1234.25, decimals=1) == "1,234.2"  # round half to even at .25 -> .2
    assert format_count(0) == "0"


def test_precision_label():
    assert precision_label({}) == "" and precision_label(None) == ""
    assert precision_label({"data_in_0": "integer(8, 4)", "weight": "integer(8, 4)"}) == "integer(8, 4)"
    assert precision_label({"data_in_0": "float32", "weight": "integer(8, 4)"}) == \
        "data_in_0 float32, weight integer(8, 4)"
    shorten = {"float32": "fp32"}.get
    assert precision_label({"a": "float32", "b": "float32"}, lambda s: shorten(s, s)) == "fp32"
    assert precision_label("float32") == "float32"


def test_rows_longer_than_the_headers_are_refused():
    assert orgtbl(["a", "b"], [[1, "x"]]) == "| a | b |\n|---+---|\n| 1 | x |"
    with pytest.raises(ValueError):
        orgtbl(["a"], [[1, 2]])
    with pytest.raises(ValueError):
        simple(["a"], [["x", "y"]])
