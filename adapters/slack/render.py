"""Outgoing messages -> Slack Block Kit, within Block Kit's limits. Pure functions, no I/O.

Limits (https://api.slack.com/reference/block-kit): at most 50 blocks a message
(100 in a Home tab), section text up to 3,000 characters, header text up to 150,
button text up to 75.
Long text is split across sections (and across messages where a kind allows it);
a ``` block cut in two is closed and reopened so both halves stay code.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import UTC, datetime

from adapters.slack.ids import CHOICE_REACTIONS, SUGGEST_VIEW, WRITTEN_VIEW, command_action, pick_action, write_action
from bot.events import Kind, Outgoing
from bot.texts import shorten

MAX_BLOCKS = 50
MAX_HOME_BLOCKS = 100
SECTION_LIMIT = 3000
HEADER_LIMIT = 150
BUTTON_LIMIT = 75
FALLBACK_LIMIT = 3000  # the notification text beside the blocks
MODAL_INPUT_LIMIT = 3000
MAX_ACTIONS = 5
FENCE = "```"

Block = dict


# ---- text --------------------------------------------------------------------------


def escape(text: str) -> str:
    """Slack's three control characters in mrkdwn (https://api.slack.com/reference/surfaces/formatting)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mrkdwn(text: str) -> str:
    """Our Markdown subset (**bold**, _italic_, `code`, ``` blocks, "- " lists) -> Slack mrkdwn, escaped."""
    parts = re.split(r"(```.*?```)", text, flags=re.S)
    out = []
    for index, part in enumerate(parts):
        if index % 2:  # a code block: shown verbatim, only escaped
            out.append(escape(part))
            continue
        part = escape(part)
        part = re.sub(r"\*\*(.+?)\*\*", r"*\1*", part, flags=re.S)
        part = re.sub(r"(?m)^(\s*)- ", r"\1• ", part)
        out.append(part)
    return "".join(out)


def plain(text: str, limit: int) -> str:
    """Text for plain_text objects (headers, buttons): markers dropped, one line, within `limit`."""
    flat = " ".join(text.replace("**", "").replace("`", "").split())
    return shorten(flat, limit) or " "


def slack_date(moment: datetime) -> str:
    """Slack shows this in each reader's own timezone; the part after | is for clients that cannot."""
    fallback = moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} at {{time}}|{fallback}>"


def split_text(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    """Cut mrkdwn into pieces of at most `limit` characters, at line breaks where possible."""
    if len(text) <= limit:
        return [text] if text.strip() else []
    budget = limit - 2 * (len(FENCE) + 1)  # room to close and reopen a code block
    chunks: list[str] = []
    lines: list[str] = []
    size = 0
    fenced = False  # inside a ``` block at the end of `lines`
    opened = False  # the current chunk began by reopening a ``` block
    for line in _short_lines(text.split("\n"), budget):
        if lines and size + 1 + len(line) > budget:
            chunks.append(_close(lines, opened, fenced))
            lines, size, opened = [], 0, fenced
        lines.append(line)
        size += len(line) + (1 if len(lines) > 1 else 0)
        if line.count(FENCE) % 2:
            fenced = not fenced
    if lines:
        chunks.append(_close(lines, opened, False))
    return [c for c in chunks if c.strip()]


def _close(lines: list[str], opened: bool, fenced: bool) -> str:
    body = "\n".join(lines)
    return (FENCE + "\n" if opened else "") + body + ("\n" + FENCE if fenced else "")


def _short_lines(lines: Iterable[str], budget: int) -> Iterable[str]:
    """Lines longer than `budget` cut at spaces, or hard, never inside an &entity;."""
    for line in lines:
        while len(line) > budget:
            cut = line.rfind(" ", budget // 2, budget)
            if cut <= 0:
                cut = budget
                amp = line.rfind("&", cut - 6, cut)
                if amp > 0 and ";" not in line[amp:cut]:
                    cut = amp
            yield line[:cut]
            line = line[cut:].lstrip(" ")
        yield line


# ---- blocks ------------------------------------------------------------------------


def header(title: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": plain(title, HEADER_LIMIT), "emoji": True}}


def sections(text: str) -> list[Block]:
    return [{"type": "section", "text": {"type": "mrkdwn", "text": piece}} for piece in split_text(mrkdwn(text))]


def context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:SECTION_LIMIT]}]}


