"""What an SMS costs: one credit per segment."""

from __future__ import annotations

import pytest

from messaging.segments import sms_encoding, sms_segments


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),  # extension characters take two septets: 160
        ("€" * 81, 2),
        ("é" * 160, 1),  # é is in the GSM basic table
        ("ü" * 70 + "😀", 2),  # one emoji makes it UCS-2: 72 units
        ("😀" * 35, 1),  # 70 UTF-16 units
        ("😀" * 36, 2),
        ("a\xa0b" * 30, 2),  # a non-breaking space is not GSM: 90 characters of UCS-2
    ],
)
def test_segment_count(text, segments):
    assert sms_segments(text) == segments


def test_curly_quote_forces_ucs2():
    assert (sms_encoding("it's"), sms_encoding("it\u2019s")) == ("GSM-7", "UCS-2")
