"""How the web pages show money, times and the overview chart."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from shared.dashboard.queries import DaySeries
from web.charts import status_chart
from web.formatting import format_money, format_time


@pytest.mark.parametrize("amount,currency,shown", [
    (49_900, "INR", "₹499.00"),
    (150_050, "INR", "₹1,500.50"),
    (1500, "JPY", "¥1,500"),
    (1500, "KWD", "1.500 KWD"),
    (5, "USD", "$0.05"),
    (-2500, "EUR", "-€25.00"),
    (10**12, "INR", "₹10,000,000,000.00"),
])
def test_amounts_use_the_iso_4217_exponent(amount, currency, shown):
    assert format_money(amount, currency) == shown


def test_times_are_shown_in_the_users_zone():
    moment = datetime(2026, 12, 1, 19, 30, tzinfo=UTC)
    assert format_time(moment, "Asia/Kolkata") == "02 Dec 2026, 01:00 IST"
    assert format_time(moment, "Not/AZone") == "01 Dec 2026, 19:30 UTC"


def test_the_chart_scales_to_the_busiest_day_and_stacks_by_status():
    start = date(2026, 11, 2)
    days = [DaySeries(start + timedelta(days=i), 0, 0, 0) for i in range(30)]
    days[-1] = DaySeries(days[-1].day, completed=3, failed=1, other=0)
    days[-2] = DaySeries(days[-2].day, completed=1, failed=0, other=1)
    chart = status_chart(days)
    assert chart["peak"] == 4 and not chart["empty"]
    last, before = chart["bars"][-1], chart["bars"][-2]
    heights = {css: h for css, _y, h, _n in last.segments}
    assert heights["sw-completed"] == pytest.approx(3 * heights["sw-failed"], abs=0.2)
    assert sum(h for _c, _y, h, _n in before.segments) == pytest.approx(
        sum(heights.values()) / 2, abs=0.2)
    assert last.label == "01 Dec" and chart["bars"][0].segments == []
    assert status_chart([DaySeries(start, 0, 0, 0)])["empty"]
