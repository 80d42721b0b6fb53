"""The web dashboard over HTTP (aiohttp's test client): 403s, and what each page shows.

The data comes from real channel rounds played through the engine, so the pages read what the bot writes.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.config import Settings
from bot.dashboard import bucket, markdown, mount_dashboard, progress_svg
from bot.dashboard_data import BOARD_PAGE, DashboardData
from bot.events import ChoiceMade, CommandInvoked
from bot.models import Member, Place
from bot.stats import Tally
from tests.conftest import member

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # the store-backed tests run on both

ALICE, BOB, CAROL = member("alice"), member("bob"), member("Carol <script>alert(1)</script>")
TEAM = Place("console", "local", "console")


def play(engine, clock, picks: dict[Member, int | str], level: str | None = None) -> int:
    """One channel round answered as given ("right"/"wrong" or a choice number), revealed; its round id."""
    [post] = engine.rounds.post_round(TEAM, level)
    question = engine.bank.get(engine.store.round(post.round_id).question_id)
    for who, pick in picks.items():
        if pick == "right":
            pick = question.correct
        elif pick == "wrong":
            pick = 1 if question.correct != 1 else 2
        engine.handle(ChoiceMade(who, pick, round_id=post.round_id))
    clock.advance(hours=1)
    engine.rounds.reveal(post.round_id)
    clock.advance(minutes=5)
    return post.round_id


@pytest.fixture
def played(engine, clock):
    """Three rounds: alice right in all, bob in one, Carol (a name with markup) in two."""
    play(engine, clock, {ALICE: "right", BOB: "right", CAROL: "wrong"})
    play(engine, clock, {ALICE: "right", BOB: "wrong", CAROL: "right"})
    play(engine, clock, {ALICE: "right", BOB: "wrong", CAROL: "right"})
    return engine


async def serve(engine) -> TestClient:
    app = web.Application()
    mount_dashboard(app, engine)
    client = TestClient(TestServer(app))
    await client.start_server()
    return client


def link(engine, who: Member, admin: bool, **lifetime) -> str:
    token, _ = engine.dashboards.issue(TEAM.platform, TEAM.workspace, who.user_id, admin,
                                       **({"lifetime": timedelta(**lifetime)} if lifetime else {}))
    return f"/dashboard/{token}/"


def visible(html: str) -> str:
    """The page's text without tags (names are escaped in the HTML, so compare against the unescaped text)."""
    import html as html_module

    return html_module.unescape(re.sub(r"<[^>]+>", " ", html))


# ---- 403 ---------------------------------------------------------------------------------------


async def test_missing_forged_expired_and_revoked_links_get_403_and_nothing_else(played, clock):
    client = await serve(played)
    try:
        good = link(played, ALICE, admin=True)
        assert (await client.get(good)).status == 200
        token = good.split("/")[2]
        payload, signature = token.split(".")
        forged = f"{payload}.{signature[::-1]}"
        expiring = link(played, ALICE, admin=True, hours=1)
        bad_paths = ["/dashboard", "/dashboard/", "/dashboard/board", "/dashboard/nonsense/",
                     f"/dashboard/{forged}/", f"/dashboard/{forged}/board", f"/dashboard/{forged}/member?id=id-alice",
                     f"/dashboard/{forged}/no-such-page", f"/dashboard/{payload}/rounds"]
        for path in bad_paths:
            response = await client.get(path)
            body = await response.text()
            assert response.status == 403, path
            assert "alice" not in body and "bob" not in body and "Leaderboard" not in body, path
            assert response.headers["Cache-Control"] == "no-store"
        clock.advance(hours=1)
        assert (await client.get(expiring)).status == 403
        assert (await client.get(good)).status == 200
        played.dashboards.revoke(TEAM.platform, TEAM.workspace)
        for page in ("", "board", "rounds", "topics", "member"):
            assert (await client.get(good + page)).status == 403, page
    finally:
        await client.close()


async def test_a_members_link_shows_their_own_page_and_no_team_page(played):
    client = await serve(played)
    try:
        own = link(played, BOB, admin=False)
        home = await client.get(own)
        text = visible(await home.text())
        assert home.status == 200 and "Your page" in text and "Leaderboard" not in text
        for page in ("board", "rounds", "topics", f"member?id={ALICE.user_id}"):
            response = await client.get(own + page)
            assert response.status == 403, page
            assert "alice" not in await response.text()
        assert (await client.get(own + f"member?id={BOB.user_id}")).status == 200
    finally:
        await client.close()


