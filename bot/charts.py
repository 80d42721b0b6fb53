"""A member's progress as a PNG: accuracy by topic, and answers per week."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

from bot.clock import week_start
from bot.stats import Record

MAX_TOPICS = 15  # the chart stays readable; the weakest topics are the ones shown
WEEKS = 12


def weekly_counts(by_day: dict[str, int], today: date, weeks: int = WEEKS) -> list[tuple[str, int]]:
    """Answers per week (Monday label) for the last `weeks` weeks, oldest first."""
    per_week: dict[date, int] = defaultdict(int)
    for day, count in by_day.items():
        per_week[week_start(date.fromisoformat(day))] += count
    first = week_start(today) - timedelta(weeks=weeks - 1)
    return [((first + timedelta(weeks=i)).strftime("%d %b"), per_week.get(first + timedelta(weeks=i), 0))
            for i in range(weeks)]


def render_progress(record: Record, title: str, directory: Path, owner: str, today: date) -> Path:
    # The object API with the Agg canvas: no pyplot state, so it is safe off the event loop's thread.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    topics = sorted(record.by_topic.items(), key=lambda item: (item[1].accuracy, item[0]))[:MAX_TOPICS]
    weeks = weekly_counts(record.by_day, today)
    fig = Figure(figsize=(11, 4.8), dpi=100)
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    names = [t for t, _ in topics][::-1]
    values = [tally.accuracy * 100 for _, tally in topics][::-1]
    left.barh(names, values, color="#4c72b0")
    for y, (_, tally) in enumerate(reversed(topics)):  # the count shows even when accuracy is 0
        left.text(min(tally.accuracy * 100 + 1, 88), y, f"{tally.correct}/{tally.answered}", va="center", fontsize=8)
    left.set_xlim(0, 100)
    left.set_xlabel("accuracy (%)")
    left.set_title("Accuracy by topic (weakest first)")
    left.tick_params(axis="y", labelsize=8)
    right.bar([w for w, _ in weeks], [n for _, n in weeks], color="#55a868")
    right.set_title("Answers per week")
    right.tick_params(axis="x", labelrotation=60, labelsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"stats-{_safe(owner)}.png"
    fig.savefig(path, format="png")
    return path


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text)[:80]
