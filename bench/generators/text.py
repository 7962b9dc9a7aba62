"""Chat text for the benchmark organization, already in COPY's text format.

Message bodies are drawn word by word from a vocabulary that mixes the byte widths real chat
has (ASCII, accented Latin, Cyrillic, Greek, CJK, emoji) and the characters JSON must escape
(quotes, backslashes, newlines, tabs), so the export's serialisation cost is that of real
text, not of ASCII filler. Everything is escaped for ``COPY ... FROM STDIN`` once, per word,
not per row.
"""

from __future__ import annotations

import numpy as np

BIG_MESSAGE_BYTES = 100 * 1024

_WORDS = (  # noqa: SIM905 (a paragraph of words reads better than a list)
    "the a to and of in is it you that for on we this be with are have can will just "
    "about deploy release build test review merge branch ticket sprint meeting standup "
    "docs api latency database index query cache queue worker schedule incident "
    "postmortem rollback customer invoice budget roadmap design figma prototype launch "
    "metrics dashboard alert thanks please sure yes no maybe later today tomorrow friday "
    "lunch coffee weekend café naïve façade résumé jalapeño über straße größe déjà señor "
    "привет спасибо задача релиз сервер база данные γεια ευχαριστώ δοκιμή 日本語 テスト 会議 中文 "
    "测试 数据库 한국어 회의 🚀 🎉 👍 🙏 😂 🔥 ✅ 👀 ❤️ 👩\u200d💻"
).split()
# Words that make JSON escape: quotes, a backslash path, a tab-separated pair.
_TRICKY = ['"quoted"', "C:\\temp\\new", "tab\there", "it's", "<b>bold</b>", "50%"]
_EMOJI = ["👍", "🎉", "❤️", "😂", "🚀", "👀", "🙏", "🔥", "✅", "👩\u200d💻", "+1", "eyes"]
_BIG_CHUNK = (
    "Große Übung naïve façade — Ελληνικά кириллица עברית العربية हिन्दी 日本語 中文 한국어 "
    "emoji 🚀🧪👩\u200d💻 tab\tend.\n"
)


def copy_text(value: str) -> str:
    """A string escaped for COPY's text format (backslash, tab, newline, carriage return)."""
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )


class Vocabulary:
    """Word tables indexed by integer, so a message is an array of word numbers."""

    def __init__(self) -> None:
        words = _WORDS + _TRICKY
        self.words = [copy_text(w) for w in words]
        self.emoji = [copy_text(e) for e in _EMOJI]
        self.size = len(words)
        # Zipf-like frequencies: short common words dominate, as in real chat.
        weights = 1.0 / np.arange(1, self.size + 1) ** 0.9
        self.weights = weights / weights.sum()

    def message(self, numbers: list[int], newline_at: int) -> str:
        """The content of one message, in COPY text format."""
        words = [self.words[n] for n in numbers]
        if 0 < newline_at < len(words):
            words[newline_at] = words[newline_at] + "\\n"
        return " ".join(words)


def big_message(size: int = BIG_MESSAGE_BYTES) -> str:
    """About ``size`` UTF-8 bytes of mixed-width text, in COPY text format."""
    width = len(_BIG_CHUNK.encode("utf-8"))
    return copy_text(_BIG_CHUNK * (size // width + 1))


def snippet(content: str, limit: int = 80) -> str:
    """The start of a message as a notification quotes it, cut at a word boundary."""
    if len(content) <= limit:
        return content
    cut = content.rfind(" ", 0, limit)
    # A cut inside an escape would leave a backslash that escapes the next delimiter.
    return content[: cut if cut > 0 else limit].rstrip("\\") + "…"
