"""CSV cells a spreadsheet opens safely: a text it would run as a formula gets a leading quote (OWASP's rule for
CSV injection), and our own imports take that quote off again, so an export imports back unchanged.

Every CSV the product writes from data someone else typed goes through `spreadsheet_safe` (the History export
does the same in SQL, messaging.selectors): a contact named `=HYPERLINK(…)`, a provider's error text, a link."""

from __future__ import annotations

import re

# A number, perhaps signed, perhaps with spaces or dots: phone numbers (+1 555 …) and amounts stay as they are.
NUMBER = re.compile(r"^[+-]?[0-9][0-9 .]*$")
_FORMULA_START = "=@\t\r"


def _runs(value: str) -> bool:
    return bool(value) and (value[0] in _FORMULA_START or (value[0] in "+-" and not NUMBER.match(value)))


def spreadsheet_safe(value: str) -> str:
    """`value` with a leading quote when a spreadsheet would run it (=, @, tab, CR, or + / - not starting a
    number)."""
    return "'" + value if _runs(value) else value


def from_spreadsheet(value: str) -> str:
    """What `spreadsheet_safe` was given: its leading quote taken off again (only before what it quotes)."""
    return value[1:] if value[:1] == "'" and _runs(value[1:]) else value
