"""Inline SVG charts drawn on the server: no JavaScript library, nothing fetched from the internet.

Every label passes through markupsafe.escape; numbers are formatted by us. The result is Markup for Jinja.
"""
from __future__ import annotations

from typing import Iterable

from markupsafe import Markup, escape

PALETTE = ("#1f77b4", "#2ca02c", "#d62728", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#17becf")
STATE_COLOURS = {"delivered": "#2ca02c", "dead": "#d62728", "retry_wait": "#ff7f0e", "pending": "#1f77b4",
                 "in_flight": "#17becf"}


def stacked_bars(rows: Iterable[tuple[str, str, int]], minutes: list[str], width: int = 640, height: int = 160,
                 colours: dict[str, str] | None = None, title: str = "") -> Markup:
    """rows: (minute "YYYY-MM-DD HH:MM", series, count). One bar per minute, one colour per series."""
    table: dict[str, dict[str, int]] = {m: {} for m in minutes}
    series: list[str] = []
    for minute, name, n in rows:
        if minute in table:
            table[minute][name] = table[minute].get(name, 0) + int(n)
            if name not in series:
                series.append(name)
    series.sort()
    colour = {s: (colours or {}).get(s, PALETTE[i % len(PALETTE)]) for i, s in enumerate(series)}
    top = max([sum(v.values()) for v in table.values()] + [1])
    plot_h = height - 30
    bar_w = max(1.0, (width - 40) / max(len(minutes), 1))
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height + 20 * ((len(series) + 3) // 4)}" '
             f'width="100%" aria-label="{escape(title)}">',
             f'<text x="0" y="10" class="axis">{top}</text><text x="0" y="{plot_h}" class="axis">0</text>']
    for i, minute in enumerate(minutes):
        y = plot_h
        for name in series:
            n = table[minute].get(name, 0)
            if not n:
                continue
            h = n / top * (plot_h - 10)
            y -= h
            parts.append(f'<rect x="{40 + i * bar_w:.1f}" y="{y:.1f}" width="{max(bar_w - 1, 1):.1f}" height="{h:.1f}" '
                         f'fill="{colour[name]}"><title>{escape(minute)} {escape(name)}: {n}</title></rect>')
    if minutes:
        parts.append(f'<text x="40" y="{plot_h + 14}" class="axis">{escape(minutes[0][11:])}</text>')
        parts.append(f'<text x="{width - 40}" y="{plot_h + 14}" class="axis">{escape(minutes[-1][11:])}</text>')
    for i, name in enumerate(series):
        x, y = 40 + (i % 4) * 150, height + 4 + 20 * (i // 4)
        parts.append(f'<rect x="{x}" y="{y}" width="10" height="10" fill="{colour[name]}"/>'
                     f'<text x="{x + 14}" y="{y + 9}" class="legend">{escape(name)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def meter(value: int, top: int, colour: str = "#d62728", width: int = 120) -> Markup:
    """A small horizontal bar for a table cell."""
    w = 0 if top <= 0 else max(1, round(value / top * width)) if value else 0
    return Markup(f'<svg width="{width}" height="10" aria-hidden="true"><rect width="{width}" height="10" fill="#eee"/>'
                  f'<rect width="{w}" height="10" fill="{escape(colour)}"/></svg>')
