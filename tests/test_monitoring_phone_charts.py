"""Each monitoring chart is also drawn for a phone: scaled to the screen, y axis included."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from django.test import Client

from monitoring import catalog, charts, simulator
from tests.test_monitoring_page import SVG, auditor  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


def phone_charts(html: str) -> list[ET.Element]:
    return [ET.fromstring(svg) for svg in re.findall(r'<svg class="phone-chart".*?</svg>', html, re.S)]


@pytest.mark.parametrize("range_key", ["1h", "24h", "7d"])
def test_every_chart_comes_with_a_phone_drawing_that_keeps_its_y_axis(
    auditor: Client,  # noqa: F811
    range_key: str,
) -> None:
    simulator.backfill("SYD", 3)
    html = auditor.get(f"/monitoring/?range={range_key}").content.decode()
    drawn = phone_charts(html)
    assert len(drawn) == len(catalog.METRICS)
    # Each with the same title as its wide drawing (the page puts alerting metrics first).
    assert sorted(svg.get("aria-labelledby") or "" for svg in drawn) == sorted(
        f"chart-{n}" for n in range(len(drawn))
    )
    for svg in drawn:
        assert svg.get("viewBox") == f"0 0 {charts.PHONE[0]} {charts.PHONE[1]}"
        labels = svg.findall(f"{SVG}text[@class='axis']")
        y_axis = [t for t in labels if t.get("text-anchor") == "end"]
        x_axis = [t for t in labels if t.get("text-anchor") == "middle"]
        assert y_axis and all(float(t.get("x", "-1")) > 0 for t in y_axis)  # inside the drawing
        assert [t.text for t in y_axis][0] == "0"
        assert 2 <= len(x_axis) <= 5  # few enough time labels to read at a phone's width
        assert svg.findall(f"{SVG}path[@class='band']")
