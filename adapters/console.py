"""A terminal channel: the bot with no account anywhere. Reads plain lines, so it also works piped.

Lines are `/quiz ...` commands, a number (a one-click answer), or any other text
(an answer in your own words) for the question in front of you: your own
personal question if one is open, else the channel's latest round.
Console-only commands: /as NAME, /wait SECONDS, /help, /quit.
"""

from __future__ import annotations

import asyncio
import getpass
import re
import sys
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any, TextIO

from bot.clock import UTC, human_duration
from bot.config import Settings
from bot.events import ChoiceMade, CommandInvoked, Inbound, Kind, Outgoing, SuggestionSubmitted, WrittenAnswer
from bot.models import ChannelSettings, Member, Place
from bot.ports import Hub, Sent
from bot.texts import defang, name_of

PLACE = Place("console", "local", "console")
MAX_LINE = 200_000
MAX_WAIT = 3600
CONSOLE_HELP = (
    "Console: `/quiz ...` runs a command (try `/quiz help`); a number answers the question in front of you; "
    "other text answers it in your own words. `/as NAME` switches the member you play; `/wait SECONDS` pauses "
    "(for scripts); `/quit` leaves."
)
CONSOLE_COMMANDS = (
    "Console only: `/as NAME` plays as another member, `/wait SECONDS` pauses (for scripts), "
    "`/help` shows this, `/quit` leaves."
)


def plain(text: str) -> str:
    """Our Markdown subset, for a terminal."""
    text = re.sub(r"\*\*(.+?)\*\*", r"\1", text, flags=re.S)
    text = re.sub(r"(?<!\w)_(.+?)_(?!\w)", r"\1", text, flags=re.S)
    return text.replace("```\n", "").replace("\n```", "")


