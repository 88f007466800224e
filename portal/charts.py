"""Small charts drawn on the server as inline SVG: they print, need no JavaScript, and pass
the portal's Content-Security-Policy (presentation attributes only, no style).

Every text that goes into the markup is escaped here; numbers are formatted here.  Each
chart carries a <title> and an aria-label, and the pages print the same figures as a
table beside it, so nothing is only in the picture.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

COLOURS = ("#2b6cb0", "#dd6b20", "#2f855a", "#9b2c2c")


def _fmt(value: float) -> str:
    return f"{value:g}" if value != int(value) else str(int(value))


def bar_chart(labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]],
              title: str, width: int = 560, height: int = 190) -> Markup:
    """Grouped bars, one group per label (a month), one bar per series."""
    left, bottom, top = 40, 34, 22
    plot_w, plot_h = width - left - 8, height - bottom - top
    peak = max([v for _, values in series for v in values] + [1])
    group = plot_w / max(len(labels), 1)
    bar = max(group * 0.8 / max(len(series), 1), 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
             f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
             f'aria-label="{escape(title)}"><title>{escape(title)}</title>',
             f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 8}" y2="{top + plot_h}" '
             'stroke="#888"/>',
             f'<text x="{left - 4}" y="{top + 4}" text-anchor="end" font-size="10">'
             f'{_fmt(peak)}</text>',
             f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end" font-size="10">0</text>']
    for i, label in enumerate(labels):
        x0 = left + i * group + group * 0.1
        for j, (name, values) in enumerate(series):
            value = values[i] if i < len(values) else 0
            h = plot_h * value / peak
            parts.append(
                f'<rect x="{x0 + j * bar:.1f}" y="{top + plot_h - h:.1f}" width="{bar:.1f}" '
                f'height="{h:.1f}" fill="{COLOURS[j % len(COLOURS)]}"><title>'
                f'{escape(label)} {escape(name)}：{_fmt(value)}</title></rect>')
        parts.append(f'<text x="{left + i * group + group / 2:.1f}" y="{height - bottom + 14}" '
                     f'text-anchor="middle" font-size="9">{escape(label[2:])}</text>')
    for j, (name, _) in enumerate(series):
        x = left + j * 110
        parts.append(f'<rect x="{x}" y="4" width="10" height="10" '
                     f'fill="{COLOURS[j % len(COLOURS)]}"/>'
                     f'<text x="{x + 14}" y="13" font-size="11">{escape(name)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text in it went through escape()


def line_chart(labels: Sequence[str], values: Sequence[float], title: str,
               threshold: float | None = None, width: int = 560, height: int = 170) -> Markup:
    """One line (a rate per 1,000) with an optional dashed threshold."""
    left, bottom, top = 40, 30, 14
    plot_w, plot_h = width - left - 24, height - bottom - top
    peak = max([*values, threshold or 0, 1])
    step = plot_w / max(len(labels) - 1, 1)

    def y(v: float) -> float:
        return top + plot_h - plot_h * v / peak

    points = " ".join(f"{left + i * step:.1f},{y(v):.1f}" for i, v in enumerate(values))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
             f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
             f'aria-label="{escape(title)}"><title>{escape(title)}</title>',
             f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 8}" y2="{top + plot_h}" '
             'stroke="#888"/>',
             f'<text x="{left - 4}" y="{top + 8}" text-anchor="end" font-size="10">'
             f'{_fmt(peak)}</text>',
             f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end" font-size="10">0</text>']
    if threshold is not None:
        parts.append(f'<line x1="{left}" y1="{y(threshold):.1f}" x2="{width - 8}" '
                     f'y2="{y(threshold):.1f}" stroke="#c53030" stroke-dasharray="4 3"/>')
    if values:
        parts.append(f'<polyline points="{points}" fill="none" stroke="{COLOURS[1]}" '
                     'stroke-width="2"/>')
    for i, (label, v) in enumerate(zip(labels, values, strict=False)):
        parts.append(f'<circle cx="{left + i * step:.1f}" cy="{y(v):.1f}" r="3" '
                     f'fill="{COLOURS[1]}"><title>{escape(label)}：{_fmt(v)}</title></circle>'
                     f'<text x="{left + i * step:.1f}" y="{height - bottom + 14}" '
                     f'text-anchor="middle" font-size="9">{escape(label[2:])}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text in it went through escape()
