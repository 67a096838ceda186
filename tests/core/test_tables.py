"""core.utils.tables: the cell formats the cost reports share, and rows that do not fit."""

from __future__ import annotations

import pytest

from core.utils.tables import format_count, orgtbl, simple


def test_format_count():
    assert format_count(None) == "-"
    assert format_count(1234567) == "1,234,567"
    assert format_count(1024.0) == "1,024"            # an integral float prints as a count
    assert format_count(2.5) == "2.50"
    assert format_count(1234.25, decimals=1) == "1,234.2"  # round half to even at .25 -> .2
    assert format_count(0) == "0"


def test_rows_longer_than_the_headers_are_refused():
    assert orgtbl(["a", "b"], [[1, "x"]]) == "| a | b |\n|---+---|\n| 1 | x |"
    with pytest.raises(ValueError):
        orgtbl(["a"], [[1, 2]])
    with pytest.raises(ValueError):
        simple(["a"], [["x", "y"]])
