"""Parse the text after /quiz into a command; the same grammar on every platform."""

from __future__ import annotations

import shlex
from dataclasses import dataclass

SUBCOMMANDS: tuple[str, ...] = ("post", "leaderboard", "stats", "review", "setup", "dashboard", "mock", "topic",
                                "export", "broken", "help")
ADMIN_ONLY: tuple[str, ...] = ("post", "setup", "broken")
MAX_COMMAND = 500
TEAM = ("suggest", "suggestions", "flag", "flags", "forget-me")  # the team features (bot/team.py)
SUBCOMMANDS = tuple(s for s in SUBCOMMANDS if s != "help") + TEAM + ("help",)
ADMIN_ONLY += ("suggestions", "flags")


@dataclass(frozen=True)
class Command:
    name: str  # "quiz" (a personal question), or one of SUBCOMMANDS
    level: str | None = None
    args: tuple[str, ...] = ()


class CommandError(ValueError):
    """A command that cannot be run; the message says what would work."""


def usage(levels: tuple[str, ...]) -> str:
    return f"Valid levels: {', '.join(levels)}. Subcommands: {', '.join(SUBCOMMANDS)}."


def parse(text: str, levels: tuple[str, ...]) -> Command:
    clean = "".join(ch if ch.isprintable() else " " for ch in text).strip()
    if len(clean) > MAX_COMMAND:
        raise CommandError(f"That command is {len(clean)} characters long; /quiz takes a few words. {usage(levels)}")
    words = _split(clean)
    if not words:
        return Command("quiz")
    head, rest = words[0].lower(), tuple(words[1:])
    if head in ("forget", "forgetme") and rest[:1] and rest[0].lower() == "me":  # "/quiz forget me"
        head, rest = "forget-me", rest[1:]
    level = _level(head, levels)
    if level is not None:
        if rest:
            raise CommandError(f"`/quiz {level}` takes nothing after the level. {usage(levels)}")
        return Command("quiz", level=level)
    if head not in SUBCOMMANDS:
        raise CommandError(f"Unknown level or subcommand `{head[:40]}`. {usage(levels)}")
    if head == "post":
        return _post(rest, levels)
    if head == "leaderboard":
        return _leaderboard(rest)
    if head == "mock":
        return _mock(rest, levels)
    if head == "topic":
        return Command("topic", args=(" ".join(rest),) if rest else ())
    if head == "export":
        if rest:
            raise CommandError("`/quiz export` takes nothing more: it sends you your missed questions as an Anki deck.")
        return Command("export")
    if head == "stats":
        if rest and rest != ("team",):
            raise CommandError(
                "Use `/quiz stats` for your own record or `/quiz stats team` for the team's weak topics.")
        return Command("stats", args=rest)
    if head == "dashboard":
        if rest and tuple(w.lower() for w in rest) != ("revoke",):
            raise CommandError("Use `/quiz dashboard` for your private link, or `/quiz dashboard revoke` (admins) "
                               "to make every link given out so far stop working.")
        return Command("dashboard", args=tuple(w.lower() for w in rest))
    return Command(head, args=rest)


def _split(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError:  # an unbalanced quote: fall back to plain words
        return text.split()


def _level(word: str, levels: tuple[str, ...]) -> str | None:
    for level in levels:
        if word == level.lower():
            return level
    return None


def _post(rest: tuple[str, ...], levels: tuple[str, ...]) -> Command:
    if not rest:
        return Command("post")
    level = _level(rest[0].lower(), levels)
    if level is None or len(rest) > 1:
        raise CommandError(f"`/quiz post` takes one optional level. Valid levels: {', '.join(levels)}.")
    return Command("post", level=level)


def _mock(rest: tuple[str, ...], levels: tuple[str, ...]) -> Command:
    if not rest:
        return Command("mock")
    if len(rest) == 1 and rest[0].lower() == "stop":
        return Command("mock", args=("stop",))
    level = _level(rest[0].lower(), levels)
    if level is None or len(rest) > 1:
        raise CommandError(f"Use `/quiz mock [level]` to start a mock interview, or `/quiz mock stop` to end yours. "
                           f"Valid levels: {', '.join(levels)}.")
    return Command("mock", level=level)


def _leaderboard(rest: tuple[str, ...]) -> Command:
    scope = rest[0].lower() if rest else "week"
    if scope not in ("week", "all", "season") or len(rest) > 1:
        raise CommandError("Use `/quiz leaderboard week` (the default), `/quiz leaderboard season` or "
                           "`/quiz leaderboard all`.")
    return Command("leaderboard", args=(scope,))
