"""The weekly recap: the week's most-reacted papers and a PNG chart of tag activity over recent weeks."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

from bot.services.clock import Clock, utc_now
from bot.services.community.reactions import TopPaper, top_papers
from bot.store.db import Database


@dataclass
class TagActivity:
    weeks: list[dt.date]  # Monday of each week, oldest first
    series: dict[str, list[int]]  # tag display → entries per week


@dataclass
class Recap:
    week_of: dt.date
    top: list[TopPaper]
    activity: TagActivity


async def tag_activity(db: Database, end: dt.date, *, weeks: int = 8, tags: int = 6) -> TagActivity:
    """Entries per week for the most active tags over the ``weeks`` weeks ending with ``end``'s week."""
    last_monday = end - dt.timedelta(days=end.weekday())
    mondays = [last_monday - dt.timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]
    start = mondays[0].isoformat()
    stop = (last_monday + dt.timedelta(days=7)).isoformat()
    rows = await db.fetchall(
        "SELECT t.display, e.digest_date FROM entries e JOIN paper_tags pt ON pt.paper_id = e.paper_id "
        "JOIN tags t ON t.id = pt.tag_id WHERE e.digest_date >= ? AND e.digest_date < ?",
        (start, stop),
    )
    counts: dict[str, list[int]] = {}
    for row in rows:
        day = dt.date.fromisoformat(row["digest_date"])
        index = (day - mondays[0]).days // 7
        counts.setdefault(row["display"], [0] * weeks)[index] += 1
    busiest = sorted(counts.items(), key=lambda kv: (-sum(kv[1]), kv[0]))[:tags]
    return TagActivity(mondays, dict(busiest))


async def build_recap(db: Database, *, clock: Clock = utc_now) -> Recap:
    today = clock().date()
    return Recap(
        week_of=today - dt.timedelta(days=today.weekday()),
        top=await top_papers(db, "week", limit=10, clock=clock),
        activity=await tag_activity(db, today),
    )


def render_activity_png(activity: TagActivity, *, title: str = "Papers per tag per week") -> bytes:
    """A line chart as PNG bytes (matplotlib's Agg backend: no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4), dpi=100)
    labels = [week.strftime("%m-%d") for week in activity.weeks]
    if activity.series:
        for tag, values in activity.series.items():
            ax.plot(labels, values, marker="o", label=f"#{tag}")
        ax.legend(loc="upper left", fontsize=8, frameon=False)
    else:
        ax.text(
            0.5, 0.5, "no tagged entries in these weeks", ha="center", va="center", transform=ax.transAxes
        )
    ax.set_title(title)
    ax.set_xlabel("week of")
    ax.set_ylabel("entries")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()
