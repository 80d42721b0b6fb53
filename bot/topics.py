"""Names typed by members (a topic, a question id) matched against the bank's, forgiving typos and case.

One rule everywhere: an exact name (ignoring case and spacing) wins, then a name holding the query as one of its
words ("mcp"), if only one does; else the best fuzzy match (rapidfuzz's
WRatio, which also scores a word inside a longer name) is taken when it is both good and clearly ahead of the
next one; else nothing is taken, and the closest names are offered instead. Discord's autocomplete lists the
same closest names as the member types.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process, utils

ACCEPT = 88  # a fuzzy match this good is taken...
LEAD = 6  # ...when the next best trails it by at least this much
SUGGESTED = 3  # closest names offered for an unknown one
SUGGEST_FLOOR = 50  # names scoring below this are not worth offering
AUTOCOMPLETE = 25  # Discord shows at most 25 choices


@dataclass(frozen=True)
class Match:
    name: str | None  # the name taken, or None
    suggestions: tuple[str, ...] = ()  # the closest names, when none was taken


def _key(text: str) -> str:
    return " ".join(text.casefold().split())


def _words(name: str) -> set[str]:
    return set(utils.default_process(name).split())


def match(query: str, names: Sequence[str]) -> Match:
    wanted = _key(query)
    if not wanted:
        return Match(None, tuple(names[:SUGGESTED]))
    for name in names:
        if _key(name) == wanted:
            return Match(name)
    by_word = [name for name in names if wanted in _words(name)]  # "mcp": "Model Context Protocol (MCP)"
    if len(by_word) == 1:
        return Match(by_word[0])
    scored = process.extract(query, list(names), scorer=fuzz.WRatio, processor=utils.default_process,
                             limit=max(SUGGESTED, 2))
    if scored:
        best, score, _ = scored[0]
        runner_up = scored[1][1] if len(scored) > 1 else 0.0
        if score >= ACCEPT and score - runner_up >= LEAD:
            return Match(best)
    return Match(None, tuple(name for name, score, _ in scored[:SUGGESTED] if score >= SUGGEST_FLOOR))


def closest(query: str, names: Sequence[str], limit: int = AUTOCOMPLETE) -> list[str]:
    """The names to offer while a member types `query` (all of them, in order, before anything is typed)."""
    if not _key(query):
        return list(names[:limit])
    starts = [n for n in names if _key(n).startswith(_key(query))]
    scored = process.extract(query, list(names), scorer=fuzz.WRatio, processor=utils.default_process, limit=limit)
    rest = [name for name, score, _ in scored if score >= SUGGEST_FLOOR and name not in starts]
    return (starts + rest)[:limit]
