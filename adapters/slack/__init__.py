"""The Slack adapter (slack-bolt): `SlackAdapter(settings)` is what bot/runtime.py builds.

Modules: adapter (lifecycle, wiring), listeners (bolt handlers), translate (Slack
payload -> engine event), render (Outgoing -> Block Kit), outbox (send per kind),
client (Web API clients per workspace, members, refusals), server (HTTP / Socket
Mode), dedupe (retried events), ids (message and action ids).
"""

from adapters.slack.adapter import SlackAdapter

__all__ = ["SlackAdapter"]
