"""The web dashboard: server-rendered pages (Jinja2 through aiohttp-jinja2) on the bot's own aiohttp server.

Mounted at /dashboard on the health server (STUDYBOT_HTTP_PORT) or on Slack's HTTP server (bot/runtime.py).
Every page sits under a private link, /dashboard/<token>/..., from `/quiz dashboard` (bot/dashboard_links.py):

    <token>/            an admin: the team's leaderboard; a member: their own page
    <token>/board       leaderboard: ?scope=week (default), season (while seasons are on) or all; ?page=N
    <token>/rounds      past channel rounds, newest first: question, picks, model answer, who was right; ?page=N
    <token>/topics      the team's weak topics: accuracy per topic and week, as a coloured table
    <token>/member      a member's page (?id=USER for an admin; a member sees their own only)

A missing, malformed, forged, revoked or expired token gets 403 with a page that shows nothing else, and
so does a member's link asking for a team page. Links between pages are relative, so they keep the token
and work behind a reverse proxy's path prefix. No JavaScript: the pages are HTML tables, CSS and one inline
SVG chart. Responses are not cached, send no referrer (the token is in the URL) and allow no framing.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlencode

import aiohttp_jinja2
import jinja2
from aiohttp import web
from aiohttp.typedefs import Handler
from markupsafe import Markup

from bot.dashboard_data import DashboardData, MemberPage
from bot.dashboard_links import Access, DashboardLinks
from bot.stats import MIN_ANSWERS_FOR_WEAKNESS, Tally
from bot.texts import reflow

if TYPE_CHECKING:
    from bot.engine import QuizEngine

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parent / "templates"
PREFIX = "/dashboard"
BUCKETS = ("under 20%", "20–39%", "40–59%", "60–79%", "80% and more")
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "X-Robots-Tag": "noindex, nofollow",
    "Content-Security-Policy": ("default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; "
                                "form-action 'none'; frame-ancestors 'none'"),
}
PLATFORM_NAMES = {"discord": "Discord server", "slack": "Slack workspace", "console": "console"}


# ---- filters -------------------------------------------------------------------------------


def pct(value: float) -> str:
    return f"{value * 100:.0f}%"


def bucket(tally: Tally) -> int:
    """The colour class of an accuracy: 0 (under 20%) to 4 (80% and more)."""
    return min(4, int(tally.accuracy * 100) // 20)


_BOLD = re.compile(r"\*\*(.+?)\*\*", re.DOTALL)
_CODE = re.compile(r"`([^`\n]+)`")
_ITEM = re.compile(r"^\s*(?:[-*+]|(\d+)\.)\s+(.*)$")


def markdown(text: str) -> Markup:
    """The bank's Markdown subset (paragraphs, **bold**, `code`, - and 1. lists, ``` blocks) as safe HTML."""
    out = []
    for block in reflow(text or "").split("\n\n"):
        if block.lstrip().startswith("```"):
            body = "\n".join(block.strip().split("\n")[1:]).rstrip("`").rstrip()
            out.append(f"<pre><code>{html.escape(body)}</code></pre>")
            continue
        lines = block.split("\n")
        items = [_ITEM.match(line) for line in lines]
        if all(items):
            tag = "ol" if items[0] and items[0].group(1) else "ul"
            out.append(f"<{tag}>" + "".join(f"<li>{_inline(m.group(2))}</li>" for m in items if m) + f"</{tag}>")
        else:
            out.append("<p>" + "<br>".join(_inline(line) for line in lines) + "</p>")
    return Markup("".join(out))


def _inline(text: str) -> str:
    escaped = html.escape(text, quote=False)
    escaped = _CODE.sub(r"<code>\1</code>", escaped)
    return _BOLD.sub(r"<strong>\1</strong>", escaped)


# ---- the progress chart ----------------------------------------------------------------------


