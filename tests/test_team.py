"""The team features through the engine (issue 16), on SQLite and PostgreSQL: forgetting a member, reports and
pauses, seasons (across a daylight saving time change), reminders and pings, suggested questions."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import yaml

from bot import outcomes as o
from bot.clock import UTC
from bot.events import ChoiceMade, CommandInvoked, Kind, SuggestionSubmitted, WrittenAnswer
from bot.questions import parse_bank
from bot.seasons import label, previous_key, season_key, season_trigger
from bot.suggestions import export_yaml, with_suggested
from tests.conftest import GOOD_SUGGESTION, make_engine, member

pytestmark = pytest.mark.backends("sqlite", "postgresql")

ALICE, BOB, CAROL, DAN = member("alice"), member("bob"), member("carol"), member("dan")
ADMIN = member("admin")

GOOD = {**GOOD_SUGGESTION, "key_points": ("- divides the logits\n- lower is sharper and more deterministic\n"
                                          "- higher is flatter and more varied")}  # a bulleted list is read too


def run(engine, who, text, place, admin=False):
    """The answers to a command, without the notices an admin gets first (see `told`)."""
    messages = engine.handle(CommandInvoked(who, place, text, is_admin=admin))
    return [m for m in messages if not isinstance(m.outcome, o.AdminNotice)]


def told(engine, place):
    """What the admins are shown at their next command."""
    return [m.text for m in engine.handle(CommandInvoked(ADMIN, place, "help", is_admin=True))
            if isinstance(m.outcome, o.AdminNotice)]


def texts_of(messages):
    return "\n".join(m.text for m in messages)


def channel_round(engine, place, answers: dict, clock, reveal=True):
    """A /quiz post round answered by `answers` (member -> choice or text), revealed at its deadline."""
    [post] = engine.rounds.post_round(place, None)
    engine.rounds.round_posted(post.round_id, f"msg-{post.round_id}", None)
    for who, value in answers.items():
        event = ChoiceMade(who, value, round_id=post.round_id) if isinstance(value, int) else \
            WrittenAnswer(who, value, round_id=post.round_id)
        engine.handle(event)
    if reveal:
        clock.advance(hours=1)
        engine.rounds.reveal(post.round_id)
    return engine.store.round(post.round_id)


# ---- forgetting a member -----------------------------------------------------------------------------------


def test_forget_me_asks_then_deletes_personal_data_and_keeps_anonymous_tallies(engine, place, clock):
    question = None
    rnd = channel_round(engine, place, {ALICE: 1, BOB: 2}, clock, reveal=False)
    question = engine.bank.get(rnd.question_id)
    engine.handle(WrittenAnswer(ALICE, "my own words about it", round_id=rnd.id))
    clock.advance(hours=1)
    engine.rounds.reveal(rnd.id)
    run(engine, ALICE, "review remind on", place)
    run(engine, ALICE, "flag the key looks wrong", place)
    open_round = channel_round(engine, place, {ALICE: 1}, clock, reveal=False)

    [ask] = run(engine, ALICE, "forget-me", place)
    assert ask.title == "Delete your data?" and ask.to == ALICE
    assert [a.command for a in ask.actions] == ["forget-me confirm"]
    assert engine.store.member_totals("console", "local", ALICE.user_id) is not None  # nothing deleted yet

    [done] = run(engine, ALICE, "forget-me confirm", place)
    assert "Deleted" in done.text
    assert engine.store.member_data(ALICE.user_id, "console") == dict.fromkeys(
        engine.store.member_data("nobody"), 0)
    answers = engine.store.answers(rnd.id)
    assert len(answers) == 2  # the tally of the past round stays
    gone = next(a for a in answers if a.name == "(deleted)")
    assert gone.text is None and gone.user_id.startswith("forgotten-") and gone.choice == 1
    assert engine.store.answers(open_round.id) == []  # an open round's answer would score a nameless member
    assert {s.name for s in engine.store.standings("console", "local", None, 10)} == {"bob"}
    assert engine.store.rows("SELECT * FROM cards WHERE user_id = ?", (ALICE.user_id,)) == []
    assert engine.store.rows("SELECT * FROM reminders WHERE user_id = ?", (ALICE.user_id,)) == []
    [flag] = engine.store.rows("SELECT user_id, reason FROM question_flags")
    assert flag["reason"] is None and flag["user_id"].startswith("forgotten-")
    assert question is not None
    [again] = run(engine, ALICE, "forget me", place)  # and twice is harmless
    assert "nothing to delete" in again.text


def test_forget_me_for_an_unknown_member_says_there_is_nothing(engine, place):
    [message] = run(engine, member("stranger"), "forget-me", place)
    assert message.text == "studybot keeps no data about you here: there is nothing to delete."
    assert not message.actions
    [message] = run(engine, member("stranger"), "forget-me confirm", place)
    assert "nothing to delete" in message.text


# ---- reports ----------------------------------------------------------------------------------------------


def test_flag_reports_the_last_question_seen_once_per_member_and_three_pause_it(engine, place, clock):
    [nothing] = run(engine, ALICE, "flag", place)
    assert "not seen a question" in nothing.text
    rnd = channel_round(engine, place, {ALICE: 1, BOB: 1, CAROL: 2}, clock)
    question = rnd.question_id

    [first] = run(engine, ALICE, "flag choice 2 is also right", place)
    assert f"`{question}`" in first.text and "1 member reported it" in first.text
    [twice] = run(engine, ALICE, "flag still wrong", place)
    assert "already" in twice.text
    assert len(engine.store.open_flags("console", "local", question)) == 1  # the same member counts once
    [notice] = told(engine, place)
    assert f"reported question `{question}`" in notice and "choice 2 is also right" in notice
    assert told(engine, place) == []  # told once
    [admin_view] = run(engine, ADMIN, "flags", place, admin=True)
    assert "1 report" in admin_view.text and "choice 2 is also right" in admin_view.text

    run(engine, BOB, "flag", place)
    assert question not in engine.team.paused(place)
    [third] = run(engine, CAROL, "flag ambiguous", place)
    assert "paused" in third.text
    assert engine.team.paused(place) == {question}
    assert any("It is paused" in t and f"/quiz flags clear {question}" in t for t in told(engine, place))

    for _ in range(2 * len(engine.bank.questions)):  # no pick draws it, in channel rounds or personal ones
        [post] = engine.rounds.post_round(place, None)
        assert engine.store.round(post.round_id).question_id != question
        [personal] = run(engine, DAN, "", place)
        assert engine.store.round(personal.round_id).question_id != question
    elsewhere = place.__class__("console", "other", "console")
    assert engine.team.paused(elsewhere) == set()  # reports count in their own workspace

    [listed] = run(engine, ADMIN, "suggestions", place, admin=True)
    assert "Paused by members' reports" in listed.text and question in listed.text
    [refused] = run(engine, ALICE, "flags clear " + question, place)
    assert "for admins" in refused.text
    [cleared] = run(engine, ADMIN, f"flags clear {question}", place, admin=True)
    assert "3 reports" in cleared.text
    assert engine.team.paused(place) == set()
    [unknown] = run(engine, ADMIN, "flags clear no-such-question", place, admin=True)
    assert "No open reports" in unknown.text
    [again] = run(engine, ALICE, "flag", place)  # reviewed: a new report counts again
    assert "1 member reported it" in again.text
    assert engine.store.row("SELECT COUNT(*) AS n FROM question_flags")["n"] == 3  # rows stay, for `studybot items`


def test_flag_in_a_round_thread_reports_that_round(engine, place, clock):
    rnd = channel_round(engine, place, {}, clock, reveal=False)
    run(engine, ALICE, "", place)  # a personal question after it: the latest seen otherwise
    [flagged] = run(engine, ALICE, "flag", place.in_thread(rnd.message_id))
    assert f"`{rnd.question_id}`" in flagged.text


# ---- seasons --------------------------------------------------------------------------------------------


def test_season_keys_labels_and_boundaries_across_daylight_saving_time():
    berlin = "Europe/Berlin"
    # Clocks go forward on 29 March 2026: the second quarter starts at 00:00 CEST on 1 April, 22:00 UTC.
    assert season_key(datetime(2026, 3, 31, 21, 59, tzinfo=UTC), berlin, "quarterly") == "2026-Q1"
    assert season_key(datetime(2026, 3, 31, 22, 0, tzinfo=UTC), berlin, "quarterly") == "2026-Q2"
    # Clocks go back on 25 October 2026: November starts at 00:00 CET, 23:00 UTC.
    assert season_key(datetime(2026, 10, 31, 22, 59, tzinfo=UTC), berlin, "monthly") == "2026-10"
    assert season_key(datetime(2026, 10, 31, 23, 0, tzinfo=UTC), berlin, "monthly") == "2026-11"
    assert previous_key("2026-Q1") == "2025-Q4" and previous_key("2026-01") == "2025-12"
    assert label("2026-11") == "November 2026" and label("2026-Q4") == "Q4 2026 (October to December)"

    from bot.models import ChannelSettings
    settings = ChannelSettings("console", "local", "c", "09:00", "mon-fri", "America/New_York", 3600, None,
                               season="monthly")
    trigger = season_trigger(settings)
    # New York leaves daylight saving time on 1 November 2026 at 02:00: midnight is still EDT (04:00 UTC),
    # and the next boundary, 1 December, is EST (05:00 UTC).
    first = trigger.get_next_fire_time(None, datetime(2026, 10, 20, tzinfo=UTC))
    assert first == datetime(2026, 11, 1, 0, 0, tzinfo=ZoneInfo("America/New_York"))
    assert first.astimezone(UTC) == datetime(2026, 11, 1, 4, 0, tzinfo=UTC)
    second = trigger.get_next_fire_time(first, first + timedelta(seconds=1))
    assert second.astimezone(UTC) == datetime(2026, 12, 1, 5, 0, tzinfo=UTC)
    quarterly = season_trigger(settings.__class__(**{**settings.__dict__, "season": "quarterly",
                                                     "timezone": "Europe/Berlin"}))
    fire = quarterly.get_next_fire_time(None, datetime(2026, 1, 15, tzinfo=UTC))
    assert fire.astimezone(UTC) == datetime(2026, 3, 31, 22, 0, tzinfo=UTC)  # CEST
    assert season_trigger(settings.__class__(**{**settings.__dict__, "season": None})) is None


def test_season_board_and_the_season_end_across_a_dst_change(engine, place, clock):
    [refused] = run(engine, ALICE, "setup season=yearly", place, admin=True)
    assert "monthly, quarterly or off" in refused.text
    [off] = run(engine, ALICE, "leaderboard season", place)
    assert "Seasons are off" in off.text
    run(engine, ADMIN, "setup season=monthly timezone=Europe/Berlin", place, admin=True)

    clock.set(datetime(2026, 10, 31, 21, 0, tzinfo=UTC))  # 22:00 in Berlin, CET since the 25th
    first = channel_round(engine, place, {ALICE: 0, BOB: 0}, clock, reveal=False)
    right = engine.bank.get(first.question_id).correct
    engine.handle(ChoiceMade(ALICE, right, round_id=first.id))
    engine.handle(ChoiceMade(BOB, right % 3 + 1, round_id=first.id))
    clock.advance(minutes=59)
    engine.rounds.reveal(first.id)  # 22:59 in Berlin: October's
    [board] = run(engine, ALICE, "leaderboard season", place)
    assert board.title == "Leaderboard: season October 2026" and "alice" in board.text

    clock.set(datetime(2026, 10, 31, 23, 0, tzinfo=UTC))  # midnight in Berlin: November starts
    [ended] = engine.team.season_end("console", "local")
    assert ended.title == "Season October 2026 is over" and ended.to is None
    assert "🥇 alice (10 points)" in ended.text and "Season November 2026 starts now" in ended.text
    assert engine.team.season_end("console", "local") == []  # once
    [board] = run(engine, ALICE, "leaderboard season", place)
    assert board.title == "Leaderboard: season November 2026" and "No points yet this season" in board.text
    second = channel_round(engine, place, {BOB: 0}, clock, reveal=False)
    engine.handle(ChoiceMade(BOB, engine.bank.get(second.question_id).correct, round_id=second.id))
    clock.advance(hours=1)
    engine.rounds.reveal(second.id)
    [board] = run(engine, BOB, "leaderboard season", place)
    assert "bob" in board.text and "alice" not in board.text
    [all_time] = run(engine, BOB, "leaderboard all", place)
    assert "alice" in all_time.text and "bob" in all_time.text  # all-time standings stay


def test_a_season_missed_while_down_is_announced_at_start_only_if_anyone_scored(engine, place, clock):
    run(engine, ADMIN, "setup season=quarterly", place, admin=True)
    clock.set(datetime(2026, 4, 1, 0, 30, tzinfo=UTC))
    assert engine.team.season_end("console", "local", only_if_scored=True) == []  # Q1 had no points
    clock.set(datetime(2026, 6, 30, 12, 0, tzinfo=UTC))
    rnd = channel_round(engine, place, {ALICE: 0}, clock, reveal=False)
    engine.handle(ChoiceMade(ALICE, engine.bank.get(rnd.question_id).correct, round_id=rnd.id))
    clock.advance(hours=1)
    engine.rounds.reveal(rnd.id)
    clock.set(datetime(2026, 7, 2, 9, 0, tzinfo=UTC))
    [late] = engine.team.season_end("console", "local", only_if_scored=True)
    assert "Q2 2026" in late.title
    assert engine.team.season_end("console", "local") == []


# ---- reminders and pings -------------------------------------------------------------------------------------


def test_remind_posts_time_left_and_answers_so_far_in_the_thread_once(engine, place, clock):
    [bad] = run(engine, ADMIN, "setup remind=soon", place, admin=True)
    assert "remind" in bad.text
    run(engine, ADMIN, "setup remind=1h reveal=8h", place, admin=True)
    rnd = channel_round(engine, place, {ALICE: 1, BOB: 2, CAROL: 1, DAN: 3}, clock, reveal=False)
    engine.handle(WrittenAnswer(member("erin"), "words", round_id=rnd.id))
    at = engine.team.remind_at(rnd)
    assert at == rnd.deadline - timedelta(hours=1)
    assert engine.team.round_reminder(rnd.id) == []  # not yet
    clock.set(at)
    [reminder] = engine.team.round_reminder(rnd.id)
    assert reminder.text == "⏰ 1 hour left, 5 answers so far."
    assert reminder.place.thread == rnd.message_id and reminder.to is None
    assert engine.team.round_reminder(rnd.id) == []  # once
    run(engine, ADMIN, "setup remind=off", place, admin=True)
    assert engine.team.remind_at(rnd) is None


def test_ping_is_set_per_platform_and_rides_on_the_daily_post_only(engine, store, mini_bank, clock):
    from bot.models import Place

    discord = Place("discord", "guild-1", "chan-1")
    slack = Place("slack", "T1", "C1")
    [saved] = run(engine, ADMIN, "setup ping=<@&123456789012345678>", discord, admin=True)
    assert "Saved" in saved.text
    assert engine.settings_for("discord", "guild-1").ping == "123456789012345678"
    [bad] = run(engine, ADMIN, "setup ping=@devs", discord, admin=True)
    assert "is not a role" in bad.text
    run(engine, ADMIN, "setup ping=<!subteam^S0DEVS|@devs>", slack, admin=True)
    assert engine.settings_for("slack", "T1").ping == "S0DEVS"
    [bad] = run(engine, ADMIN, "setup ping=@devs", slack, admin=True)
    assert "is not a user group" in bad.text
    [daily] = engine.rounds.daily_round("discord", "guild-1")
    assert daily.ping == "123456789012345678"
    [post] = engine.rounds.post_round(discord, None)
    assert post.ping is None  # /quiz post does not ping
    run(engine, ADMIN, "setup ping=off", discord, admin=True)
    assert engine.settings_for("discord", "guild-1").ping is None


# ---- suggestions ----------------------------------------------------------------------------------------------


def submit(engine, who, place, values, draft=None, editing=None, admin=False):
    return engine.handle(SuggestionSubmitted(who, place, tuple(values.items()), draft, editing, admin))


def test_suggest_validates_like_the_bank_keeps_a_draft_and_waits_for_an_admin(engine, place, clock):
    [form] = run(engine, ALICE, "suggest", place)
    assert form.kind is Kind.FORM and form.outcome.value("level") == "basic"
    assert [a.command for a in form.actions] == [f"suggest draft {form.outcome.draft}"]
    broken = {**GOOD, "choices": "Only one choice", "correct": "2", "key_points": "just one point"}
    [again] = submit(engine, ALICE, place, broken, draft=form.outcome.draft)
    assert again.kind is Kind.FORM and again.to == ALICE
    errors = dict(again.outcome.errors)
    assert set(errors) == {"choices", "correct", "key_points"}
    assert "needs 2 to 4" in errors["choices"] and "needs 3 to 6" in errors["key_points"]
    assert "**Choices, one per line (or open-ended)**" in again.text
    draft = again.outcome.draft
    assert draft == form.outcome.draft and engine.store.suggestion(draft)["status"] == "draft"
    assert [a.command for a in again.actions] == [f"suggest draft {draft}"]
    [reopened] = run(engine, ALICE, f"suggest draft {draft}", place)
    assert reopened.outcome.value("choices") == "Only one choice" and dict(reopened.outcome.errors) == errors
    [others] = run(engine, BOB, f"suggest draft {draft}", place)
    assert others.kind is Kind.NOTICE  # not his draft

    [saved] = submit(engine, ALICE, place, GOOD, draft=draft)
    assert "waits for an admin" in saved.text
    assert engine.store.suggestion(draft)["status"] == "pending"  # the draft became the suggestion
    assert any(f"({draft})" in t and "/quiz suggestions" in t for t in told(engine, place))
    [refused] = run(engine, ALICE, "suggestions", place)
    assert "for admins" in refused.text
    [listed] = run(engine, ADMIN, "suggestions", place, admin=True)
    assert GOOD["question"] in listed.text and "by alice" in listed.text


def test_approve_edit_reject_and_export_yaml(engine, store, place, clock, mini_bank, tmp_path):
    [saved] = submit(engine, ALICE, place, GOOD)
    first = saved.outcome.suggestion_id
    [edit_form] = run(engine, ADMIN, f"suggestions edit {first}", place, admin=True)
    assert edit_form.kind is Kind.FORM and edit_form.outcome.editing == first
    [edited] = submit(engine, ADMIN, place, {**GOOD, "topic": "Decoding"}, editing=first, admin=True)
    assert "Saved your edits" in edited.text
    [sneaky] = submit(engine, BOB, place, GOOD, editing=first)
    assert "for admins" in sneaky.text

    [confirm, verdict] = run(engine, ADMIN, f"suggestions approve {first}", place, admin=True)
    assert f"suggested-{first}" in confirm.text
    assert verdict.kind is Kind.REMINDER and verdict.to.user_id == ALICE.user_id and "approved" in verdict.text
    question = engine.bank.get(f"suggested-{first}")
    assert question is not None and question.topic == "Decoding" and question.correct == 1
    [twice] = run(engine, ADMIN, f"suggestions approve {first}", place, admin=True)
    assert "approved already" in twice.text
    # asked like a bank question: a personal round of its level can draw it
    drawn = set()
    for _ in range(40):
        [asked] = run(engine, member("zoe"), "basic", place)
        drawn.add(engine.store.round(asked.round_id).question_id)
        engine.handle(ChoiceMade(member("zoe"), 1, round_id=asked.round_id))
    assert question.id in drawn
    # a new engine on the same database (a restart) has it too
    assert make_engine(store, mini_bank, clock).bank.get(question.id) == question
    assert mini_bank.get(question.id) is None  # the bank file's own object is never changed

    [other] = submit(engine, BOB, place, {**GOOD, "question": "Which sampling setting makes output deterministic?"})
    second = other.outcome.suggestion_id
    [no_reason] = run(engine, ADMIN, f"suggestions reject {second}", place, admin=True)
    assert "needs a reason" in no_reason.text
    [confirm, verdict] = run(engine, ADMIN, f"suggestions reject {second} too close to an existing one", place,
                             admin=True)
    assert "Rejected" in confirm.text
    assert verdict.to.user_id == BOB.user_id and "too close to an existing one" in verdict.text
    assert engine.bank.get(f"suggested-{second}") is None

    out = tmp_path / "suggested.yaml"
    assert export_yaml(store, mini_bank.levels, out) == 1
    bank, problems = parse_bank(out.read_text(), str(out))
    assert problems == [] and [q.id for q in bank.questions] == [question.id]
    assert bank.questions[0].key_points == question.key_points
    assert yaml.safe_load(out.read_text())["questions"][0]["correct"] == 1


def test_open_ended_suggestion_and_a_bank_change_since(engine, store, place, mini_bank):
    values = {**GOOD, "choices": "open-ended", "correct": ""}
    [saved] = submit(engine, ALICE, place, values)
    run(engine, ADMIN, f"suggestions approve {saved.outcome.suggestion_id}", place, admin=True)
    assert engine.bank.get(f"suggested-{saved.outcome.suggestion_id}").is_open
    # a stored suggestion the bank no longer takes (its level gone) is skipped at start, not fatal
    store.db.execute("UPDATE suggestions SET fields = ?", (json.dumps({**values, "level": "gone"}),))
    assert with_suggested(store, mini_bank).get(f"suggested-{saved.outcome.suggestion_id}") is None


def test_a_forgotten_author_keeps_the_suggestion_nameless_and_is_told_nothing(engine, place):
    [saved] = submit(engine, ALICE, place, GOOD)
    [done] = run(engine, ALICE, "forget-me confirm", place)
    assert "Deleted" in done.text
    row = engine.store.suggestion(saved.outcome.suggestion_id)
    assert row["name"] == "(deleted)" and row["user_id"].startswith("forgotten-")
    [listed] = run(engine, ADMIN, "suggestions", place, admin=True)
    assert "by (deleted)" in listed.text and "alice" not in listed.text
    messages = run(engine, ADMIN, f"suggestions reject {row['id']} a duplicate", place, admin=True)
    assert [m.kind for m in messages] == [Kind.NOTICE]  # no verdict: nobody to send it to
