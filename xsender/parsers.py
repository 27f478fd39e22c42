"""The JSON parser of every API view: a bounded nesting depth, and every parse failure a 400."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

# Our deepest legitimate bodies (a send with attachments, a provider's webhook) nest under 10 levels.
MAX_DEPTH = 32


def depth_exceeds(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether `value` nests containers deeper than `limit`; level by level, so it needs no recursion."""
    level = [value] if type(value) in (dict, list) else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return True
        level = [v for c in level for v in (c.values() if type(c) is dict else c) if type(v) in (dict, list)]
    return False


class BoundedJSONParser(JSONParser):
    """DRF's JSONParser, refusing bodies nested deeper than MAX_DEPTH.

    Python's decoder recurses per level and raises RecursionError (not ValueError) on very deep input, which
    DRF does not catch: a 100,000-deep body was a 500. Both cases are a ParseError now, which each dialect's
    exception handler renders as its 400.
    """

    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict[str, Any] | None = None) -> Any:
        too_deep = f"JSON parse error - the body nests deeper than {MAX_DEPTH} levels."
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(too_deep) from None
        if depth_exceeds(data):
            raise ParseError(too_deep)
        return data