def progress_svg(page: MemberPage) -> Markup:
    """Answers per week as stacked bars (right, then wrong), as inline SVG with its own title and description.

    The same numbers are in the table under it, for screen readers and for anyone who prefers numbers.
    """
    width, height, left, bottom, top = 360, 240, 28, 46, 30
    plot_w, plot_h = width - left - 6, height - bottom - top
    weeks = page.weeks
    peak = max([w.answered for w in weeks] + [1])
    step = _nice_step(peak)
    ceiling = step * -(-peak // step)
    slot = plot_w / max(1, len(weeks))
    bar = slot * 0.64
    total = sum(w.answered for w in weeks)
    right = sum(w.correct for w in weeks)
    desc = (f"{total} answers in the last {len(weeks)} weeks, {right} of them right. "
            + "; ".join(f"week of {w.week:%d %b}: {w.correct} right of {w.answered}" for w in weeks if w.answered))
    parts = [
        (f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-labelledby="chart-title chart-desc" '
         f'xmlns="http://www.w3.org/2000/svg" font-family="system-ui, sans-serif" font-size="12">'),
        '<title id="chart-title">Answers per week: right and wrong</title>',
        f'<desc id="chart-desc">{html.escape(desc)}</desc>',
    ]
    for tick in range(0, ceiling + 1, step):
        y = top + plot_h - plot_h * tick / ceiling
        parts.append(f'<line x1="{left}" x2="{width - 6}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d0d5da" '
                     'stroke-width="1"/>')
        parts.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" fill="#333333">{tick}</text>')
    for i, week in enumerate(weeks):
        x = left + i * slot + (slot - bar) / 2
        h_right = plot_h * week.correct / ceiling
        h_wrong = plot_h * (week.answered - week.correct) / ceiling
        base = top + plot_h
        if h_right:
            parts.append(f'<rect x="{x:.1f}" y="{base - h_right:.1f}" width="{bar:.1f}" height="{h_right:.1f}" '
                         'fill="#1f5f99"/>')
        if h_wrong:
            parts.append(f'<rect x="{x:.1f}" y="{base - h_right - h_wrong:.1f}" width="{bar:.1f}" '
                         f'height="{h_wrong:.1f}" fill="#f3b7a8" stroke="#8a3b26" stroke-width="1"/>')
        label_x = x + bar / 2
        parts.append(f'<text x="{label_x:.1f}" y="{base + 12}" text-anchor="end" fill="#333333" '
                     f'transform="rotate(-45 {label_x:.1f} {base + 12})">{week.week:%d %b}</text>')
    legend_y = 14  # the key, above the plot
    parts += [
        f'<rect x="{left}" y="{legend_y - 9}" width="10" height="10" fill="#1f5f99"/>',
        f'<text x="{left + 14}" y="{legend_y}" fill="#1a1a1a">right</text>',
        f'<rect x="{left + 64}" y="{legend_y - 9}" width="10" height="10" fill="#f3b7a8" stroke="#8a3b26"/>',
        f'<text x="{left + 78}" y="{legend_y}" fill="#1a1a1a">wrong</text>',
        "</svg>",
    ]
    return Markup("".join(parts))


def _nice_step(peak: int) -> int:
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000):
        if peak / step <= 5:
            return step
    return int(10 ** len(str(peak)))


# ---- pages ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pager:
    page: int
    pages: int
    base: str  # the page's path relative to the token, e.g. "board"
    params: tuple[tuple[str, str], ...] = ()

    def href(self, page: int) -> str:
        return f"{self.base}?{urlencode([*self.params, ('page', str(page))])}"


def _int(value: str | None, default: int = 1) -> int:
    return int(value) if value and value.isdigit() and len(value) < 9 else default


class Dashboard:
    """The page handlers, over the dashboard's data and its links."""

    def __init__(self, data: DashboardData, links: DashboardLinks) -> None:
        self.data = data
        self.links = links

    # the token check: every page route goes through it
    def page(
        self, handler: Callable[[web.Request, Access], Awaitable[web.StreamResponse]], admin_only: bool = False
    ) -> Handler:
        async def checked(request: web.Request) -> web.StreamResponse:
            access = self.links.verify(request.match_info.get("token"))
            if access is None or (admin_only and not access.admin):
                return forbidden(request)
            return await handler(request, access)

        return checked

    def context(self, access: Access, title: str, current: str) -> dict[str, Any]:
        nav: list[dict[str, Any]] = []
        if access.admin:
            nav = [{"href": href, "label": label, "current": href == current}
                   for href, label in (("board", "Leaderboard"), ("rounds", "Past rounds"), ("topics", "Weak topics"))]
        nav.append({"href": f"member?{urlencode({'id': access.member_id})}", "label": "My page",
                    "current": current == "me"})
        team = f"{PLATFORM_NAMES.get(access.platform, access.platform)} {access.workspace}".strip()
        return {"title": title, "nav": nav, "team": team,
                "expires": f"{access.expires:%Y-%m-%d %H:%M}"}

    async def home(self, request: web.Request, access: Access) -> web.StreamResponse:
        if access.admin:
            return await self.board(request, access)
        return await self.member(request, access)

    async def board(self, request: web.Request, access: Access) -> web.StreamResponse:
        season = self.data.season(access.platform, access.workspace)
        scope = request.query.get("scope", "week")
        if scope not in ("week", "season", "all"):
            scope = "week"
        board = self.data.board(access.platform, access.workspace, scope, _int(request.query.get("page")))
        # the season tab is always there: with seasons off it says so
        tabs = [("week", "This week"), ("season", "This season"), ("all", "All time")]
        ctx = self.context(access, "Leaderboard", "board")
        ctx.update(board=board, season_enabled=bool(season),
                   tabs=[{"href": f"board?scope={key}", "label": label, "current": key == board.scope}
                         for key, label in tabs],
                   pager=Pager(board.page, board.pages, "board", (("scope", board.scope),)))
        return aiohttp_jinja2.render_template("board.html", request, ctx)

    async def rounds(self, request: web.Request, access: Access) -> web.StreamResponse:
        archive = self.data.archive(access.platform, access.workspace, _int(request.query.get("page")))
        ctx = self.context(access, "Past rounds", "rounds")
        ctx.update(archive=archive, pager=Pager(archive.page, archive.pages, "rounds"))
        return aiohttp_jinja2.render_template("rounds.html", request, ctx)

    async def topics(self, request: web.Request, access: Access) -> web.StreamResponse:
        heat = self.data.heatmap(access.platform, access.workspace)
        ctx = self.context(access, "Weak topics", "topics")
        ctx.update(heat=heat, buckets=BUCKETS)
        return aiohttp_jinja2.render_template("topics.html", request, ctx)

    async def member(self, request: web.Request, access: Access) -> web.StreamResponse:
        user_id = request.query.get("id", access.member_id)
        if user_id != access.member_id and not access.admin:
            return forbidden(request)
        page = self.data.member(access.platform, access.workspace, user_id)
        if page is None:
            if user_id != access.member_id:
                raise web.HTTPNotFound(text="No such member in this team.", headers=HEADERS)
            page = MemberPage(user_id, "you")  # a member with no answers yet still gets their (empty) page
        own = user_id == access.member_id
        ctx = self.context(access, "Your page" if own else page.name, "me" if own else "")
        ctx.update(m=page, chart=progress_svg(page), min_answers=MIN_ANSWERS_FOR_WEAKNESS)
        return aiohttp_jinja2.render_template("member.html", request, ctx)

    async def slash(self, request: web.Request, access: Access) -> web.StreamResponse:
        """<token> without its trailing slash: relative links need the slash."""
        raise web.HTTPFound(f"{request.match_info['token']}/", headers=HEADERS)

    async def unknown(self, request: web.Request, access: Access) -> web.StreamResponse:
        raise web.HTTPNotFound(text="No such page.", headers=HEADERS)


