"""The `/quiz` slash command: its subcommands, and each use as the engine's command text.

`/quiz advanced` is typed as such: every level of the question bank is a
subcommand, next to `any`, `post`, `leaderboard`, `stats`, `review`, `setup`,
`mock`, `topic` (with an autocomplete over the bank's topics), `export`, `broken`
and `help`. A use becomes the text that follows `/quiz` on every platform
("advanced", "post basic", "setup channel=123 time=09:00"), and the engine
parses it, so the rules stay in one place.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shlex
from collections.abc import Awaitable, Callable, Mapping

import discord
from discord import app_commands

log = logging.getLogger(__name__)

Run = Callable[[discord.Interaction, str], Awaitable[None]]

FIXED: tuple[str, ...] = ("any", "post", "leaderboard", "stats", "review", "setup", "dashboard", "mock", "topic",
                          "export", "broken", "help")
FIXED += ("suggest", "suggestions", "flag", "flags", "forget-me")  # the team features (bot/team.py)
MAX_SUBCOMMANDS = 25  # Discord's limit per command
_NAME = re.compile(r"^[-_\w]{1,32}$")
SETUP_OPTIONS: tuple[str, ...] = ("channel", "time", "days", "timezone", "reveal", "weekly", "hidden", "open",
                                  "mock_mc", "mock_open")
SETUP_OPTIONS += ("season", "remind", "ping")  # the team features (bot/team.py)
AUTOCOMPLETE_CHOICES = 25  # Discord's limit
Complete = Callable[[str, str], Awaitable[list[str]]]  # (what: "topic" or "question", typed so far) -> names


def command_text(name: str, options: Mapping[str, object] | None = None) -> str:
    """A subcommand and its options as the text after `/quiz`."""
    options = {k: v for k, v in (options or {}).items() if v is not None}
    if name == "any":
        return ""
    if name == "setup":
        pairs = [f"{key}={_setup_value(options[key])}" for key in SETUP_OPTIONS if key in options]
        return " ".join(["setup", *(shlex.quote(p) for p in pairs)])
    if name == "stats":
        return "stats team" if options.get("team") else "stats"
    if name == "dashboard":
        return "dashboard revoke" if options.get("revoke") else "dashboard"
    if name in TEAM_TEXT:
        return TEAM_TEXT[name](options)
    if name == "review":
        return f"review remind {options['remind']}" if options.get("remind") else "review"
    if name == "mock":
        if options.get("stop"):
            return "mock stop"
        return f"mock {options['level']}" if options.get("level") else "mock"
    if name == "broken":
        words = ["broken", *([str(options["question"])] if options.get("question") else [])]
        if options.get("question") and options.get("off"):
            words.append("off")
        elif options.get("question") and options.get("reason"):
            words += str(options["reason"]).split()
        return " ".join(shlex.quote(w) if w != "broken" else w for w in words)
    return " ".join([name, *(str(v) for v in options.values())])


def _setup_value(value: object) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, discord.abc.Snowflake):
        return str(value.id)
    return " ".join(str(value).split())


def raw_command_text(data: Mapping | None) -> str:
    """The text of a use discord.py could not match (a subcommand we no longer have), from its payload."""
    words: list[str] = []
    options = list((data or {}).get("options") or [])
    while len(options) == 1 and "value" not in options[0]:  # a subcommand: its own options follow
        words.append(str(options[0].get("name", "")))
        options = list(options[0].get("options") or [])
    words += [str(o["value"]) for o in options if "value" in o]
    return " ".join(w for w in words if w)


def usable_levels(levels: tuple[str, ...]) -> list[str]:
    """Levels that can be subcommand names (lowercase, 1-32 word characters, not a fixed subcommand)."""
    out: list[str] = []
    for level in levels:
        name = level.lower()
        if not _NAME.fullmatch(name) or name in FIXED or name in out:
            log.warning("level %r cannot be a /quiz subcommand on Discord; skipped", level)
            continue
        if len(out) + len(FIXED) >= MAX_SUBCOMMANDS:
            log.warning("too many levels for Discord's 25 subcommands: %r and later ones skipped", level)
            break
        out.append(name)
    return out


def build_quiz(levels: tuple[str, ...], run: Run, complete: Complete | None = None) -> app_commands.Group:
    """The /quiz group; each subcommand hands its text to `run`. `complete` feeds the autocompletes."""
    quiz = app_commands.Group(name="quiz", description="LLM interview practice: questions, leaderboard, stats")
    names = usable_levels(levels)
    for level in names:
        description = f"A question of level {level} now, only for you"[:100]
        quiz.add_command(app_commands.Command(name=level, description=description, callback=_fixed(run, level)))
    quiz.add_command(app_commands.Command(name="any", description="A question of any level now, only for you",
                                          callback=_fixed(run, "")))
    quiz.add_command(_post(run, names))
    quiz.add_command(_leaderboard(run))
    quiz.add_command(_stats(run))
    quiz.add_command(_review(run))
    quiz.add_command(_setup(run))
    quiz.add_command(_mock(run, names))
    quiz.add_command(_topic(run, complete))
    quiz.add_command(app_commands.Command(name="export", description="Your missed questions as an Anki deck, privately",
                                          callback=_fixed(run, "export")))
    quiz.add_command(_broken(run, complete))
    quiz.add_command(_dashboard(run))
    for command in _team(run, names):
        quiz.add_command(command)
    quiz.add_command(app_commands.Command(name="help", description="What the /quiz commands do",
                                          callback=_fixed(run, "help")))
    return quiz


def _fixed(run: Run, text: str):
    async def callback(interaction: discord.Interaction) -> None:
        await run(interaction, text)

    return callback


def _post(run: Run, levels: list[str]) -> app_commands.Command:
    @app_commands.describe(level="The level of the question (default: any)")
    @app_commands.choices(level=[app_commands.Choice(name=lv, value=lv) for lv in levels])
    async def post(interaction: discord.Interaction, level: str | None = None) -> None:
        await run(interaction, command_text("post", {"level": level}))

    return app_commands.Command(name="post", description="Post a channel round now (admins)", callback=post)


def _leaderboard(run: Run) -> app_commands.Command:
    @app_commands.describe(scope="This week (default) or all time")
    @app_commands.choices(scope=[app_commands.Choice(name="this week", value="week"),
                                 app_commands.Choice(name="this season", value="season"),
                                 app_commands.Choice(name="all time", value="all")])
    async def leaderboard(interaction: discord.Interaction, scope: str | None = None) -> None:
        await run(interaction, command_text("leaderboard", {"scope": scope}))

    return app_commands.Command(name="leaderboard", description="The ranking, this week by default",
                                callback=leaderboard)


def _stats(run: Run) -> app_commands.Command:
    @app_commands.describe(team="The team's weakest topics instead of your own record (admins)")
    async def stats(interaction: discord.Interaction, team: bool = False) -> None:
        await run(interaction, command_text("stats", {"team": team}))

    return app_commands.Command(name="stats", description="Your record: answered, correct, streak", callback=stats)


def _review(run: Run) -> app_commands.Command:
    @app_commands.describe(remind="Turn the daily review reminder on or off")
    @app_commands.choices(remind=[app_commands.Choice(name="on", value="on"),
                                  app_commands.Choice(name="off", value="off")])
    async def review(interaction: discord.Interaction, remind: str | None = None) -> None:
        await run(interaction, command_text("review", {"remind": remind}))

    return app_commands.Command(name="review", description="Your next question due for review", callback=review)


def _setup(run: Run) -> app_commands.Command:
    @app_commands.describe(
        channel="Channel of the daily question (default: this one)", time="Time of the daily question, HH:MM, or off",
        days="Days, e.g. mon-fri or mon,wed,fri", timezone="IANA time zone, e.g. Europe/Berlin",
        reveal="Time from post to reveal, e.g. 8h or 30m", weekly="Weekly leaderboard, e.g. 'mon 09:00', or off",
        hidden="Hidden votes: buttons instead of reactions, tally hidden until the reveal",
        open="Open-ended questions in channel rounds, answered in words (default: off)",
        mock_mc="Mock interview: time limit per multiple-choice question, e.g. 60s",
        mock_open="Mock interview: time limit per open-ended question, e.g. 5m",
        season="A season leaderboard, restarting each month or quarter (or off)",
        remind="A reminder in the round's thread before the reveal, e.g. 1h, or off",
        ping="A role mentioned on the daily post", no_ping="Stop mentioning a role on the daily post",
    )
    @app_commands.choices(season=[app_commands.Choice(name=s, value=s) for s in ("monthly", "quarterly", "off")])
    async def setup(interaction: discord.Interaction, channel: discord.TextChannel | None = None,
                    time: app_commands.Range[str, 1, 40] | None = None,
                    days: app_commands.Range[str, 1, 60] | None = None,
                    timezone: app_commands.Range[str, 1, 60] | None = None,
                    reveal: app_commands.Range[str, 1, 40] | None = None,
                    weekly: app_commands.Range[str, 1, 40] | None = None, hidden: bool | None = None,
                    open: bool | None = None,  # the option's name as members see it
                    mock_mc: app_commands.Range[str, 1, 20] | None = None,
                    mock_open: app_commands.Range[str, 1, 20] | None = None, season: str | None = None,
                    remind: app_commands.Range[str, 1, 20] | None = None, ping: discord.Role | None = None,
                    no_ping: bool = False) -> None:
        options: dict[str, object] = {
            "channel": channel, "time": time, "days": days, "timezone": timezone, "reveal": reveal,
            "weekly": weekly, "hidden": hidden, "open": open, "mock_mc": mock_mc, "mock_open": mock_open}
        options |= {"season": season, "remind": remind, "ping": "off" if no_ping else ping}
        await run(interaction, command_text("setup", options))

    return app_commands.Command(name="setup", description="Channel, time, days, time zone, reveal delay (admins)",
                                callback=setup)


def _dashboard(run: Run) -> app_commands.Command:
    @app_commands.describe(revoke="Make every dashboard link given out so far stop working (admins)")
    async def dashboard(interaction: discord.Interaction, revoke: bool = False) -> None:
        await run(interaction, command_text("dashboard", {"revoke": revoke}))

    return app_commands.Command(name="dashboard", description="A private link to the web dashboard",
                                callback=dashboard)


def _mock(run: Run, levels: list[str]) -> app_commands.Command:
    @app_commands.describe(level="Where the difficulty starts (default: intermediate)",
                           stop="End your open mock interview now, with a report so far")
    @app_commands.choices(level=[app_commands.Choice(name=lv, value=lv) for lv in levels])
    async def mock(interaction: discord.Interaction, level: str | None = None, stop: bool = False) -> None:
        await run(interaction, command_text("mock", {"level": level, "stop": stop}))

    return app_commands.Command(name="mock", description="A private mock interview: 5 timed questions, then a report",
                                callback=mock)


def _autocomplete(complete: Complete | None, what: str):
    async def choices(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        names = await complete(what, current) if complete is not None else []
        return [app_commands.Choice(name=n[:100], value=n[:100]) for n in names[:AUTOCOMPLETE_CHOICES]]

    return choices


def _topic(run: Run, complete: Complete | None) -> app_commands.Command:
    @app_commands.describe(topic="A topic of the question bank")
    @app_commands.autocomplete(topic=_autocomplete(complete, "topic"))
    async def topic(interaction: discord.Interaction, topic: app_commands.Range[str, 1, 100]) -> None:
        await run(interaction, f"topic {shlex.quote(topic)}")

    return app_commands.Command(name="topic", description="A question on one topic now, only for you", callback=topic)


def _broken(run: Run, complete: Complete | None) -> app_commands.Command:
    @app_commands.describe(question="The question's id (empty: the list of broken questions)",
                           off="Bring the question back", reason="Why it is broken, for the other admins")
    @app_commands.autocomplete(question=_autocomplete(complete, "question"))
    async def broken(interaction: discord.Interaction, question: app_commands.Range[str, 1, 100] | None = None,
                     off: bool = False, reason: app_commands.Range[str, 1, 200] | None = None) -> None:
        await run(interaction, command_text("broken", {"question": question, "off": off, "reason": reason}))

    return app_commands.Command(name="broken", description="Mark a question broken so no pick draws it (admins)",
                                callback=broken)



# ---- the team features: suggestions, reports, forgetting a member ---------------------------------------------

TEAM_TEXT = {
    "suggest": lambda o: " ".join(["suggest", *(shlex.quote(f"{k}={o[k]}") for k in ("level", "topic") if o.get(k))]),
    "suggestions": lambda o: " ".join(["suggestions", *([o["action"], str(o["number"])] if o.get("action") and
                                                        o.get("number") is not None else []),
                                       *([shlex.quote(str(o["reason"]))] if o.get("action") == "reject"
                                         and o.get("reason") else [])]),
    "flag": lambda o: " ".join(["flag", *([str(o["reason"])] if o.get("reason") else [])]),
    "flags": lambda o: " ".join(["flags", *(["clear", shlex.quote(str(o["clear"]))] if o.get("clear") else [])]),
    "forget-me": lambda o: "forget-me",
}


def _team(run: Run, levels: list[str]) -> list[app_commands.Command]:
    @app_commands.describe(level="The question's level", topic="A short topic name, e.g. Tokenization")
    @app_commands.choices(level=[app_commands.Choice(name=lv, value=lv) for lv in levels])
    async def suggest(interaction: discord.Interaction, level: str,
                      topic: app_commands.Range[str, 1, 60]) -> None:
        await run(interaction, command_text("suggest", {"level": level, "topic": topic}))

    @app_commands.describe(action="What to do with a suggestion (empty: the list)", number="The suggestion's number",
                           reason="Why it is rejected (sent to its author)")
    @app_commands.choices(action=[app_commands.Choice(name=a, value=a) for a in ("approve", "edit", "reject")])
    async def suggestions(interaction: discord.Interaction, action: str | None = None,
                          number: app_commands.Range[int, 1, 10**12] | None = None,
                          reason: app_commands.Range[str, 1, 300] | None = None) -> None:
        await run(interaction, command_text("suggestions", {"action": action, "number": number, "reason": reason}))

    @app_commands.describe(reason="What is wrong with it (optional)")
    async def flag(interaction: discord.Interaction, reason: app_commands.Range[str, 1, 200] | None = None) -> None:
        await run(interaction, command_text("flag", {"reason": reason}))

    @app_commands.describe(clear="A question's id: its reports were looked at, rounds may ask it again")
    async def flags(interaction: discord.Interaction, clear: app_commands.Range[str, 1, 100] | None = None) -> None:
        await run(interaction, command_text("flags", {"clear": clear}))

    return [
        app_commands.Command(name="suggest", description="Propose a question (a form); an admin reviews it",
                             callback=suggest),
        app_commands.Command(name="suggestions",
                             description="Review proposed questions: approve, edit, reject (admins)",
                             callback=suggestions),
        app_commands.Command(name="flag", description="Report a problem with the question you saw last", callback=flag),
        app_commands.Command(name="flags", description="The reported questions; clear one's reports (admins)",
                             callback=flags),
        app_commands.Command(name="forget-me", description="Delete your personal data, after a confirmation",
                             callback=_fixed(run, "forget-me")),
    ]


def tree_hash(tree: app_commands.CommandTree, guild: discord.abc.Snowflake | None) -> str:
    """A fingerprint of what a sync would send: the same commands give the same hash."""
    payload = [command.to_dict(tree) for command in tree.get_commands(guild=guild)]
    text = json.dumps(sorted(payload, key=lambda c: c["name"]), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()
