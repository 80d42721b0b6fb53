"""GET /healthz and GET /metrics on aiohttp, alone or on Slack's HTTP server."""

from __future__ import annotations

import json
from collections.abc import Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bot.metrics import Metrics

HealthCheck = Callable[[], dict[str, bool]]


def health_routes(health: HealthCheck, metrics: Metrics) -> list[web.RouteDef]:
    async def healthz(_: web.Request) -> web.Response:
        checks = health()
        ok = all(checks.values())
        body = json.dumps({"ok": ok, "checks": checks})
        return web.Response(status=200 if ok else 503, text=body, content_type="application/json")

    async def metrics_view(_: web.Request) -> web.Response:
        return web.Response(body=generate_latest(metrics.registry),
                            headers={"Content-Type": CONTENT_TYPE_LATEST, "X-Content-Type-Options": "nosniff"})

    return [web.get("/healthz", healthz), web.get("/metrics", metrics_view)]


async def start_health_server(port: int, health: HealthCheck, metrics: Metrics, host: str = "0.0.0.0",
                              mount: Callable[[web.Application], None] | None = None) -> web.AppRunner:
    """Serve /healthz and /metrics; `mount` adds more to the app before it starts (the dashboard)."""
    app = web.Application()
    app.add_routes(health_routes(health, metrics))
    if mount is not None:
        mount(app)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
