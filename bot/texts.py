"""Every word the bot says: `render(outcome)` turns each engine outcome (bot/outcomes.py) into a title
and a text, the same for every platform (adapters only change the markup). No platform syntax here."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from functools import singledispatch

from bot import outcomes as o
from bot.clock import UTC, human_duration
from bot.grading import Grade, shown_score, verdict_for
from bot.models import Answer, ChannelSettings, Question, RoundKind, Standing
from bot.stats import Tally

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
        lines.append("**Good answers:** " + _listing(names_right) if names_right
                     else "**Good answers:** nobody this time")
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
            missed = [p for p, ok in zip(question.key_points, found, strict=False) if not ok]
            shown = made or question.is_open  # an open answer's misses are the whole lesson
            # beside a good verdict, a key point not found is as often unrecognised as left out (grade_feedback)
            label = "not recognised" if answer.score is not None and verdict_for(answer.score) == "good" else "missed"
            note = f" ({label}: {'; '.join(missed)})" if missed and shown else ""
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
    made = [p for p, ok in zip(question.key_points, grade.found, strict=False) if ok]
    missed = [p for p, ok in zip(question.key_points, grade.found, strict=False) if not ok]
    lines = [f"Your written answer made {len(made)} of {len(question.key_points)} key points "
             f"(score {shown_score(grade.score):.0%}, {grade.verdict})."]
    if made:  # only what the grader found: a key point it did not find is never listed as made
        lines.append("Covered: " + "; ".join(made))
    if missed and grade.passed:
        # Beside a good verdict, half the key points not found are really made (docs/grading.md): "missed" would
        # tell a member who said them that they did not.
        lines.append("Not recognised by the grader: " + "; ".join(missed))
        lines.append(f"Check that your answer says: {missed[0]}.")
    elif missed:
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
            f"**Seasons:** {s.season or 'off'}",
            f"**Reminder before the reveal:** {human_duration(s.remind_before) if s.remind_before else 'off'}",
            f"**Ping on the daily post:** {f'the group {s.ping}' if s.ping else 'off'}",
            f"**Mock interview time limits:** {human_duration(s.mock_mc)} multiple choice, "
            f"{human_duration(s.mock_open)} open-ended",
        ]
    )


SETUP_USAGE = (
    "Change with `/quiz setup key=value ...`, keys: channel=here, time=09:00 (or off), days=mon-fri, "
    "timezone=Europe/Berlin, reveal=8h, weekly=\"mon 09:00\" (or off), hidden=on|off, "
    "season=monthly|quarterly|off (a season leaderboard), remind=1h|off (a reminder in the round's thread "
    "before the reveal), ping=@group|off (a role or user group mentioned on the daily post), "
    "open=on|off (open-ended questions in channel rounds), mock_mc=60s and mock_open=5m (a mock interview's "
    "time limit per multiple-choice and per open-ended question)."
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
            "- `/quiz stats`: your record: answered, correct, streak, by level and topic. "
            "`/quiz stats team`: the team's weak topics (admins).",
            "- `/quiz review`: your next question due for review (spaced repetition). "
            "`/quiz review remind on|off`: a daily reminder.",
            "- `/quiz mock [level]`: a private mock interview: 5 timed questions in a row, mixing multiple choice and "
            "open-ended, harder after a right answer and easier after a wrong one, then a report. The level sets where "
            "it starts. `/quiz mock stop` ends it early, with a report so far.",
            "- `/quiz topic <topic>`: a private question on that topic now.",
            "- `/quiz export`: your missed questions as an Anki deck, sent privately.",
            "- `/quiz setup`: channel, time, days, timezone, reveal delay, hidden votes, mock time limits (admins).",
            "- `/quiz broken <question id> [off]`: mark a question broken, so no pick draws it; `off` undoes it; "
            "alone, the list (admins).",
            "- `/quiz dashboard`: a private link to the web dashboard (admins: the team's pages; members: their own). "
            "`/quiz dashboard revoke`: every link given out so far stops working (admins).",
            "- Seasons (`/quiz setup season=monthly`): `/quiz leaderboard season` shows this season's ranking.",
            "- `/quiz suggest`: propose a question (a form); an admin reviews it. "
            "`/quiz suggestions`: review them (admins).",
            "- `/quiz flag [reason]`: report a problem with the question you saw last. "
            "`/quiz flags`: the reports (admins).",
            "- `/quiz forget-me`: delete your personal data (names, answers' text, stats, cards, reminders).",
            "- `/quiz help`: this message.",
            HOW_TO_ANSWER.get(platform, HOW_TO_ANSWER["discord"]),
        ]
    )



# ---- outcomes -> (title, text) ---------------------------------------------------------------

Words = tuple[str, str]  # (title, text); an empty title: none


@singledispatch
def render(outcome: object) -> Words:
    raise TypeError(f"no words for {type(outcome).__name__}")


def _fixed(kind: type, text: str, title: str = "") -> None:
    render.register(kind)(lambda _outcome: (title, text))


_fixed(o.OpenNeedsWords, "This question is open-ended: answer it in your own words.")
_fixed(o.EmptyAnswer, "An empty answer cannot be graded: write a sentence or two.")
_fixed(o.AlreadyWrote, "You already sent a written answer to this round; the first one counts.")
_fixed(o.WrittenSaved, "Saved your written answer; it is graded against the key points at the reveal.")
_fixed(o.NotYourQuestion, "That question was someone else's. Ask for your own with `/quiz`.")
_fixed(o.AlreadyAnswered, "You already answered that question. `/quiz` gives you a new one.")
_fixed(o.RoundIsClosed, "This round is closed: answers after the reveal do not count.")
_fixed(o.RoundPostedHere, "Posted a new round in this channel.")
_fixed(o.DirectMessageRefused, "studybot works in server channels, not in direct messages. Try `/quiz` in a channel.")
_fixed(o.ReviewUsage, "Use `/quiz review` for your next due question, or `/quiz review remind on|off`.", "Review")


# ---- team features (issue 16): forgetting a member, reports, seasons, reminders, suggestions ----------------

FORGET_WHAT = "your name, the text of your answers, your stats, cards and reminders"
_fixed(o.NothingToForget, "studybot keeps no data about you here: there is nothing to delete.", "Your data")
_fixed(o.NothingToFlag, "You have not seen a question here yet: `/quiz flag [reason]` reports the last question "
                        "you saw (your own, or a channel round).")
_fixed(o.SeasonsOff, "Seasons are off here. An admin turns them on with `/quiz setup season=monthly` (or quarterly); "
                     "`/quiz leaderboard all` shows the all-time ranking.")

FLAGS_USAGE = ("`/quiz flags` lists the reported questions; `/quiz flags clear <question id>` clears a question's "
               "reports after you looked at it, so rounds may ask it again.")
SUGGESTIONS_USAGE = ("`/quiz suggestions approve <n>`, `/quiz suggestions reject <n> <reason>` (the reason goes to its "
                     "author), `/quiz suggestions edit <n>`; `/quiz flags clear <question id>` for a paused question.")

# The /quiz suggest form: field -> (label, hint). Labels stay within Discord's 45 characters.
SUGGEST_TITLE = "Suggest a question"
SUGGEST_FIELDS = {
    "level": ("Level", "One of: {levels}"),
    "topic": ("Topic", "A short topic name, e.g. Tokenization"),
    "question": ("Question", "As it would be asked in the channel"),
    "choices": ("Choices, one per line (or open-ended)", "2 to 4 short options, or the word open-ended for a "
                "question answered in words only"),
    "correct": ("Right choice (its number)", "1 for the first choice; empty for an open-ended question"),
    "answer": ("Model answer", "A few sentences to two short paragraphs"),
    "key_points": ("Key points, one per line", "3 to 6 points a good written answer makes"),
}


def suggest_label(field: str) -> str:
    return SUGGEST_FIELDS[field][0]


def suggest_hint(field: str, levels: Sequence[str]) -> str:
    return SUGGEST_FIELDS[field][1].format(levels=", ".join(levels))


def quoted(text: str, limit: int = 120) -> str:
    return "“" + shorten(defang(" ".join(text.split())), limit) + "”"


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def time_left(seconds: int) -> str:
    """3600 -> "1 hour", 5400 -> "1 hour 30 minutes", 1200 -> "20 minutes"."""
    minutes = round(seconds / 60)
    if minutes < 1:
        return "less than a minute"
    hours, minutes = divmod(minutes, 60)
    parts = ([plural(hours, "hour")] if hours else []) + ([plural(minutes, "minute")] if minutes else [])
    return " ".join(parts)


def _kept(counts: tuple[tuple[str, int], ...]) -> str:
    return ", ".join(plural(n, kind) if kind != "stats" else "your stats" for kind, n in counts)


@render.register
def _(x: o.ForgetAsk) -> Words:
    return "Delete your data?", (
        f"This deletes {FORGET_WHAT} (studybot has: {_kept(x.counts)}). Past rounds keep their tallies, "
        "without your name or words. It cannot be undone. Confirm to delete; nothing happens otherwise.")


@render.register
def _(x: o.Forgotten) -> Words:
    return "Your data", (f"Deleted {FORGET_WHAT}. Past rounds keep anonymous tallies (your answers count there as "
                         "“(deleted)”, without their text).")


@render.register
def _(x: o.Flagged) -> Words:
    text = (f"Thanks: you reported {quoted(x.question.question)} (`{x.question.id}`); the admins are told. "
            f"{plural(x.reports, 'member')} reported it since it was last reviewed.")
    if x.paused:
        text += " It is paused now: no round asks it until an admin reviews it."
    return "", text


@render.register
def _(x: o.FlagRepeated) -> Words:
    return "", (f"You reported {quoted(x.question.question)} already; a member's reports of a question count once "
                "until an admin reviews it.")


@render.register
def _(x: o.QuestionReported) -> Words:
    reason = f": {defang(x.reason)}" if x.reason else " (no reason given)"
    text = (f"A member reported question `{x.question_id}` {quoted(x.question, 80)}{reason}. "
            f"{plural(x.reports, 'report')} since its last review.")
    if x.paused:
        text += f" It is paused: no round asks it until you clear its reports with `/quiz flags clear {x.question_id}`."
    return "", text


def flag_lines(flags: Sequence[o.FlagSummary]) -> list[str]:
    lines = []
    for f in flags:
        state = ", paused" if f.paused else ""
        question = f" {quoted(f.question, 80)}" if f.question else " (no longer in the bank)"
        lines.append(f"- `{f.question_id}`{question}: {plural(f.reports, 'report')}{state}")
        if f.reasons:
            lines.append("  " + "; ".join(quoted(r, 60) for r in f.reasons))
    return lines


@render.register
def _(x: o.FlagsListed) -> Words:
    if not x.flags:
        return "Reported questions", "No open reports. " + FLAGS_USAGE
    return "Reported questions", "\n".join([*flag_lines(x.flags), "", FLAGS_USAGE])


@render.register
def _(x: o.FlagsCleared) -> Words:
    return "", f"Cleared {plural(x.reports, 'report')} of `{x.question_id}`: rounds may ask it again."


@render.register
def _(x: o.FlagsUsage) -> Words:
    if x.query:
        return "", f"No open reports for `{defang(x.query[:80])}`. " + FLAGS_USAGE
    return "", FLAGS_USAGE


@render.register
def _(x: o.SeasonBoardShown) -> Words:
    return f"Leaderboard: season {x.season}", board_text(list(x.standings), "this season", x.own)


MEDALS = ("🥇", "🥈", "🥉")


@render.register
def _(x: o.SeasonEnded) -> Words:
    title = f"Season {x.season} is over"
    if not x.standings:
        lines = ["Nobody scored this season."]
    else:
        winners = [s for s in x.standings if s.rank <= 3]
        lines = ["**Winners:** " + ", ".join(f"{MEDALS[s.rank - 1]} {name_of(s.name)} ({s.points} points)"
                                             for s in winners), "", board_text(list(x.standings), "", None)]
    lines += ["", f"Season {x.next_season} starts now: everyone starts again from 0. All-time standings stay "
                  "(`/quiz leaderboard all`)."]
    return title, "\n".join(lines)


@render.register
def _(x: o.RoundReminder) -> Words:
    return "", f"⏰ {time_left(x.seconds_left)} left, {plural(x.answers, 'answer')} so far."


@render.register
def _(x: o.SuggestForm) -> Words:
    title = f"Edit suggestion {x.editing}" if x.editing is not None else SUGGEST_TITLE
    if not x.errors:
        return title, ("Propose a question for the bank: the question, its choices (or open-ended), the right "
                       "choice, a model answer and the key points. An admin reviews it.")
    lines = ["Your suggestion has problems; fix them in the form (nothing is lost):"]
    for field, message in x.errors:
        name = suggest_label(field) if field in SUGGEST_FIELDS else "Question"
        lines.append(f"- **{name}**: {message}")
    return title, "\n".join(lines)


@render.register
def _(x: o.SuggestionSaved) -> Words:
    if x.edited:
        return "", (f"Saved your edits to suggestion {x.suggestion_id}; it still waits: "
                    f"`/quiz suggestions approve {x.suggestion_id}`.")
    return "", f"Thanks! Your suggestion ({x.suggestion_id}) waits for an admin's review; you will hear the verdict."


@render.register
def _(x: o.SuggestionsListed) -> Words:
    lines: list[str] = []
    for s in x.pending:
        lines.append(f"**{s.suggestion_id}.** {defang(s.question)} _({s.level}, by {name_of(s.author)})_")
        if s.choices:
            lines.append("   " + " · ".join(f"{i}. {defang(c)}" + (" ✅" if i == s.correct else "")
                                           for i, c in enumerate(s.choices, 1)))
        else:
            lines.append("   _open-ended_")
    if not lines:
        lines.append("No suggestions wait for review.")
    if x.paused:
        lines += ["", "**Paused by members' reports:**", *flag_lines(x.paused)]
    return "Suggestions", "\n".join([*lines, "", SUGGESTIONS_USAGE])


@render.register
def _(x: o.SuggestionDecided) -> Words:
    if x.approved:
        return "", (f"Approved suggestion {x.suggestion_id}: it is in the bank as `{x.question_id}`; "
                    "rounds may ask it now.")
    return "", f"Rejected suggestion {x.suggestion_id}; its author is told why, privately."


@render.register
def _(x: o.SuggestionVerdict) -> Words:
    if x.approved:
        return "Your suggestion", f"Your question {quoted(x.question)} was approved: rounds may ask it now. Thanks!"
    return "Your suggestion", f"Your question {quoted(x.question)} was not accepted: {defang(x.reason or '')}"


@render.register
def _(x: o.SuggestionsUsage) -> Words:
    problem = f"{x.problem[:1].upper()}{x.problem[1:]}. " if x.problem else ""
    return "", problem + SUGGESTIONS_USAGE


@render.register
def _(x: o.SuggestionWaiting) -> Words:
    return "", f"A member suggested a question ({x.suggestion_id}); review it with `/quiz suggestions`."


@render.register
def _(x: o.PickOutOfRange) -> Words:
    return "", f"Pick a number from 1 to {x.count}."


@render.register
def _(x: o.PickLocked) -> Words:
    return "", f"Your answer {x.choice} is locked in. The answer is revealed at the deadline."


@render.register
def _(x: o.AlreadyPicked) -> Words:
    picked = x.previous if x.previous is not None else "?"
    return "", f"Your first answer ({picked}) is locked in; later picks change nothing."


@render.register
def _(x: o.AnswerTooLong) -> Words:
    return "", f"That answer is {x.length:,} characters; keep it under {x.limit:,}."


@render.register
def _(x: o.QuestionAsked) -> Words:
    q = x.question
    if x.kind.is_channel:
        title = ("Question of the day" if x.kind is RoundKind.DAILY else "Quiz") + f" · {q.level} · {q.topic}"
        return title, round_body(q)
    title = f"{'Review' if x.kind is RoundKind.REVIEW else 'Your question'} · {q.level} · {q.topic}"
    text = round_body(q)
    if not q.is_open:
        text += "\n\n_Pick a number, or answer in your own words._"
    return title, text


@render.register
def _(x: o.PersonalResult) -> Words:
    q = x.question
    parts = []
    if x.choice is not None:
        parts.append(choice_feedback(q, x.choice))
    if x.grade is not None:
        parts.append(grade_feedback(q, x.grade) + (f"\n{x.note}" if x.note else ""))
    parts.append("**Model answer**\n" + reflow(q.answer))
    return f"{q.level} · {q.topic}", "\n\n".join(parts)


@render.register
def _(x: o.Revealed) -> Words:
    q = x.question
    return f"Answer · {q.level} · {q.topic}", reveal_text(q, list(x.answers), list(x.right))


@render.register
def _(x: o.WrittenGraded) -> Words:
    return "", grade_feedback(x.question, x.grade) + (f"\n{x.note}" if x.note else "")


@render.register
def _(x: o.RoundClosedPost) -> Words:
    title, _text = render(o.QuestionAsked(x.question, x.kind))
    return title, round_body(x.question) + "\n\n" + closed_line(x.question)


@render.register
def _(x: o.CommandProblem) -> Words:
    return "", x.message


@render.register
def _(x: o.AdminOnly) -> Words:
    if x.command == "stats team":
        return "", "`/quiz stats team` is for admins."
    return "", f"`/quiz {x.command}` is for admins (server managers, or ids in STUDYBOT_ADMINS)."


@render.register
def _(x: o.AdminNotice) -> Words:
    return "", "⚠️ " + x.text


@render.register
def _(x: o.Help) -> Words:
    return "studybot help", help_text(x.levels, x.platform)


@render.register
def _(x: o.SettingsShown) -> Words:
    if x.saved:
        return "Setup", "Saved.\n" + settings_text(x.settings)
    return "Setup", settings_text(x.settings) + "\n\n" + SETUP_USAGE


@render.register
def _(x: o.SetupProblem) -> Words:
    return "", f"{x.message}\n{SETUP_USAGE}"


@render.register
def _(x: o.LeaderboardShown) -> Words:
    if x.week is not None and x.scope == "last week":
        title = f"Leaderboard · week of {x.week}"
    else:
        title = "Leaderboard: " + ("this week" if x.scope == "week" else "all time")
    words = {"week": "this week", "all": "yet"}.get(x.scope, x.scope)
    return title, board_text(list(x.standings), words, x.own)


def tally_line(label: str, tally: Tally) -> str:
    return f"{label}: {tally.correct}/{tally.answered} ({tally.accuracy:.0%})"


@render.register
def _(x: o.MemberStatsShown) -> Words:
    title, record, totals = f"Stats · {name_of(x.name)}", x.record, x.totals
    if not record.total.answered:
        return title, "No answers yet. Try `/quiz` for a question now, or answer today's channel round."
    lines = [
        tally_line("**Answered correctly**", record.total),
        f"**Streak:** {totals.get('streak', 0)} (best {totals.get('best_streak', 0)}) daily rounds in a row",
        f"**Leaderboard points:** {totals.get('points', 0)}",
        "",
        "**By level:** " + " · ".join(tally_line(lv, record.by_level[lv]) for lv in x.levels if lv in record.by_level),
        "**By topic:**",
    ]
    lines += ["- " + tally_line(topic, tally) for topic, tally in sorted(record.by_topic.items())]
    weakest = record.weakest()
    if weakest:
        lines.append("**Work on:** " + ", ".join(f"{t} ({tally.accuracy:.0%})" for t, tally in weakest))
    return title, "\n".join(lines)


@render.register
def _(x: o.TeamStatsShown) -> Words:
    weakest = x.record.weakest(5)
    if not weakest:
        return "Team: weakest topics", "Not enough answers yet to tell the team's weak topics."
    lines = [tally_line("**Team accuracy**", x.record.total), "**Weakest topics:**"]
    lines += [f"- {tally_line(topic, tally)}" for topic, tally in weakest]
    return "Team: weakest topics", "\n".join(lines)


@render.register
def _(x: o.ReminderSet) -> Words:
    if x.on:
        return "Review", "You will get one reminder a day when you have questions due for review."
    return "Review", "Review reminders are off."


@render.register
def _(x: o.NothingDue) -> Words:
    when = f" Next one is due {x.next_due:%Y-%m-%d %H:%M} UTC." if x.next_due else ""
    return "Review", "Nothing is due for review." + when + " Answer more questions with `/quiz` to build your deck."


@render.register
def _(x: o.ReviewsDue) -> Words:
    return "Review", f"{x.count} question{'s' if x.count != 1 else ''} due for review; here is the first."


@render.register
def _(x: o.ReviewReminder) -> Words:
    s = "s" if x.count != 1 else ""
    return "Review reminder", f"You have {x.count} question{s} due for review: run `/quiz review`."


# ---- topics, questions marked broken -------------------------------------------------------------


@render.register
def _(x: o.TopicUsage) -> Words:
    return "", "Use `/quiz topic <topic>`, e.g. " + ", ".join(f"`/quiz topic {t}`" for t in x.examples) + "."


@render.register
def _(x: o.TopicUnknown) -> Words:
    shown = defang(shorten(x.query, 60))
    if not x.suggestions:
        return "", f"No topic matches “{shown}”."
    return "", f"No topic matches “{shown}”. Closest: " + ", ".join(f"`{t}`" for t in x.suggestions) + "."


@render.register
def _(x: o.NoQuestionLeft) -> Words:
    return "", f"No question on {x.what} can be asked right now (each one is marked broken)."


@render.register
def _(x: o.QuestionMarked) -> Words:
    if x.broken:
        why = f" ({defang(x.reason)})" if x.reason else ""
        return "", (f"Marked `{x.question_id}` broken{why}: the daily pick, `/quiz post`, personal questions, "
                    f"reviews and mocks skip it. `/quiz broken {x.question_id} off` brings it back.")
    return "", f"`{x.question_id}` is no longer marked broken: picks may draw it again."


@render.register
def _(x: o.BrokenListed) -> Words:
    if not x.marked:
        return "Broken questions", "No question is marked broken. `/quiz broken <question id>` marks one."
    lines = [f"- `{qid}`" + (f": {defang(reason)}" if reason else "") for qid, reason in x.marked]
    return "Broken questions", "\n".join(lines) + "\n`/quiz broken <question id> off` brings one back."


@render.register
def _(x: o.UnknownQuestion) -> Words:
    shown = defang(shorten(x.query, 60))
    close = (" Closest: " + ", ".join(f"`{q}`" for q in x.suggestions) + ".") if x.suggestions else ""
    return "", f"No question has the id `{shown}`.{close}"


_fixed(o.BrokenUsage, "Use `/quiz broken <question id> [reason]` to mark a question broken, "
                      "`/quiz broken <question id> off` to undo it, or `/quiz broken` for the list.")


# ---- mock interviews ----------------------------------------------------------------------------------


def seconds_text(seconds: int) -> str:
    """60 s, 5 min, 1 min 30 s: a time limit as people say it."""
    minutes, rest = divmod(max(0, int(seconds)), 60)
    if not minutes:
        return f"{rest} s"
    return f"{minutes} min" + (f" {rest} s" if rest else "")


MOCK_RULES = ("_Mock interview: {total} questions in a row, each with a time limit; the next one is harder after a "
              "right answer and easier after a wrong one. An answer after the limit is still graded, but scores 0 "
              "here. `/quiz mock stop` ends it with a report so far._")


@render.register
def _(x: o.MockQuestion) -> Words:
    q = x.question
    title = f"Mock interview · {x.position + 1}/{x.total} · {q.level} · {q.topic}"
    how = "answer in your own words" if q.is_open else "pick a number, or answer in your own words"
    clock = f"⏱ **Answer within {seconds_text(x.limit)}**, by {x.deadline:%H:%M:%S} UTC: {how}."
    parts = []
    if x.first:
        parts.append(MOCK_RULES.format(total=x.total))
    if x.again:
        parts.append(f"_Your mock interview is still open: this is question {x.position + 1} of {x.total}._")
    parts += [round_body(q), clock]
    return title, "\n\n".join(parts)


@render.register
def _(x: o.MockAnswered) -> Words:
    verdict = "✅ Right." if x.correct else "❌ Not this time."
    if x.late:
        verdict += (f" ⏰ Late: {seconds_text(x.seconds)}, over the {seconds_text(x.limit)} limit; recorded, "
                    "and it scores 0 in this mock.")
    else:
        verdict += f" ({seconds_text(x.seconds)})"
    return "", verdict + " The details come in the report at the end."


@render.register
def _(x: o.MockAlreadyOpen) -> Words:
    return "Mock interview", (f"You already have a mock interview open, started {x.started_at:%H:%M} UTC: you are at "
                              f"question {x.position + 1} of {x.total}. Answer it (shown below), or end it with "
                              "`/quiz mock stop` for a report so far.")


_fixed(o.NoMockOpen, "You have no mock interview open. `/quiz mock` starts one.", "Mock interview")


@render.register
def _(x: o.MockNoQuestions) -> Words:
    where = f" of level {x.level}" if x.level else ""
    return "Mock interview", f"There are no questions{where} to make a mock interview of right now."


def _mock_line(number: int, item: o.MockItemResult) -> str:
    q = item.question
    if not item.answered:
        mark, when = "➖", "not answered"
    else:
        mark = "⏰" if item.late else ("✅" if item.correct else "❌")
        when = seconds_text(item.seconds or 0) + (" (late" + (", right" if item.correct else "") + ")"
                                                  if item.late else "")
    return f"{number}. {mark} {q.level} · {q.topic} · {when}"


def _missed_points(item: o.MockItemResult) -> list[str]:
    """The key points a miss did not make: those a written answer left out, else all of them."""
    q = item.question
    if item.found is not None and len(item.found) == len(q.key_points):
        return [p for p, ok in zip(q.key_points, item.found, strict=True) if not ok]
    return list(q.key_points)


@render.register
def _(x: o.MockReport) -> Words:
    asked = len(x.items)
    title = "Mock interview report" + (f" (stopped after {asked} of {x.total})" if x.stopped else "")
    if not x.items:
        return title, "The mock interview ended before any question was answered."
    lines = [f"**Score:** {x.score}/{asked} ({x.score / asked:.0%}) in {seconds_text(x.seconds)}"]
    if x.stopped:
        lines.append(f"_Stopped early: this report covers the {asked} question{'s' if asked != 1 else ''} asked._")
    lines += ["", "**Question by question:**"]
    lines += [_mock_line(n, item) for n, item in enumerate(x.items, 1)]
    by_topic: dict[str, list[int]] = {}
    for item in x.items:
        tally = by_topic.setdefault(item.question.topic, [0, 0])
        tally[0] += int(item.scored)
        tally[1] += 1
    lines += ["", "**By topic:**"]
    lines += [f"- {topic}: {right}/{count}" for topic, (right, count) in sorted(by_topic.items())]
    misses = [(n, item) for n, item in enumerate(x.items, 1) if not item.scored]
    if misses:
        lines += ["", "**What to look at again:**"]
        for n, item in misses:
            q = item.question
            lines += ["", f"**{n}. {q.topic}:** {shorten(q.question, 200)}"]
            if item.answered and item.late and item.correct:
                lines.append("Right, but after the time limit.")
            if not q.is_open:
                lines.append(f"Answer: {q.correct}. {q.correct_text}")
            points = _missed_points(item)
            if points and not (item.late and item.correct):
                lines.append("Key points missed: " + "; ".join(points))
            lines.append("Model answer: " + reflow(q.answer))
    lines.append("")
    if x.study_next:
        lines.append("**Study next:** " + ", ".join(x.study_next) + " (`/quiz topic <topic>` for a question on one)")
    else:
        lines.append("**Study next:** no weak topic showed up. Try a harder start: `/quiz mock advanced`.")
    return title, "\n".join(lines)


# ---- Anki decks (/quiz export) -------------------------------------------------------------------


@render.register
def _(x: o.ExportReady) -> Words:
    s = "s" if x.count != 1 else ""
    return "Your Anki deck", (f"Your {x.count} missed question{s} as an Anki deck: {x.file_name}. Import it in Anki "
                              "(File → Import); importing a newer deck later updates these notes instead of adding "
                              "copies.")


_fixed(o.ExportEmpty, "You have no missed questions yet, so there is no deck to send. Questions you get wrong "
                      "(in channel rounds, `/quiz`, reviews and mocks) go into it.", "Your Anki deck")


@render.register
def _(x: o.ExportFailed) -> Words:
    return "", f"I could not make your deck ({x.reason}). Try again later; an admin can check the bot's log."


@render.register
def _(x: o.FileSentDirectly) -> Words:
    return "", f"I sent you {x.file_name} in a direct message."


@render.register
def _(x: o.FileScopeMissing) -> Words:
    return "", (f"Sorry, I cannot send you the file: this Slack app lacks the `{x.scope}` permission. A workspace "
                f"admin can add it (api.slack.com/apps → studybot → OAuth & Permissions → Bot Token Scopes → "
                f"`{x.scope}`, then reinstall the app); studybot's docs/slack.md explains why it is needed.")


# ---- the web dashboard's private links (/quiz dashboard [revoke]) ----------------------------------------------

DASHBOARD = "Dashboard"


@render.register
def _(x: o.DashboardRevokeRefused) -> Words:
    return DASHBOARD, render(o.AdminOnly("dashboard revoke"))[1]


_fixed(o.DashboardOff, "The web dashboard is off here: whoever runs the bot can turn it on with STUDYBOT_HTTP_PORT "
                       "(and STUDYBOT_PUBLIC_URL, the address people reach it at).", DASHBOARD)


@render.register
def _(x: o.DashboardLink) -> Words:
    what = "the team's dashboard (leaderboard, past rounds, weak topics)" if x.admin else "your own dashboard page"
    lines = []
    if x.revoked:
        lines.append("Every earlier dashboard link of this server or workspace now gets 403.")
    lines += [
        f"Your private link to {what}, valid until {x.expires.astimezone(UTC):%Y-%m-%d %H:%M} UTC:",
        x.url,
        "Keep it to yourself: anyone with the link sees what you see.",
    ]
    if x.admin and not x.revoked:
        lines.append("`/quiz dashboard revoke` makes every link given out so far stop working.")
    return DASHBOARD, "\n".join(lines)