# ---- pages -------------------------------------------------------------------------------------


async def test_the_board_ranks_the_right_names_and_escapes_them(played):
    client = await serve(played)
    try:
        admin = link(played, ALICE, admin=True)
        response = await client.get(admin)
        html = await response.text()
        assert response.status == 200
        assert "<script>alert" not in html and "&lt;script&gt;" in html
        rows = re.findall(r'<td class="num">(\d+)</td>\s*<th scope="row"><a href="member\?id=([^"]+)">([^<]+)</a>',
                          html)
        assert [(rank, name) for rank, _, name in rows] == [
            ("1", "alice"), ("2", "Carol &lt;script&gt;alert(1)&lt;/script&gt;"), ("3", "bob")]
        assert "Leaderboard, week of 2026-11-23: 3 members" in visible(html)
        for header in ("Rank", "Member", "Points"):
            assert '<th scope="col"' in html and header in html
        all_time = visible(await (await client.get(admin + "board?scope=all")).text())
        assert "Leaderboard, all time" in all_time and "alice" in all_time
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    finally:
        await client.close()


async def test_the_archive_shows_question_picks_model_answer_and_who_was_right(played):
    client = await serve(played)
    try:
        admin = link(played, ALICE, admin=True)
        html = await (await client.get(admin + "rounds")).text()
        text = visible(html)
        first = played.store.rows("SELECT * FROM rounds WHERE kind = 'post' ORDER BY id")[0]
        question = played.bank.get(first["question_id"])
        assert question.question in text and "✓ right answer" in text
        assert "3 past channel rounds, newest first" in text
        assert "Picks: 3 answers, 2 right" in text  # the first round: alice and bob right, Carol wrong
        assert html.count("<article") == 3
        assert "Model answer" in text and question.answer.split(";")[0][:40] in text
        assert "alice, bob" in text
        counted = played.store.rows("SELECT * FROM round_tallies ORDER BY round_id")
        assert [(t["answered"], t["correct"]) for t in counted] == [(3, 2), (3, 2), (3, 2)]
    finally:
        await client.close()


async def test_the_heatmap_has_a_cell_per_topic_and_week_with_numbers(played):
    client = await serve(played)
    try:
        html = await (await client.get(link(played, ALICE, admin=True) + "topics")).text()
        text = visible(html)
        assert "<caption" in html and 'scope="row"' in html and 'scope="col"' in html
        assert re.search(r'<td class="num h\d">\d+%<span class="count">\d+/\d+</span></td>', html)
        assert "Team accuracy over all time: 6/9 (67%)" in text
        assert html.count("<th scope=\"col\" class=\"num\"><abbr") == 12
    finally:
        await client.close()


async def test_the_member_page_has_the_chart_weakest_topics_and_review_queue(played, clock):
    client = await serve(played)
    try:
        clock.advance(days=30)  # cards come due
        html = await (await client.get(link(played, BOB, admin=False))).text()
        text = visible(html)
        assert "<svg" in html and 'role="img"' in html and "<title id=\"chart-title\">" in html
        assert "Answered right 1/3 (33%)" in " ".join(text.split())
        due = played.store.rows("SELECT COUNT(*) AS n FROM cards WHERE user_id = ?", (BOB.user_id,))[0]["n"]
        assert due == 3 and "Due for review 3" in " ".join(text.split())
        admin_view = await client.get(link(played, ALICE, admin=True) + f"member?id={CAROL.user_id}")
        assert admin_view.status == 200 and "&lt;script&gt;" in await admin_view.text()
        unknown = await client.get(link(played, ALICE, admin=True) + "member?id=nobody")
        assert unknown.status == 404
    finally:
        await client.close()


async def test_pages_of_an_empty_team_render(engine):
    client = await serve(engine)
    try:
        admin = link(engine, ALICE, admin=True)
        for page in ("", "board?scope=all", "rounds", "topics", "member", "board?page=99999999999"):
            response = await client.get(admin + page)
            assert response.status == 200, page
        assert "No answers yet" in await (await client.get(link(engine, BOB, admin=False))).text()
        response = await client.get(admin[:-1], allow_redirects=False)  # no trailing slash
        assert response.status == 302 and response.headers["Location"].endswith("/")
        css = await client.get("/dashboard/static/dashboard.css")
        assert css.status == 200 and css.content_type == "text/css"
    finally:
        await client.close()


