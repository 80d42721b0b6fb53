"""Counters for /metrics, rendered in Prometheus' text format."""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0)
LAG_BUCKETS = (0.1, 0.5, 1.0, 5.0, 30.0, 60.0, 300.0, 3600.0)


@dataclass
class Histogram:
    buckets: tuple[float, ...]
    counts: list[int] = field(default_factory=list)
    total: float = 0.0
    count: int = 0

    def __post_init__(self) -> None:
        self.counts = [0] * len(self.buckets)

    def observe(self, value: float) -> None:
        index = bisect_left(self.buckets, value)
        if index < len(self.counts):
            self.counts[index] += 1
        self.total += value
        self.count += 1

    def render(self, name: str, help_text: str) -> list[str]:
        lines = [f"# HELP {name} {help_text}", f"# TYPE {name} histogram"]
        running = 0
        for bound, count in zip(self.buckets, self.counts):
            running += count
            lines.append(f'{name}_bucket{{le="{bound}"}} {running}')
        lines += [f'{name}_bucket{{le="+Inf"}} {self.count}', f"{name}_sum {self.total:.6f}", f"{name}_count {self.count}"]
        return lines


@dataclass
class Metrics:
    rounds_posted: int = 0
    answers_recorded: int = 0
    reveals: int = 0
    handler_seconds: Histogram = field(default_factory=lambda: Histogram(LATENCY_BUCKETS))
    reveal_lag_seconds: Histogram = field(default_factory=lambda: Histogram(LAG_BUCKETS))

    def render(self) -> str:
        lines = []
        for name, value, help_text in (
            ("studybot_rounds_posted_total", self.rounds_posted, "Channel round posts delivered."),
            ("studybot_answers_recorded_total", self.answers_recorded, "Answers stored (choices and written)."),
            ("studybot_reveals_total", self.reveals, "Channel rounds revealed."),
        ):
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} counter", f"{name} {value}"]
        lines += self.handler_seconds.render("studybot_handler_seconds", "Time the engine took per inbound event.")
        lines += self.reveal_lag_seconds.render("studybot_reveal_lag_seconds", "Delay from a round's deadline to its reveal.")
        return "\n".join(lines) + "\n"
