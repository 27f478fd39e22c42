"""xsender.spreadsheet: what a spreadsheet would run is quoted; numbers and plain text are not; the quote comes off
again on import."""

from __future__ import annotations

import pytest

from xsender.spreadsheet import from_spreadsheet, spreadsheet_safe


@pytest.mark.parametrize(
    ("value", "safe"),
    [("=1+2", "'=1+2"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"), ("\rx", "'\rx"), ("+cmd", "'+cmd"),
     ("-x", "'-x"), ("+1 555 0100", "+1 555 0100"), ("-12.5", "-12.5"), ("Ann", "Ann"), ("", ""),
     ("a=b", "a=b")],
)  # fmt: skip
def test_what_runs_is_quoted_and_comes_back(value, safe):
    assert spreadsheet_safe(value) == safe
    assert from_spreadsheet(safe) == value


def test_a_quote_before_plain_text_stays():
    assert from_spreadsheet("'tis") == "'tis"


def test_a_value_that_already_starts_with_a_quoted_formula_loses_that_quote_on_import():
    """The one value the round trip changes: quoted by its author, it is read as our export's quote."""
    assert spreadsheet_safe("'=already") == "'=already"
    assert from_spreadsheet("'=already") == "=already"