def seasons_on(engine, kind: str = "monthly") -> None:
    [*_, done] = engine.handle(CommandInvoked(ALICE, TEAM, f"setup season={kind}", is_admin=True))
    assert engine.settings_for(TEAM.platform, TEAM.workspace).season == kind, done.text


@pytest.mark.parametrize("scope", ["week", "season"])
async def test_the_board_pages_and_shares_ranks_across_pages(engine, clock, scope):
    if scope == "season":
        seasons_on(engine)
    with engine.store.transaction():
        for i in range(BOARD_PAGE + 10):
            points = 100 if i < BOARD_PAGE + 2 else 10  # a tie that spans the page break
            if scope == "week":
                engine.store.add_score("console", "local", "2026-11-23", f"u{i:03d}", f"member {i:03d}", points, True)
            else:
                engine.store.add_season_score("console", "local", "2026-11", f"u{i:03d}", f"member {i:03d}", points,
                                              True)
    client = await serve(engine)
    try:
        admin = link(engine, ALICE, admin=True)
        first = visible(await (await client.get(admin + f"board?scope={scope}")).text())
        assert "page 1 of 2" in first and "member 049" in first and "member 050" not in first
        second = await (await client.get(admin + f"board?scope={scope}&page=2")).text()
        ranks = re.findall(r'<td class="num">(\d+)</td>\s*<th scope="row">', second)
        assert ranks == ["1", "1"] + ["53"] * 8  # the tie keeps rank 1 on page 2
        assert 'rel="prev"' in second
    finally:
        await client.close()


async def test_the_season_board_shows_this_seasons_standings_in_order(engine, clock):
    seasons_on(engine)
    store = engine.store
    store.add_season_scores("console", "local", "2026-11", [
        ("id-bob", "bob", 30, False), ("id-alice", "alice", 50, True), ("id-carol", "Carol <b>", 30, False),
        ("id-dan", "dan", 10, True)])
    store.add_season_score("console", "local", "2026-11", "id-carol", "Carol <b>", 0, True)  # ties bob, more right
    store.add_season_score("console", "local", "2026-10", "id-erin", "erin", 500, True)  # last season's
    client = await serve(engine)
    try:
        admin = link(engine, ALICE, admin=True)
        html = await (await client.get(admin + "board?scope=season")).text()
        rows = re.findall(r'<td class="num">(\d+)</td>\s*<th scope="row">'
                          r'<a href="member\?id=([^"]+)">([^<]+)</a>', html)
        assert [(rank, name) for rank, _, name in rows] == [("1", "alice"), ("2", "Carol &lt;b&gt;"), ("2", "bob"),
                                                          ("4", "dan")]
        text = visible(html)
        assert "Leaderboard, season November 2026: 4 members" in text and "erin" not in text
        assert '<a href="board?scope=season" aria-current="page">This season</a>' in html
        assert "Seasons are off" not in text
        seasons_on(engine, "quarterly")  # another kind of season: Q4's board, empty so far
        text = visible(await (await client.get(admin + "board?scope=season")).text())
        assert "No points yet for season Q4 2026 (October to December)" in text
        clock.set(clock().replace(month=12, day=1))  # a new month: November's points are last season's
        seasons_on(engine, "monthly")
        admin = link(engine, ALICE, admin=True)  # the first one expired meanwhile
        text = visible(await (await client.get(admin + "board?scope=season")).text())
        assert "No points yet for season December 2026" in text and "alice" not in text
        play(engine, clock, {BOB: "right", ALICE: "wrong"})  # a round revealed now counts in December's
        text = visible(await (await client.get(admin + "board?scope=season")).text())
        assert "Leaderboard, season December 2026: 2 members" in text and text.index("bob") < text.index("alice")
    finally:
        await client.close()


async def test_with_seasons_off_the_season_tab_says_so(played):
    client = await serve(played)
    try:
        admin = link(played, ALICE, admin=True)
        week = await (await client.get(admin)).text()
        assert '<a href="board?scope=season">This season</a>' in week and "Seasons are off" not in week
        response = await client.get(admin + "board?scope=season")
        html = await response.text()
        text = " ".join(visible(html).split())
        assert response.status == 200
        assert "Seasons are off for this team: there is no season board." in text
        assert "/quiz setup season=monthly" in text and "<table" not in html and "alice" not in text
        assert '<a href="board?scope=season" aria-current="page">This season</a>' in html
        assert "Leaderboard, all time" in visible(await (await client.get(admin + "board?scope=all")).text())
    finally:
        await client.close()


