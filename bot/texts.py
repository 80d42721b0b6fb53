"""The words the bot says, built from engine results; no platform syntax here."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from bot.clock import human_duration
from bot.grading import Grade
from bot.models import ChannelSettings, Question
from bot.models import Answer, Standing

ZWSP = "\u200b"
MAX_NAME = 64
MAX_LISTED = 25  # names listed in a reveal before "and N more"
_MENTION = re.compile(r"([@<])(?=[\w!#&@^])", re.UNICODE)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def defang(text: str) -> str:
    """User text that can be echoed safely: no live @everyone, <@id>, <!channel> or <#id>."""
    return _MENTION.sub(lambda m: m.group(1) + ZWSP, _CONTROL.sub("", text))


def name_of(name: str) -> str:
    clean = defang(" ".join(name.split()))[:MAX_NAME]
    return clean or "someone"


def shorten(text: str, limit: int) -> str:
    """Cut at a word boundary with a visible marker."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0]
    return cut + "…"


def reflow(markdown: str) -> str:
    """Join the line breaks YAML keeps inside paragraphs; keep blank lines, lists and code blocks."""
    paragraphs = []
    for block in markdown.strip().split("\n\n"):
        lines = block.split("\n")
        if block.lstrip().startswith("```") or any(re.match(r"\s*([-*+]|\d+\.)\s", line) for line in lines):
            paragraphs.append(block)
        else:
            paragraphs.append(" ".join(line.strip() for line in lines))
    return "\n\n".join(paragraphs)


def numbered(choices: Sequence[str]) -> str:
    return "\n".join(f"**{i}.** {choice}" for i, choice in enumerate(choices, 1))


OPEN_HINT = "_Open-ended: answer in your own words; it is graded against the key points._"


def round_body(question: Question) -> str:
    if question.is_open:
        return f"{question.question}\n\n{OPEN_HINT}"
    return f"{question.question}\n\n{numbered(question.choices)}"


def closed_line(question: Question) -> str:
    if question.is_open:
        return "**Closed.** The model answer and the key points are in the thread."
    return f"**Closed.** Answer: {question.correct}. {question.correct_text}"


def reveal_text(question: Question, answers: list[Answer], names_right: list[str]) -> str:
    if question.is_open:
        lines = ["**Model answer**", "", reflow(question.answer), ""]
        lines.append("**Good answers:** " + _listing(names_right) if names_right else "**Good answers:** nobody this time")
    else:
        tally = Counter(a.choice for a in answers if a.choice is not None)
        lines = [f"**Answer: {question.correct}. {question.correct_text}**", "", reflow(question.answer), ""]
        lines.append("**Picks:** " + " · ".join(f"{i}: {tally.get(i, 0)}" for i in range(1, len(question.choices) + 1)))
        lines.append("**Right:** " + _listing(names_right) if names_right else "**Right:** nobody this time")
    written = [a for a in answers if a.text is not None and a.found is not None]
    if written:
        lines.append("**Written answers:**")
        for answer in written[:MAX_LISTED]:
            found = answer.found or []
            made = sum(found)
            missed = [p for p, ok in zip(question.key_points, found) if not ok]
            shown = made or question.is_open  # an open answer's misses are the whole lesson
            note = f" (missed: {'; '.join(missed)})" if missed and shown else ""
            lines.append(f"- {name_of(answer.name)}: {made}/{len(question.key_points)} key points{note}")
        if len(written) > MAX_LISTED:
            lines.append(f"- and {len(written) - MAX_LISTED} more")
    scored = sorted((a for a in answers if a.points), key=lambda a: (-a.points, a.name))
    if scored:
        lines.append("**Points:** " + _listing([f"{name_of(a.name)} +{a.points}" for a in scored]))
    lines.append("**Key points:** " + "; ".join(question.key_points))
    return "\n".join(lines)


def _listing(items: list[str]) -> str:
    shown = ", ".join(items[:MAX_LISTED])
    return shown + (f", and {len(items) - MAX_LISTED} more" if len(items) > MAX_LISTED else "")


def grade_feedback(question: Question, grade: Grade) -> str:
    made = [p for p, ok in zip(question.key_points, grade.found) if ok]
    missed = [p for p, ok in zip(question.key_points, grade.found) if not ok]
    lines = [f"Your written answer made {len(made)} of {len(question.key_points)} key points "
             f"(score {grade.score:.0%}, {grade.verdict})."]
    if made:  # only what the grader found: a key point it did not find is never listed as made
        lines.append("Covered: " + "; ".join(made))
    if missed:
        lines.append("Missed: " + "; ".join(missed))
        lines.append(f"The main idea missing: {missed[0]}.")  # the first one missed, in the bank's order
    return "\n".join(lines)


def choice_feedback(question: Question, choice: int) -> str:
    if choice == question.correct:
        return f"✅ Right: **{question.correct}. {question.correct_text}**"
    return (
        f"❌ You picked {choice}. {question.choices[choice - 1]}\n"
        f"The answer is **{question.correct}. {question.correct_text}**"
    )


def board_text(standings: list[Standing], title_scope: str, own: Standing | None) -> str:
    if not standings:
        return f"No points yet {title_scope}. Answer a channel round to get on the board."
    lines = [f"{'#':>3}  {'member':<20} {'points':>6} {'correct':>7} {'streak':>6}"]
    for s in standings:
        lines.append(f"{s.rank:>3}  {name_of(s.name)[:20]:<20} {s.points:>6} {s.correct:>7} {s.streak:>6}")
    if own is not None and all(s.user_id != own.user_id for s in standings):
        lines.append("  …")
        lines.append(f"{own.rank:>3}  {name_of(own.name)[:20]:<20} {own.points:>6} {own.correct:>7} {own.streak:>6}")
    return "```\n" + "\n".join(lines) + "\n```"


def settings_text(s: ChannelSettings) -> str:
    channel = s.channel or "not set (run /quiz setup in the channel you want)"
    daily = f"{s.daily_at} on {s.days}" if s.daily_at else "off"
    return "\n".join(
        [
            f"**Channel:** {channel}",
            f"**Daily question:** {daily} ({s.timezone})",
            f"**Reveal after:** {human_duration(s.reveal_after)}",
            f"**Weekly leaderboard:** {s.weekly_at or 'off'}",
            f"**Hidden votes:** {'on' if s.hidden_votes else 'off'}",
            f"**Open-ended questions:** {'on' if s.open_questions else 'off'}",
        ]
    )


SETUP_USAGE = (
    "Change with `/quiz setup key=value ...`, keys: channel=here, time=09:00 (or off), days=mon-fri, "
    "timezone=Europe/Berlin, reveal=8h, weekly=\"mon 09:00\" (or off), hidden=on|off, "
    "open=on|off (open-ended questions in channel rounds)."
)


HOW_TO_ANSWER = {
    "console": "Answer the question in front of you by typing its number, or a line in your own words.",
    "slack": "Answer a channel round by reacting with a number or by replying in its thread in your own words.",
    "discord": "Answer a channel round by reacting with a number, or in your own words with its Answer button "
               "or a reply in its thread.",
}


def help_text(levels: Sequence[str], platform: str = "discord") -> str:
    return "\n".join(
        [
            "**studybot** posts an LLM interview question every working day and keeps a leaderboard.",
            f"- `/quiz <level>`: a private question now. Levels: {', '.join(levels)}. No level: any.",
            "- `/quiz post [level]`: post a channel round now (admins).",
            "- `/quiz leaderboard [week|all]`: the ranking, this week by default.",
            "- `/quiz stats`: your record: answered, correct, streak, by level and topic. `/quiz stats team`: the team's weak topics (admins).",
            "- `/quiz review`: your next question due for review (spaced repetition). `/quiz review remind on|off`: a daily reminder.",
            "- `/quiz setup`: channel, time, days, timezone, reveal delay, hidden votes (admins).",
            "- `/quiz help`: this message.",
            HOW_TO_ANSWER.get(platform, HOW_TO_ANSWER["discord"]),
        ]
    )

