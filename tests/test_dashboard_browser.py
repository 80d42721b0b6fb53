"""The dashboard in a real browser: Debian's headless Chromium, driven by Playwright for Python.

The bot's pages are served by a real aiohttp server on a free port, over data from channel rounds played
through the engine. The tests check that the pages render, that the board shows the right names in order,
that forged, expired and revoked links get 403, and that the pages hold up on a phone: no sideways
scrolling of the page, a skip link, real table headers, and text contrast of at least 4.5:1.

Skipped when Playwright or Chromium is missing (.ci/run installs both). With STUDYBOT_SCREENSHOTS=DIR set,
each page is saved as a PNG there, at desktop and phone sizes, for a look at the layout.
"""

from __future__ import annotations

import os
import shutil
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import pytest_asyncio
from aiohttp import web

from bot.dashboard import mount_dashboard
from bot.seasons import season_key
from tests.conftest import member
from tests.test_dashboard import TEAM, link, play, seasons_on

playwright_api = pytest.importorskip("playwright.async_api")
CHROMIUM = os.environ.get("STUDYBOT_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    pytest.skip("Chromium is not installed (apt-get install chromium)", allow_module_level=True)

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]
PHONE = {"width": 375, "height": 740}
DESKTOP = {"width": 1280, "height": 900}
SHOTS = os.environ.get("STUDYBOT_SCREENSHOTS")
PAGES = {"board": "", "board-season": "board?scope=season", "board-all": "board?scope=all", "rounds": "rounds",
         "topics": "topics", "member": "member"}

NAMES = ["Ada Lovelace", "Grace Hopper", "Alan Turing", "Katherine Johnson", "Edsger Dijkstra",
         "Barbara Liskov", "Donald Knuth", "Margaret Hamilton with a rather long display name"]
PEOPLE = [member(name) for name in NAMES]


@pytest.fixture
def team(engine, clock):
    """Eleven channel rounds over three weeks, with monthly seasons on (November's and December's);
    member i answers right when (round + i) % (i + 2) != 0."""
    seasons_on(engine)
    for week in range(3):
        for day in range(4 if week < 2 else 3):
            picks = {who: "right" if (week * 4 + day + i) % (i + 2) else "wrong" for i, who in enumerate(PEOPLE)
                     if (week + day + i) % 5}
            play(engine, clock, picks, level="basic" if (week + day) % 2 else "advanced")
            clock.advance(days=1)
        clock.advance(days=3 if week < 2 else 0)
    return engine


@asynccontextmanager
async def served(engine):
    app = web.Application()
    mount_dashboard(app, engine)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


# One browser for the module (a launch costs about 2 s of CPU), on the module's event loop; each test opens its
# own context, so no cookie or storage passes from one test to the next.
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser():
    async with playwright_api.async_playwright() as p:
        launched = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield launched
        finally:
            await launched.close()


@asynccontextmanager
async def chromium(browser, **options):
    context = await browser.new_context(**options)
    try:
        yield context
    finally:
        await context.close()


async def shot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


# Text contrast per WCAG 2: each element with its own text, against the first opaque background behind it.
CONTRAST = """() => {
  const lum = (c) => { const [r, g, b] = c.map(v => {
                         v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
                       return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const rgba = (s) => (s.match(/[\\d.]+/g) || []).map(Number);
  const background = (el) => { for (; el; el = el.parentElement) { const c = rgba(getComputedStyle(el).backgroundColor);
                               if (c.length === 3 || (c.length === 4 && c[3] > 0.99)) return c.slice(0, 3); }
                               return [255, 255, 255]; };
  const bad = [];
  for (const el of document.querySelectorAll('body *')) {
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    const style = getComputedStyle(el);
    if (!own || style.visibility === 'hidden' || style.display === 'none' || el.closest('svg, .sr')) continue;
    const fg = rgba(style.color).slice(0, 3), bg = background(el);
    const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
    const ratio = (a + 0.05) / (b + 0.05);
    if (ratio < 4.5) bad.push(`${el.tagName} "${el.textContent.trim().slice(0, 30)}" ${ratio.toFixed(2)}`);
  }
  return bad;
}"""

STRUCTURE = """() => ({
  lang: document.documentElement.lang,
  viewport: !!document.querySelector('meta[name=viewport]'),
  h1: document.querySelectorAll('h1').length,
  main: !!document.querySelector('main#main'),
  skip: document.querySelector('a.skip')?.getAttribute('href'),
  tables: [...document.querySelectorAll('table')].map(t => ({
    caption: !!t.querySelector('caption') && t.querySelector('caption').textContent.trim().length > 0,
    colHeaders: t.querySelectorAll('thead th[scope=col]').length,
    headCells: t.querySelectorAll('thead th').length,
  })),
  width: document.documentElement.scrollWidth,
  scripts: document.querySelectorAll('script').length,
})"""


