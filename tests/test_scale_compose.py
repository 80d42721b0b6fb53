"""compose.scale.yaml (docs/scale.md): PostgreSQL, 3 replicas and a load balancer, each with a health check.

Docker is not needed: the file is read as compose would read it, each replica's settings are loaded as
`studybot run` would load them, and the health check is the image's own.
"""

from __future__ import annotations

import re

import yaml

from bot.config import load_settings
from tests.conftest import REPO
from tests.test_packaging import healthcheck_command

SCALE = REPO / "compose.scale.yaml"


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's ${NAME}, ${NAME:?message} and $$ (a literal $), enough for this file."""
    text = re.sub(r"\$\{(\w+)(?::\?[^}]*)?\}", lambda m: env[m.group(1)], text)
    return text.replace("$$", "$")


def compose() -> dict:
    return yaml.safe_load(interpolate(SCALE.read_text(), {"POSTGRES_PASSWORD": "s3cret-for-tests"}))


def test_three_replicas_on_postgresql_each_with_a_health_check():
    services = compose()["services"]
    replicas = {name: s for name, s in services.items() if name.startswith("studybot-")}
    assert len(replicas) == 3
    shards = []
    for service in replicas.values():
        assert service["healthcheck"]["test"] == ["CMD", *healthcheck_command()]  # the image's own check
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert service["restart"] == "unless-stopped"
        settings = load_settings({k: str(v) for k, v in service["environment"].items()}, dotenv=None)
        assert settings.db_url == "postgresql://studybot:s3cret-for-tests@postgres:5432/studybot"
        ids, count = settings.discord_shards
        shards += ids
        assert count == 3
    assert sorted(shards) == [0, 1, 2]  # every Discord shard runs in exactly one replica
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert services["lb"]["healthcheck"]["test"]
    assert services["postgres"]["volumes"] == ["pg-data:/var/lib/postgresql/data"]


def test_the_load_balancer_reaches_every_replica_on_slacks_port():
    spec = compose()
    config = spec["configs"]["lb"]["content"]
    upstreams = re.findall(r"server (studybot-\d):(\d+)", config)
    assert sorted(upstreams) == [("studybot-1", "3000"), ("studybot-2", "3000"), ("studybot-3", "3000")]
    assert "proxy_set_header Host $host;" in config  # $$ in the file: a literal $ for nginx
    assert "non_idempotent" not in config  # a POST is never replayed on another replica after it was sent
    assert spec["services"]["lb"]["ports"] == ["3000:3000"]