def button(label: str, action_id: str, value: str, primary: bool = False) -> dict:
    element = {"type": "button", "text": {"type": "plain_text", "text": plain(label, BUTTON_LIMIT)},
               "action_id": action_id, "value": value}
    if primary:
        element["style"] = "primary"
    return element


def answer_buttons(round_id: int, count: int, with_choices: bool) -> Block:
    elements = [button(str(n), pick_action(round_id, n), str(n)) for n in range(1, count + 1)] if with_choices else []
    elements.append(button("Answer in your own words", write_action(round_id), str(round_id), primary=True))
    return {"type": "actions", "block_id": f"studybot:answer:{round_id}", "elements": elements}


def fit(body: list[Block], tail: list[Block], limit: int = MAX_BLOCKS) -> list[Block]:
    """One message: the tail (how to answer, buttons) always kept, the body shortened if it must be."""
    room = limit - len(tail)
    if len(body) > room:
        body = [*body[:room - 1], context("_(shortened: too long for one Slack message)_")]
    return body + tail


def pages(blocks: list[Block], limit: int = MAX_BLOCKS) -> list[list[Block]]:
    return [blocks[i : i + limit] for i in range(0, len(blocks), limit)] or [[]]


# ---- messages ----------------------------------------------------------------------


def how_to_answer(m: Outgoing) -> str:
    count = len(m.choices)
    when = f" The answer is revealed {slack_date(m.deadline)}." if m.deadline else ""
    if not count:  # an open-ended question: words only
        return f"Reply in this thread or click *Answer in your own words*; your first answer counts.{when}"
    if m.hidden_votes:
        how = f"Click a number from 1 to {count} to answer (your first pick counts; picks stay hidden until the reveal)"
    else:
        emoji = " ".join(f":{name}:" for name in CHOICE_REACTIONS[:count])
        how = f"React with {emoji} to answer (your first pick counts)"
    return f"{how}, or reply in this thread in your own words.{when}"


def round_blocks(m: Outgoing) -> list[Block]:
    """A channel round's post: header, question, numbered choices, deadline, how to answer, buttons."""
    assert m.round_id is not None
    body = ([header(m.title)] if m.title else []) + sections(m.text)
    if m.ping:  # /quiz setup ping=@group: the user group is mentioned on the daily post
        body.insert(0, {"type": "section", "text": {"type": "mrkdwn", "text": group_mention(m.ping)}})
    tail = [context(how_to_answer(m)), answer_buttons(m.round_id, len(m.choices), with_choices=m.hidden_votes)]
    return fit(body, tail)


def group_mention(group: str) -> str:
    """A Slack user group's mention (https://api.slack.com/reference/surfaces/formatting#mentioning-groups)."""
    return f"<!subteam^{group}>"


def closed_blocks(m: Outgoing) -> list[Block]:
    """The round post once revealed: no buttons left to press."""
    body = ([header(m.title)] if m.title else []) + sections(m.text)
    return fit(body, [context(":lock: This round is closed; the answer, tally and points are in the thread.")])


def personal_blocks(m: Outgoing) -> list[Block]:
    """A private question: one button per choice and one to answer in words."""
    assert m.round_id is not None
    body = ([header(m.title)] if m.title else []) + sections(m.text)
    return fit(body, [answer_buttons(m.round_id, len(m.choices), with_choices=True)])


def action_buttons(m: Outgoing) -> Block:
    """A message's actions (bot.events.Action): each button runs `/quiz <its value>` as the member who clicks."""
    elements = [button(a.label, command_action(i), a.command, primary=i == 0)
                for i, a in enumerate(m.actions[:MAX_ACTIONS])]
    return {"type": "actions", "block_id": "studybot:commands", "elements": elements}


def text_pages(m: Outgoing) -> list[list[Block]]:
    """Reveals, feedback, notices, boards, stats, reminders: as many messages as the text needs."""
    if m.actions:  # the buttons under the text (one message: these are short)
        return [fit(([header(m.title)] if m.title else []) + sections(m.text), [action_buttons(m)])]
    # m.image (a PNG chart) is left out: an ephemeral message cannot carry a file (decks go to a direct message).
    blocks = ([header(m.title)] if m.title else []) + sections(m.text)
    return pages(blocks)