# ---- pieces ---------------------------------------------------------------------------------------


def test_markdown_is_escaped_and_keeps_its_structure():
    out = markdown("**Bold** and `code` <b>x</b>\n\n- one\n- two\n\n1. first\n2. second")
    assert "<strong>Bold</strong>" in out and "<code>code</code>" in out and "&lt;b&gt;x&lt;/b&gt;" in out
    assert "<ul><li>one</li><li>two</li></ul>" in out and "<ol><li>first</li>" in out


def test_heat_buckets_and_the_chart_scale():
    assert [bucket(Tally(10, c)) for c in (0, 2, 4, 6, 8, 10)] == [0, 1, 2, 3, 4, 4]
    from datetime import date

    from bot.dashboard_data import MemberPage, WeekBar

    page = MemberPage("u", "n", weeks=[WeekBar(date(2026, 11, 2) + timedelta(weeks=i), 7 * i, 3 * i) for i in range(4)])
    svg = str(progress_svg(page))
    assert svg.count("<rect") == 3 * 2 + 2  # three weeks with bars (right and wrong), two legend keys
    assert "42 answers in the last 4 weeks, 18 of them right" in svg


def test_tallies_are_counted_once(played):
    data = DashboardData(played.store, played.bank, played.settings_for, played.clock)
    data.catch_up(TEAM.platform, TEAM.workspace)
    counted = played.store.rows("SELECT * FROM round_tallies")
    assert len(counted) == 3
    played.store.db.execute("UPDATE round_tallies SET answered = 99")
    data.catch_up(TEAM.platform, TEAM.workspace)
    assert {r["answered"] for r in played.store.rows("SELECT * FROM round_tallies")} == {99}


def test_the_archive_query_uses_its_index(played, backend):
    if backend != "sqlite":
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's")
    plan = played.store.rows(
        "EXPLAIN QUERY PLAN SELECT id FROM rounds WHERE platform = ? AND workspace = ? AND "
        "kind IN ('daily', 'post') AND revealed_at IS NOT NULL ORDER BY id DESC LIMIT 10", ("console", "local"))
    assert any("rounds_archive" in row["detail"] for row in plan), plan


# ---- served by the running bot -------------------------------------------------------------------


async def test_the_runtime_serves_the_dashboard_next_to_healthz(store, mini_bank, clock, tmp_path):
    import aiohttp

    from bot.runtime import build_runtime
    from tests.test_operations import free_port

    port = free_port()
    settings = Settings(db_path=tmp_path / "studybot.db", http_port=port, public_url="https://quiz.example.com")
    runtime = build_runtime(settings, mini_bank, store, adapters={}, clock=clock)
    await runtime._start_http()
    try:
        [reply] = runtime.engine.handle(CommandInvoked(ALICE, TEAM, "dashboard", is_admin=True))
        path = re.search(r"https://quiz\.example\.com(/dashboard/\S+/)", reply.text).group(1)
        async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as http:
            async with http.get("/healthz") as health:
                assert health.status == 503  # served (the scheduler is not started in this test)
            async with http.get(path) as page:
                assert page.status == 200 and "Leaderboard" in await page.text()
            async with http.get("/dashboard/") as refused:
                assert refused.status == 403
    finally:
        await runtime.http.cleanup()


async def test_with_slack_in_http_mode_the_dashboard_is_on_slacks_server(store, mini_bank, clock, tmp_path):
    from adapters.slack import SlackAdapter
    from bot.runtime import build_runtime

    settings = Settings(db_path=tmp_path / "studybot.db", slack_bot_token="xoxb-test", slack_signing_secret="secret",
                        port=3999)
    slack = SlackAdapter(settings)
    runtime = build_runtime(settings, mini_bank, store, adapters={"slack": slack}, clock=clock)
    await runtime._start_http()
    assert runtime.http is None  # no second server: the pages ride on Slack's
    client = TestClient(TestServer(slack.web_app))
    await client.start_server()
    try:
        assert (await client.get("/healthz")).status == 503  # served (nothing started in this test)
        token, _ = runtime.engine.dashboards.issue("slack", "T1", "U1", admin=True)
        assert (await client.get(f"/dashboard/{token}/")).status == 200
        assert (await client.get("/dashboard")).status == 403
    finally:
        await client.close()
