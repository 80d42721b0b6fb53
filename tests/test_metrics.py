"""/metrics through prometheus_client: the series names and types the bot has always exposed, one registry each."""

from __future__ import annotations

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from bot.metrics import Metrics

SERIES = {  # name -> type, as scraped since the first /metrics
    "studybot_rounds_posted": "counter",
    "studybot_answers_recorded": "counter",
    "studybot_reveals": "counter",
    "studybot_handler_seconds": "histogram",
    "studybot_reveal_lag_seconds": "histogram",
}


def _scrape(metrics: Metrics) -> dict[str, float]:
    text = generate_latest(metrics.registry).decode()
    assert {f.name: f.type for f in text_string_to_metric_families(text)} == SERIES
    return {s.name + str(sorted(s.labels.items()) or ""): s.value
            for f in text_string_to_metric_families(text) for s in f.samples}


def test_counters_and_histograms_keep_their_names_and_meaning():
    metrics = Metrics()
    metrics.rounds_posted += 1
    metrics.answers_recorded += 1
    metrics.answers_recorded += 1
    metrics.handler_seconds.observe(0.003)
    metrics.reveal_lag_seconds.observe(0.5)  # le is inclusive, as before
    samples = _scrape(metrics)
    assert samples["studybot_rounds_posted_total"] == 1 and samples["studybot_answers_recorded_total"] == 2
    assert samples["studybot_reveals_total"] == 0
    assert samples["studybot_handler_seconds_bucket[('le', '0.0025')]"] == 0
    assert samples["studybot_handler_seconds_bucket[('le', '0.005')]"] == 1
    assert samples["studybot_reveal_lag_seconds_bucket[('le', '0.5')]"] == 1
    assert samples["studybot_handler_seconds_count"] == 1 and samples["studybot_handler_seconds_sum"] == 0.003
    assert not any(name.endswith("_created") for name in samples)
    assert (metrics.rounds_posted, metrics.answers_recorded, metrics.reveals) == (1, 2, 0)


def test_each_metrics_has_its_own_registry_and_counters_never_go_down():
    first, second = Metrics(), Metrics()
    first.reveals += 3
    assert (first.reveals, second.reveals) == (3, 0)
    assert _scrape(second)["studybot_reveals_total"] == 0
    with pytest.raises(ValueError):
        first.reveals -= 1
    assert first.reveals == 3