class ConsoleAdapter:
    platform = "console"
    attaches_images = True  # the chart's file path is printed

    def __init__(self, settings: Settings, on_end: Callable[[], None] | None = None,
                 stdin: TextIO | None = None, stdout: TextIO | None = None) -> None:
        self.settings = settings
        self.on_end = on_end
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self.member = Member("console", "console:" + _default_name().lower(), _default_name())
        self.hub: Hub | None = None
        self._task: asyncio.Task | None = None
        self._sent = 0
        self._numbers: dict[int, int] = {}  # round id -> "round N" as shown: channel rounds of this session
        self.interactive = _is_tty(self.stdin)  # a prompt only for a person at a terminal, not for pipes
        self._form: FormPrompts | None = None  # the /quiz suggest form, asked field by field
        self._confirm: str | None = None  # the command a "yes" on the next line runs (e.g. forget-me confirm)

    # ---- lifecycle -------------------------------------------------------------------

    async def start(self, hub: Hub) -> None:
        self.hub = hub
        settings = hub.register_channel(PLACE.platform, PLACE.workspace, PLACE.channel)
        self.say(f"studybot console. You are {self.member.name}. {CONSOLE_HELP}")
        self.say(self._next_daily(settings))
        self._prompt()
        self._task = asyncio.create_task(self._read_loop())

    @staticmethod
    def _next_daily(settings: ChannelSettings) -> str:
        from bot.scheduler import daily_trigger

        trigger = daily_trigger(settings)
        if trigger is None:
            return "The daily question is off (STUDYBOT_DAILY_AT); `/quiz post` posts a round now."
        fire = trigger.get_next_fire_time(None, datetime.now(UTC))
        if fire is None:
            return "No daily question is scheduled."
        seconds = int((fire - datetime.now(UTC)).total_seconds())
        return f"Next daily question: {fire:%a %d %b %H:%M} {settings.timezone} (in {human_duration(max(0, seconds))})."

    def _prompt(self) -> None:
        if self.interactive:
            self.stdout.write(f"{name_of(self.member.name)}> ")
            self.stdout.flush()

    async def stop(self) -> None:
        if self._task and not self._task.done():
            self._task.cancel()

    def healthy(self) -> bool:
        return self._task is not None and not self._task.done()

    async def _read_loop(self) -> None:
        queue: asyncio.Queue[str | None] = asyncio.Queue()
        loop = asyncio.get_running_loop()

        def pump() -> None:  # a daemon thread: stdin may be a tty, a pipe or a file
            for raw in self.stdin:
                loop.call_soon_threadsafe(queue.put_nowait, raw)
            loop.call_soon_threadsafe(queue.put_nowait, None)

        threading.Thread(target=pump, name="console-stdin", daemon=True).start()
        while (line := await queue.get()) is not None:
            try:
                if not await self.on_line(line.rstrip("\r\n")):
                    break
            except Exception as error:  # one bad line must never end the session
                self.say(f"Something went wrong with that line ({type(error).__name__}); nothing was lost.")
            self._prompt()
        if self.on_end:
            self.on_end()

    # ---- input ------------------------------------------------------------------------

    async def on_line(self, line: str) -> bool:
        """Handle one line; False ends the session."""
        assert self.hub is not None
        if len(line) > MAX_LINE:
            self.say(f"That line is {len(line):,} characters; the console takes up to {MAX_LINE:,}.")
            return True
        if self._form is not None:
            return await self._form_line(line)
        if self._confirm is not None:  # "Type yes to ...": the line after a message with an action
            command, self._confirm = self._confirm, None
            if line.strip().lower() in YES:
                await self._run(CommandInvoked(self.member, PLACE, command, is_admin=True))
            else:
                self.say("Cancelled: nothing changed.")
            return True
        text = line.strip()
        if not text:
            self.say("(empty line) Type `/quiz` for a question, a number or words to answer, `/help` for help.")
            return True
        if text.startswith("/"):
            return await self._slash(text)
        round_id = self._current_round()
        if round_id is None:
            self.say("No question is open for you. Type `/quiz` for one, or `/quiz post` for a channel round.")
            return True
        if text.isdigit() and len(text) <= 3:
            event: ChoiceMade | WrittenAnswer = ChoiceMade(self.member, int(text), round_id=round_id)
        else:
            event = WrittenAnswer(self.member, line, round_id=round_id)
        await self._run(event)
        return True

    async def _slash(self, text: str) -> bool:
        word, _, rest = text.partition(" ")
        word = word.lower()
        if word == "/quiz":
            await self._run(CommandInvoked(self.member, PLACE, rest, is_admin=True))
        elif word == "/as":
            self._switch(rest)
        elif word == "/wait":
            await self._wait(rest)
        elif word in ("/quit", "/exit"):
            return False
        elif word == "/help":
            await self._run(CommandInvoked(self.member, PLACE, "help", is_admin=True))
            self.say(CONSOLE_COMMANDS)
        else:
            self.say(f"Unknown command {defang(word[:40])}. {CONSOLE_HELP}")
        return True

    def _switch(self, name: str) -> None:
        clean = " ".join(name_of(name).split())[:32] if name.strip() else ""
        if not clean:
            self.say("Use `/as NAME` to play as another member, e.g. `/as alice`.")
            return
        self.member = Member("console", "console:" + clean.lower(), clean)
        self.say(f"You are now {clean}.")

    async def _wait(self, arg: str) -> None:
        try:
            seconds = float(arg)
        except ValueError:
            self.say("Use `/wait SECONDS`, e.g. `/wait 5`.")
            return
        if not 0 <= seconds <= MAX_WAIT:
            self.say(f"`/wait` takes 0 to {MAX_WAIT} seconds.")
            return
        await asyncio.sleep(seconds)

    def _current_round(self) -> int | None:
        assert self.hub is not None
        return self.hub.current_round(self.member, PLACE)

    async def _run(self, event: Inbound) -> None:
        assert self.hub is not None
        await self.hub.run(event)

    # ---- output -----------------------------------------------------------------------

    def say(self, text: str) -> None:
        self.stdout.write(plain(text) + "\n")
        self.stdout.flush()

    async def send(self, message: Outgoing, reply: Any = None) -> Sent | None:
        self._sent += 1
        self.say(self.render(message))
        if message.to is not None and message.to.user_id == self.member.user_id:
            if message.kind is Kind.FORM:  # the form's fields as prompts: those with problems, or all
                self._form = FormPrompts(message.outcome)
                self.say("Answer each prompt (`/cancel` stops).")
                self.say(self._form.prompt())
            elif message.actions:
                self._confirm = message.actions[0].command
                self.say(f"Type yes to {message.actions[0].label.lower()}; anything else cancels.")
        return Sent(f"console-{self._sent}")

    async def _form_line(self, line: str) -> bool:
        form = self._form
        assert form is not None and self.hub is not None
        if line.strip().lower() in ("/cancel", "/quit", "/exit"):
            self._form = None
            draft = form.form.draft
            self.say("Form cancelled." + (f" What you typed is kept: `/quiz suggest draft {draft}` opens it again."
                                          if draft is not None else ""))
            return line.strip().lower() == "/cancel"
        if not form.take(line):
            return True  # more lines for this field
        if not form.done:
            self.say(form.prompt())
            return True
        self._form = None
        event = SuggestionSubmitted(self.member, PLACE, tuple(form.values.items()), form.form.draft,
                                    form.form.editing, is_admin=True)
        await self._run(event)
        return True

    def render(self, m: Outgoing) -> str:
        head = f"[to {m.to.name}] " if m.to else ""
        lines = []
        if m.kind is Kind.CLOSED:
            return f"{head}(round {self._number(m.round_id)} is now closed)"
        if m.ping:
            lines.append(f"@{m.ping}")  # /quiz setup ping=@group: mentioned on the daily post
        if m.title:
            numbered = m.kind is Kind.ROUND and m.to is None  # channel rounds; a private question has no number
            lines.append(f"{head}─── {m.title}" + (f"  [round {self._number(m.round_id)}]" if numbered else ""))
        elif head:
            lines.append(head.strip())
        lines.append(m.text)
        if m.kind is Kind.ROUND:
            how = f"Answer with a number from 1 to {len(m.choices)} or in your own words" if m.choices \
                else "Answer in your own words (type a line)"
            lines.append(f"{how}. Revealed {_when(m.deadline)}.")
        if m.image is not None:
            lines.append(f"Chart written to {m.image}")
        if m.file is not None:
            lines.append(f"File written to {m.file}")
        return "\n".join(lines)


    def _number(self, round_id: int | None) -> int | str:
        """Channel rounds count 1, 2, 3... in the order this console first shows them."""
        if round_id is None:
            return "?"
        return self._numbers.setdefault(round_id, len(self._numbers) + 1)