def message_pages(m: Outgoing) -> list[list[Block]]:
    if m.kind is Kind.ROUND:
        return [round_blocks(m)]
    if m.kind is Kind.CLOSED:
        return [closed_blocks(m)]
    if m.kind is Kind.PERSONAL:
        return [personal_blocks(m)]
    return text_pages(m)


def fallback(m: Outgoing) -> str:
    """The message's `text`: what notifications and screen readers show."""
    words = f"{m.title}: {m.text}" if m.title else m.text
    ping = group_mention(m.ping) + " " if m.ping and m.kind is Kind.ROUND else ""
    return ping + (shorten(mrkdwn(words), FALLBACK_LIMIT - len(ping)) or " ")


# ---- views -------------------------------------------------------------------------


def home_view(name: str, stats: str, board: str) -> dict:
    blocks = [header(f"Your record, {name}"), *sections(stats), {"type": "divider"}]
    blocks += [header("This week's leaderboard"), *sections(board)]
    tail = [context("`/quiz` for a question now · `/quiz leaderboard all` for all time · `/quiz help` for the rest")]
    return {"type": "home", "blocks": fit(blocks, tail, MAX_HOME_BLOCKS)}


def suggest_modal(form, response_url: str | None, channel: str | None) -> dict:
    """The /quiz suggest form (form: bot.outcomes.SuggestForm); its problems, if any, under its fields."""
    from bot.suggestions import FIELDS
    from bot.texts import SUGGEST_TITLE, suggest_hint, suggest_label

    metadata = json.dumps({"draft": form.draft, "editing": form.editing, "response_url": response_url,
                           "channel": channel})
    blocks: list[Block] = []
    errors = dict(form.errors)
    if errors.get(""):
        blocks.append(context(mrkdwn(f"**Problem:** {errors['']}")))
    for field, limit in FIELDS:
        if field == "level":
            options = [{"text": {"type": "plain_text", "text": plain(level, BUTTON_LIMIT)}, "value": level}
                       for level in form.levels]
            element: dict = {"type": "static_select", "action_id": field, "options": options}
            chosen = next((o for o in options if o["value"] == form.value("level")), None)
            if chosen is not None:
                element["initial_option"] = chosen
        else:
            element = {"type": "plain_text_input", "action_id": field, "max_length": min(limit, MODAL_INPUT_LIMIT),
                       "multiline": field in ("question", "choices", "answer", "key_points")}
            if form.value(field):
                element["initial_value"] = form.value(field)[:limit]
        blocks.append({"type": "input", "block_id": field, "optional": True, "element": element,
                       "label": {"type": "plain_text", "text": suggest_label(field)},
                       "hint": {"type": "plain_text", "text": suggest_hint(field, form.levels)}})
    title = f"Edit suggestion {form.editing}" if form.editing is not None else SUGGEST_TITLE
    return {"type": "modal", "callback_id": SUGGEST_VIEW, "title": {"type": "plain_text", "text": plain(title, 24)},
            "submit": {"type": "plain_text", "text": "Send"}, "close": {"type": "plain_text", "text": "Cancel"},
            "private_metadata": metadata, "blocks": blocks}


def suggest_errors(form) -> dict[str, str]:
    """The form's problems as view_submission's response_action "errors" wants them: block id -> message."""
    from bot.suggestions import KEYS

    out: dict[str, str] = {}
    for field, message in form.errors:
        block = field if field in KEYS else "question"
        out[block] = (out[block] + "; " if block in out else "") + message
    return {block: shorten(message, 2000) for block, message in out.items()}


def written_modal(round_id: int, response_url: str | None, channel: str | None) -> dict:
    metadata = json.dumps({"round_id": round_id, "response_url": response_url, "channel": channel})
    return {
        "type": "modal",
        "callback_id": WRITTEN_VIEW,
        "title": {"type": "plain_text", "text": "Your answer"},
        "submit": {"type": "plain_text", "text": "Send"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": metadata,
        "blocks": [
            {
                "type": "input",
                "block_id": "answer",
                "label": {"type": "plain_text", "text": "Answer in your own words"},
                "hint": {"type": "plain_text",
                         "text": "Graded against the question's key points. Your first answer counts."},
                "element": {"type": "plain_text_input", "action_id": "answer", "multiline": True,
                            "max_length": MODAL_INPUT_LIMIT},
            }
        ],
    }
