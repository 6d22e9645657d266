"""Server-side SVG charts: the values, our band shaded, CloudWatch's band dashed, anomalies marked.

No JavaScript and no inline styles (the CSP forbids both): shapes carry classes
that monitoring.css styles; tooltips are SVG <title> elements.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from monitoring.sources import Series

LEFT, RIGHT, TOP, BOTTOM = 48, 14, 12, 30
WIDE = (960, 250)  # viewBox sizes: a full-width chart, and one of a two-column grid
NARROW = (600, 220)
# A phone's (monitoring.css shows it instead below 40rem): scaled to the screen's
# width, its text stays legible and its y axis in view, with no sideways scroll.
PHONE = (360, 230)


def nice_step(span: float, ticks: int = 4) -> float:
    raw = max(span, 1e-9) / ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if factor * power >= raw:
            return factor * power
    return 10 * power


def utc_minute(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def fmt(value: float) -> str:
    if abs(value) >= 100 or float(value).is_integer():
        return f"{value:.0f}"
    return f"{value:.1f}"


def _time_label(ts: int, span: int) -> str:
    when = datetime.fromtimestamp(ts, tz=UTC)
    if span > 2 * 86400:
        return when.strftime("%a %d")
    return when.strftime("%H:%M")


def _time_step(span: int, most: int) -> int:
    for step in (300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800):
        if span / step <= most:
            return step
    return 86400


class _Scale:
    def __init__(self, series: Series, width: int, height: int) -> None:
        self.n = len(series.values)
        self.width, self.height = width, height
        self.plot_w, self.plot_h = width - LEFT - RIGHT, height - TOP - BOTTOM
        # The band is very wide while history is short: let the values and the
        # band's usual height set the scale, and clip those first few points.
        uppers = sorted(b.upper for b in series.bands if b.upper is not None)
        uppers += [cw[1] for cw in series.cloudwatch or [] if cw is not None]
        uppers.sort()
        highest = max((v for v in series.values if v is not None), default=0.0)
        top = highest
        if uppers:
            high, typical = uppers[int(0.95 * (len(uppers) - 1))], uppers[len(uppers) // 2]
            top = max(highest, min(high, max(2 * highest, 1.5 * typical)))
        self.step = nice_step(max(top, 1.0 if series.metric.counts else 0.1))
        self.top = self.step * max(1, math.ceil(top / self.step))

    def x(self, i: float) -> float:
        return LEFT + self.plot_w * (i / max(self.n - 1, 1))

    def y(self, value: float) -> float:
        return TOP + self.plot_h * (1 - min(max(value, 0.0), self.top) / self.top)


def _runs(known: list[bool]) -> list[tuple[int, int]]:
    runs, first = [], None
    for i, ok in enumerate([*known, False]):
        if ok and first is None:
            first = i
        elif not ok and first is not None:
            runs.append((first, i))
            first = None
    return runs


def _area(s: _Scale, run: tuple[int, int], lower: list[float], upper: list[float]) -> str:
    a, b = run
    if b - a == 1:  # one point: a thin sliver so it still shows
        a_x, b_x = s.x(a) - 2, s.x(a) + 2
        return (
            f"M{a_x:.1f},{s.y(upper[a]):.1f} L{b_x:.1f},{s.y(upper[a]):.1f} "
            f"L{b_x:.1f},{s.y(lower[a]):.1f} L{a_x:.1f},{s.y(lower[a]):.1f} Z"
        )
    top = " L".join(f"{s.x(i):.1f},{s.y(upper[i]):.1f}" for i in range(a, b))
    bottom = " L".join(f"{s.x(i):.1f},{s.y(lower[i]):.1f}" for i in reversed(range(a, b)))
    return f"M{top} L{bottom} Z"


def _line(s: _Scale, run: tuple[int, int], values: list[float]) -> str:
    return " ".join(f"{s.x(i):.1f},{s.y(values[i]):.1f}" for i in range(*run))


def svg(series: Series, title_id: str, size: tuple[int, int] = WIDE) -> SafeString:
    s = _Scale(series, *size)
    width, height = size
    bottom = TOP + s.plot_h
    span = series.period * len(series.values)
    kind = "phone-chart" if size == PHONE else f"chart {'wide' if width >= WIDE[0] else 'narrow'}"
    parts = [
        f'<svg class="{kind}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-labelledby="{title_id}" '
        f'xmlns="http://www.w3.org/2000/svg">'
    ]
    # Grid and value axis.
    value = 0.0
    while value <= s.top + 1e-9:
        y = s.y(value)
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{width - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(
            f'<text class="axis" x="{LEFT - 8}" y="{y + 4:.1f}" text-anchor="end">{fmt(value)}</text>'
        )
        value += s.step
    # Time axis: labels on round times.
    step = _time_step(span, 8 if width >= 900 else 6 if width >= 500 else 4)
    first = -(-series.start // step) * step
    for ts in range(first, series.start + span, step):
        i = (ts - series.start) / series.period
        if i > s.n - 1:
            break
        x = s.x(i)
        parts.append(f'<line class="tick" x1="{x:.1f}" x2="{x:.1f}" y1="{bottom}" y2="{bottom + 5}"/>')
        parts.append(
            f'<text class="axis" x="{x:.1f}" y="{height - 9}" text-anchor="middle">'
            f"{escape(_time_label(ts, span))}</text>"
        )
    # Our band.
    lower = [b.lower if b.lower is not None else 0.0 for b in series.bands]
    upper = [b.upper if b.upper is not None else 0.0 for b in series.bands]
    for run in _runs([b.known for b in series.bands]):
        parts.append(f'<path class="band" d="{_area(s, run, lower, upper)}"/>')
    # CloudWatch's band, outlined.
    if series.cloudwatch:
        cw_known = [cw is not None for cw in series.cloudwatch]
        cw_lower = [cw[0] if cw else 0.0 for cw in series.cloudwatch]
        cw_upper = [cw[1] if cw else 0.0 for cw in series.cloudwatch]
        for run in _runs(cw_known):
            parts.append(f'<polyline class="cw-band" points="{_line(s, run, cw_upper)}"/>')
            parts.append(f'<polyline class="cw-band" points="{_line(s, run, cw_lower)}"/>')
    # The values; the period still running is drawn dashed.
    values = [v if v is not None else 0.0 for v in series.values]
    known = [v is not None for v in series.values]
    last = s.n - 1
    if series.partial and s.n >= 2 and known[last]:
        known_full = known[:last] + [False]
        for run in _runs(known_full):
            parts.append(f'<polyline class="line" points="{_line(s, run, values)}"/>')
        if known[last - 1]:
            parts.append(
                f'<polyline class="line partial" points="{_line(s, (last - 1, last + 1), values)}"/>'
            )
        parts.append(
            f'<circle class="partial-point" cx="{s.x(last):.1f}" cy="{s.y(values[last]):.1f}" r="3"/>'
        )
    else:
        for run in _runs(known):
            parts.append(f'<polyline class="line" points="{_line(s, run, values)}"/>')
    # Anomalies, with a tooltip.
    unit = series.metric.unit
    for i in series.anomalies():
        band = series.bands[i]
        when = utc_minute(series.time(i))
        expected = f"{fmt(band.lower or 0.0)} to {fmt(band.upper or 0.0)}"
        tip = f"{when}: {fmt(values[i])} {unit}, expected {expected}"
        parts.append(
            f'<circle class="anomaly" cx="{s.x(i):.1f}" cy="{s.y(values[i]):.1f}" r="5">'
            f"<title>{escape(tip)}</title></circle>"
        )
    parts.append(f'<rect class="frame" x="{LEFT}" y="{TOP}" width="{s.plot_w}" height="{s.plot_h}"/>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 (every text above is escaped or a number)