YES = ("yes", "y")
LIST_FIELDS = ("choices", "key_points")  # typed one item a line, an empty line ends them


class FormPrompts:
    """The /quiz suggest form in a terminal: one prompt per field (only those with problems when it comes back);
    Enter alone keeps what is there."""

    def __init__(self, form) -> None:  # form: bot.outcomes.SuggestForm
        from bot.suggestions import KEYS

        self.form = form
        self.values = {key: form.value(key) for key in KEYS}
        wrong = [key for key, _ in form.errors if key in KEYS]
        self.fields = wrong if wrong and all(key in KEYS for key, _ in form.errors) else list(KEYS)
        self.index = 0
        self.lines: list[str] = []

    @property
    def done(self) -> bool:
        return self.index >= len(self.fields)

    def prompt(self) -> str:
        from bot.texts import suggest_hint, suggest_label

        field = self.fields[self.index]
        current = self.values.get(field, "")
        shown = " | ".join(current.splitlines()) if current else ""
        how = "one a line, then an empty line" if field in LIST_FIELDS else "one line"
        keep = f" Enter alone keeps: {shown[:200]}" if shown else ""
        return f"{suggest_label(field)} ({suggest_hint(field, self.form.levels)}; {how}).{keep}"

    def take(self, line: str) -> bool:
        """One typed line; True once the field is complete."""
        field = self.fields[self.index]
        text = line.strip()
        if field in LIST_FIELDS:
            if text and not (field == "choices" and not self.lines and text.lower() in ("open", "open-ended")):
                self.lines.append(text)
                return False
            if text:  # open-ended
                self.lines = [text]
            if self.lines:
                self.values[field] = "\n".join(self.lines)
            self.lines = []
        elif text:
            self.values[field] = text
        self.index += 1
        return True


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _when(deadline: datetime | None) -> str:
    if deadline is None:
        return "soon"
    seconds = max(0, int((deadline - datetime.now(UTC)).total_seconds()))
    return f"at {deadline:%H:%M:%S} UTC (in {human_duration(seconds)})"


def _default_name() -> str:
    try:
        name = getpass.getuser()
    except Exception:
        name = ""
    return (name or "you").strip()[:32] or "you"
