"""SMS segment count, which is what an SMS costs.

GSM-7 carries 160 characters in one part, 153 per part once concatenated (the UDH takes 7); characters of
the extension table (€ [ ] { } ~ ^ \\ |) take two septets. One character outside GSM 03.38 — an emoji,
a curly quote, even a non-breaking space — switches the whole message to UCS-2: 70 per part, 67 when
concatenated, counted in UTF-16 code units (an emoji is two).
"""

from __future__ import annotations

import math

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)


def _gsm_septets(text: str) -> int | None:
    try:
        return len(text.encode("gsm03.38"))
    except UnicodeEncodeError:
        return None


def sms_segments(text: str) -> int:
    septets = _gsm_septets(text)
    if septets is not None:
        return 1 if septets <= 160 else math.ceil(septets / 153)
    units = len(text.encode("utf-16-le")) // 2
    return 1 if units <= 70 else math.ceil(units / 67)


def sms_encoding(text: str) -> str:
    return "GSM-7" if _gsm_septets(text) is not None else "UCS-2"
