"""The JSON parser of every API view: a bounded nesting depth, text only, and every parse failure a 400."""

from __future__ import annotations

import io
import re
from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

# Our deepest legitimate bodies (a send with attachments, a provider's webhook) nest under 10 levels.
MAX_DEPTH = 32
# JSON may escape a UTF-16 surrogate alone ("\ud800"): Python decodes it to a str that no UTF-8 encoder (PostgreSQL,
# the SMTP and HTTP clients) accepts. A pair is one character once decoded; what is left in this range is alone.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


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


def lone_surrogate(value: Any) -> bool:
    """Whether a string of `value` (keys included) holds a UTF-16 surrogate that is not part of a pair."""
    pending = [value]
    while pending:
        item = pending.pop()
        if type(item) is str:
            if _SURROGATE.search(item):
                return True
        elif type(item) is dict:
            pending.extend(item.keys())
            pending.extend(item.values())
        elif type(item) is list:
            pending.extend(item)
    return False


def storable(value: Any) -> Any:
    """`value` (strings, lists, dicts, anything else as it is) with what no text column or jsonb value takes
    replaced: NUL dropped, a lone UTF-16 surrogate made U+FFFD. For data we must keep whatever a provider sent
    (its signed webhooks), where refusing would only make it send the same again."""
    if type(value) is str:
        if "\x00" in value:
            value = value.replace("\x00", "")
        return _SURROGATE.sub("\ufffd", value) if _SURROGATE.search(value) else value
    if type(value) is dict:
        return {storable(k): storable(v) for k, v in value.items()}
    if type(value) is list:
        return [storable(v) for v in value]
    if type(value) is tuple:
        return tuple(storable(v) for v in value)
    return value


class BoundedJSONParser(JSONParser):
    """DRF's JSONParser, refusing bodies nested deeper than MAX_DEPTH.

    Python's decoder recurses per level and raises RecursionError (not ValueError) on very deep input, which
    DRF does not catch: a 100,000-deep body was a 500. A string escaping a lone UTF-16 surrogate is not text
    and failed wherever it was written (a 500). Each is a ParseError now, which each dialect's exception handler
    renders as its 400. The strings are searched only when the raw body holds such an escape (one scan in C).
    """

    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict[str, Any] | None = None) -> Any:
        too_deep = f"JSON parse error - the body nests deeper than {MAX_DEPTH} levels."
        body = stream.read() if stream is not None else b""
        try:
            data = super().parse(io.BytesIO(body), media_type, parser_context)
        except RecursionError:
            raise ParseError(too_deep) from None
        if depth_exceeds(data):
            raise ParseError(too_deep)
        if _SURROGATE_ESCAPE.search(body) and lone_surrogate(data):
            raise ParseError("JSON parse error - a string holds an unpaired UTF-16 surrogate (\\ud800-\\udfff).")
        return data
