"""The overview's 30-day chart as server-rendered SVG geometry (no chart library, no script):
one stacked bar per day, completed / failed / other, scaled to the busiest day."""
from __future__ import annotations

from dataclasses import dataclass

from shared.dashboard.queries import DaySeries

WIDTH, HEIGHT, PAD_BOTTOM, PAD_LEFT = 600, 180, 22, 28


@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    segments: list[tuple[str, float, float, int]]   # (class, y, height, count)
    label: str
    title: str
    label_x: float = 0.0
    label_anchor: str = "middle"   # the last label ends at the edge, so it is not clipped


def status_chart(days: list[DaySeries]) -> dict:
    peak = max((d.total for d in days), default=0)
    plot_h = HEIGHT - PAD_BOTTOM
    slot = (WIDTH - PAD_LEFT) / max(len(days), 1)
    bars = []
    for i, day in enumerate(days):
        y = float(plot_h)
        segments = []
        for css, count in (("sw-completed", day.completed), ("sw-failed", day.failed),
                           ("sw-other", day.other)):
            if count and peak:
                h = (plot_h - 8) * count / peak
                y -= h
                segments.append((css, round(y, 1), round(h, 1), count))
        # Weekly labels counted back from today, so the last bar is always labelled.
        label = day.day.strftime("%d %b") if (len(days) - 1 - i) % 7 == 0 else ""
        x, width = round(PAD_LEFT + i * slot + slot * 0.15, 1), round(slot * 0.7, 1)
        last = i == len(days) - 1
        bars.append(Bar(x=x, width=width, segments=segments, label=label,
                        label_x=round(x + width if last else x + width / 2, 1),
                        label_anchor="end" if last else "middle",
                        title=f"{day.day.isoformat()}: {day.completed} completed, "
                              f"{day.failed} failed, {day.other} other"))
    return {"width": WIDTH, "height": HEIGHT, "plot_h": plot_h, "peak": peak,
            "pad_left": PAD_LEFT, "bars": bars, "empty": peak == 0}
