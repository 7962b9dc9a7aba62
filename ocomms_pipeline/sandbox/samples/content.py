"""Hostile text for the sample dataset: what real chat content does to exporters.

People paste anything into chat. An export must carry it through byte for byte, so the sample
organization's messages include the text that breaks naive code: emoji sequences that are one
glyph but many code points, right-to-left scripts, combining marks, control characters that
JSON must escape, quotes and backslashes, HTML that could end a <script> block, text that looks
like JSON, the Unicode line separators JavaScript treats as newlines, and one very large
message. Kept apart from sample_data so the dataset's shape stays readable there.
"""

from __future__ import annotations

BIG_MESSAGE_BYTES = 100 * 1024  # exactly 100 KiB once encoded as UTF-8

EDGE_CASE_MESSAGES: dict[str, str] = {
    "emoji": (
        "Family 👨\u200d👩\u200d👧\u200d👦, rainbow flag 🏳\ufe0f\u200d🌈, "
        "skin tones 👋🏽👍🏿, keycap 1\ufe0f\u20e3, flag 🇯🇵 and plain 🎉"
    ),
    "rtl": "Arabic: مرحبا بالعالم — Hebrew: שלום עולם — mixed: hello עולם 123 مرحبا!",
    "cjk": "日本語のテキスト、中文文本、한국어 텍스트 and 𠜎𠜱 from the supplementary planes",
    "combining": "Cafe\u0301 vs Café, Zalgo: Z\u0351\u0300a\u0357l\u035bg\u0315o\u0489, n\u0303",
    "control": "bell\x01unit-sep\x1fdelete\x7fend\ttab\r\nCRLF line\nLF line",
    "quotes": 'She said "hi" & \'bye\' — path C:\\temp\\new and a literal \\n, \\u0000, \\"',
    "script": "</script><script>alert('xss')</script> <!-- comment --> <b>bold</b> &amp;",
    "json": '{"id": "not-a-row", "content": "looks like JSON", "nested": [1, 2.5, {"a": null}]}',
    "separators": "line\u2028separator, paragraph\u2029separator, BOM\ufeffinside, nbsp\u00a0here",
}

# Several scripts and byte widths (1 to 4 bytes per code point) so that any truncation or
# re-encoding bug shows up as a length or checksum difference.
_BIG_MESSAGE_CHUNK = (
    "Große Übung naïve façade — Ελληνικά кириллица עברית العربية हिन्दी 日本語 中文 한국어 "
    "emoji 🚀🧪👩\u200d💻 tab\tend.\n"
)


def big_message(size: int = BIG_MESSAGE_BYTES) -> str:
    """Text of exactly `size` UTF-8 bytes, mixed multi-byte, padded with ASCII at the end."""
    chunk_size = len(_BIG_MESSAGE_CHUNK.encode("utf-8"))
    text = _BIG_MESSAGE_CHUNK * (size // chunk_size)
    text += "x" * (size - len(text.encode("utf-8")))
    return text


def sidebar_preferences(org_name: str, channel_ids: list[str]) -> dict[str, object]:
    """A nested jsonb document as the ocomms client stores it, with unicode keys and values."""
    return {
        "version": 2,
        "collapsedSections": ["channels", "direct-messages"],
        "channelOrder": channel_ids,
        "sortMode": {"channels": "manual", "dms": "recent"},
        "starred": [{"id": channel_ids[0], "label": f"{org_name} ⭐ général"}],
        "theme": {"accent": "#4a154b", "compact": True, "fontScale": 1.125, "note": None},
        "labels": {"日本語": "ラベル", "emoji": "🗂️", "rtl": "קבוצה"},
    }


def personal_note(org_name: str) -> str:
    """Markdown as the notes editor saves it."""
    return f'# My notes for {org_name}\n\n- [ ] follow up ✅\n- quote: "done" \\ ok\n'
