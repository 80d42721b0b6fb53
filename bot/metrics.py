"""The bot's counters and histograms for /metrics, kept and rendered by prometheus_client.

Each Metrics has its own CollectorRegistry (not the library's global one), so tests and several
runtimes in one process never collide over a metric name.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0)
LAG_BUCKETS = (0.1, 0.5, 1.0, 5.0, 30.0, 60.0, 300.0, 3600.0)

# /metrics shows the series it always showed and no `<name>_created` beside each counter and histogram
# (a process-wide switch of the library's; nothing else in the bot uses prometheus_client).
disable_created_metrics()


class _Count:
    """An int attribute backed by a Counter: `metrics.reveals += 1` increments it; it never goes down.

    The read-add-write of `+=` is not atomic: increment from one thread (the event loop's) at a time.
    """

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, metrics: Metrics, owner: type | None = None) -> int:
        return metrics._counts[self.name]

    def __set__(self, metrics: Metrics, value: int) -> None:
        metrics._counters[self.name].inc(value - metrics._counts[self.name])  # a decrease raises ValueError
        metrics._counts[self.name] = value


class Metrics:
    rounds_posted = _Count()
    answers_recorded = _Count()
    reveals = _Count()

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        # Counter names without "_total": the library adds it (studybot_rounds_posted_total, ...).
        self._counters = {
            "rounds_posted": Counter("studybot_rounds_posted", "Channel round posts delivered.",
                                     registry=self.registry),
            "answers_recorded": Counter("studybot_answers_recorded", "Answers stored (choices and written).",
                                        registry=self.registry),
            "reveals": Counter("studybot_reveals", "Channel rounds revealed.", registry=self.registry),
        }
        self._counts = dict.fromkeys(self._counters, 0)
        self.handler_seconds = Histogram("studybot_handler_seconds", "Time the engine took per inbound event.",
                                         buckets=LATENCY_BUCKETS, registry=self.registry)
        self.reveal_lag_seconds = Histogram("studybot_reveal_lag_seconds",
                                            "Delay from a round's deadline to its reveal.",
                                            buckets=LAG_BUCKETS, registry=self.registry)