async def test_pages_render_and_the_board_shows_the_right_names(team, browser):
    expected = [s.name for s in team.store.standings("console", "local", None, 50)]
    async with served(team) as base, chromium(browser, viewport=DESKTOP) as context:
        page = await context.new_page()
        admin = base + link(team, PEOPLE[0], admin=True)
        response = await page.goto(admin + "board?scope=all")
        assert response.status == 200
        assert await page.title() == "Leaderboard · studybot"
        names = await page.locator("table.board tbody th[scope=row]").all_inner_texts()
        assert names == expected and len(names) == len(PEOPLE)
        ranks = await page.locator("table.board tbody tr td:first-child").all_inner_texts()
        assert ranks[0] == "1"
        # this season's board (December: the last rounds only), reached by its tab
        season = season_key(team.clock(), "UTC", "monthly")
        in_season = team.store.season_standings("console", "local", season, 50)
        all_time = team.store.standings("console", "local", None, 50)
        assert season == "2026-12" and in_season and sum(s.points for s in in_season) < sum(s.points for s in all_time)
        await page.get_by_role("link", name="This season").click()
        assert await page.locator("[aria-current=page]", has_text="This season").count() == 1
        assert (await page.locator("table.board caption").inner_text()).startswith("Leaderboard, season December 2026")
        names = await page.locator("table.board tbody th[scope=row]").all_inner_texts()
        assert names == [s.name for s in in_season]
        ranks = await page.locator("table.board tbody tr td:first-child").all_inner_texts()
        assert ranks == [str(s.rank) for s in in_season]
        for key, path in PAGES.items():
            response = await page.goto(admin + path)
            assert response.status == 200, key
            assert await page.locator("h1").count() == 1
            await shot(page, f"desktop-{key}")
        # the archive: a round's question, its picks table and the names of those right
        await page.goto(admin + "rounds")
        first = page.locator("article.round").first
        assert await first.locator("table.picks caption").inner_text() != ""
        assert "right answer" in await first.locator("tr.right").inner_text()
        # following links keeps the token: board -> a member's page
        await page.goto(admin)
        await page.get_by_role("link", name=expected[0]).click()
        assert await page.locator("h1").inner_text() == expected[0]
        assert await page.locator("svg.chart").count() == 1


async def test_forged_expired_and_revoked_links_get_403_in_the_browser(team, clock, browser):
    async with served(team) as base, chromium(browser) as context:
        page = await context.new_page()
        good = base + link(team, PEOPLE[0], admin=True)
        token = good.rstrip("/").rsplit("/", 1)[1]
        payload, signature = token.split(".")
        expiring = base + link(team, PEOPLE[1], admin=False, minutes=5)
        member_link = base + link(team, PEOPLE[2], admin=False)
        # Forge the first character: it carries six bits of the MAC (the last one carries padding bits too).
        forged = ("B" if signature[0] == "A" else "A") + signature[1:]
        for url in (f"{base}/dashboard/", f"{base}/dashboard/{payload}.{forged}/",
                    f"{base}/dashboard/{payload}/board", member_link + "board"):
            response = await page.goto(url)
            assert response.status == 403, url
            text = await page.locator("body").inner_text()
            assert "not valid" in text and not any(name in text for name in NAMES)
        assert (await page.goto(expiring)).status == 200
        clock.advance(minutes=5)
        assert (await page.goto(expiring)).status == 403
        await shot(page, "forbidden")
        assert (await page.goto(good)).status == 200
        team.dashboards.revoke(TEAM.platform, TEAM.workspace)
        assert (await page.goto(good)).status == 403


async def test_every_page_works_on_a_phone_and_is_accessible(team, browser):
    phone = {"viewport": PHONE, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
    async with served(team) as base, chromium(browser, **phone) as context:
        page = await context.new_page()
        admin = base + link(team, PEOPLE[0], admin=True)
        for key, path in PAGES.items():
            await page.goto(admin + path)
            facts = await page.evaluate(STRUCTURE)
            assert facts["lang"] == "en" and facts["viewport"] and facts["h1"] == 1 and facts["main"], key
            assert facts["skip"] == "#main" and facts["scripts"] == 0, key
            # with is_mobile, Chromium widens the layout viewport to fit wide content: compare with the device
            assert facts["width"] <= PHONE["width"], f"{key}: the page is {facts['width']}px wide on a phone"
            for table in facts["tables"]:
                assert table["caption"] and table["colHeaders"] == table["headCells"] > 0, (key, table)
            assert await page.evaluate(CONTRAST) == [], key
            await shot(page, f"phone-{key}")
        # the skip link is the first stop of the keyboard, and takes it to the content
        await page.goto(admin)
        await page.keyboard.press("Tab")
        assert await page.evaluate("document.activeElement.className") == "skip"
        await page.keyboard.press("Enter")
        assert await page.evaluate("document.activeElement.id") == "main"