_FILES: dict[str, bytes] = {}


def _file(name: str) -> bytes:
    if name not in _FILES:
        _FILES[name] = (TEMPLATES / name).read_bytes()
    return _FILES[name]


def forbidden(_: web.Request | None = None) -> web.Response:
    """403 with a page that says only that the link is not valid: the same whatever was wrong with it."""
    return web.Response(status=403, body=_file("forbidden.html"), content_type="text/html", charset="utf-8",
                        headers=HEADERS)


async def forbidden_page(request: web.Request) -> web.Response:
    return forbidden(request)


async def stylesheet(_: web.Request) -> web.Response:
    return web.Response(body=_file("dashboard.css"), content_type="text/css", charset="utf-8",
                        headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"})


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as error:
        for key, value in HEADERS.items():
            error.headers.setdefault(key, value)
        raise
    for key, value in HEADERS.items():
        response.headers.setdefault(key, value)
    return response


def dashboard_app(data: DashboardData, links: DashboardLinks) -> web.Application:
    """The dashboard as an aiohttp sub-application, to mount at PREFIX."""
    app = web.Application(middlewares=[security_headers])
    aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                         undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                         filters=cast(Any, {"pct": pct, "bucket": bucket, "markdown": markdown}))
    pages = Dashboard(data, links)
    app.router.add_get("/static/dashboard.css", stylesheet)
    app.router.add_get("/{token}", pages.page(pages.slash))
    app.router.add_get("/{token}/", pages.page(pages.home))
    app.router.add_get("/{token}/board", pages.page(pages.board, admin_only=True))
    app.router.add_get("/{token}/rounds", pages.page(pages.rounds, admin_only=True))
    app.router.add_get("/{token}/topics", pages.page(pages.topics, admin_only=True))
    app.router.add_get("/{token}/member", pages.page(pages.member))
    app.router.add_get("/{token}/{rest:.*}", pages.page(pages.unknown))
    app.router.add_get("/{rest:.*}", forbidden_page)  # /dashboard/ with no token
    app.cleanup_ctx.append(_warm_up(data))
    return app


def _warm_up(data: DashboardData) -> Callable[[web.Application], AsyncIterator[None]]:
    """While the server runs: count past rounds' tallies in the background once (DashboardData.warm_up)."""

    async def context(_: web.Application) -> AsyncIterator[None]:
        async def run() -> None:
            try:
                counted = await data.warm_up()
                if counted:
                    log.info("dashboard: counted the tallies of %d past rounds", counted)
            except Exception:  # the pages count what they need themselves
                log.exception("dashboard: could not count past rounds in the background")

        task = asyncio.create_task(run())
        yield
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task

    return context


def mount_dashboard(app: web.Application, engine: QuizEngine) -> None:
    """Serve the dashboard at /dashboard on `app` (before it starts serving), from the engine's store and bank."""
    data = DashboardData(engine.store, engine.bank, engine.settings_for, engine.clock)
    app.router.add_get(PREFIX, forbidden_page)  # before the sub-application, which would answer 404
    app.add_subapp(PREFIX, dashboard_app(data, engine.dashboards))
