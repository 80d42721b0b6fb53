"""Discord's message limits, and text splitting that keeps to them.

Text is split at paragraph, line or word boundaries; a word is cut only when it
alone is longer than the limit, and then the cut is marked. A chunk that ends
inside a ``` block closes it and the next chunk reopens it, so code stays code.
"""

from __future__ import annotations

CONTENT = 2000  # characters of message content
DESCRIPTION = 4096  # characters of one embed's description
TITLE = 256
FIELD_NAME = 256
FIELD_VALUE = 1024
FIELDS = 25  # fields per embed
EMBEDS = 10  # embeds per message
TOTAL = 6000  # characters of all embeds of one message together
BUTTONS = 25  # 5 rows of 5
THREAD_NAME = 100

MARK = "…"  # where a word (or a text) had to be cut
FENCE = "```"
_CLOSE = "\n" + FENCE
_REOPEN = FENCE + "\n"


def split_text(text: str, limit: int) -> list[str]:
    """Chunks of at most `limit` characters that read as the text did, cut only at boundaries (or marked)."""
    if limit < 16:
        raise ValueError("limit too small to split text sensibly")
    chunks: list[str] = []
    rest = text
    while len(rest) > limit:
        chunk, after = _cut(rest, limit)
        if chunk.count(FENCE) % 2:  # the cut falls inside a code block: leave room to close it
            chunk, after = _cut(rest, limit - len(_CLOSE))
            if chunk.count(FENCE) % 2:
                chunk, after = chunk + _CLOSE, _REOPEN + after
        chunks.append(chunk)
        rest = after
    if rest.strip() or not chunks:
        chunks.append(rest)
    return chunks


def _cut(text: str, limit: int) -> tuple[str, str]:
    """One chunk of at most `limit` characters and the rest, cut at the best boundary."""
    for separator in ("\n\n", "\n", " "):
        at = text.rfind(separator, 0, limit + len(separator))  # a separator right after the limit still cuts cleanly
        if at > limit // 2 or (separator == " " and at > 0):
            return text[:at].rstrip(), text[at + len(separator):].lstrip("\n")
    # One word longer than the limit: cut it and say so.
    at = limit - len(MARK)
    return text[:at] + MARK, text[at:]


def shorten(text: str, limit: int) -> str:
    """The text cut at a word boundary to `limit` characters, with a marker when anything was cut."""
    if len(text) <= limit:
        return text
    head = text[: limit - len(MARK)]
    space = head.rfind(" ")
    if space > limit // 2:
        head = head[:space]
    return head.rstrip() + MARK
