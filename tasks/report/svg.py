"""Charts as inline SVG, drawn here in Python: no chart library, nothing fetched, a few kB a chart.

A page must open offline and stay small with 100,000 invoices behind it; SVG computed from the
aggregates weighs the same whatever the volume, and prints. Every label is escaped here, which is
why the templates may insert the result as markup. Each bar carries a `<title>` (a tooltip).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

WIDTH = 640
FONT = 12


@dataclass(frozen=True)
class Series:
    label: str
    color: str


def _text(x: float, y: float, text: str, *, anchor: str = "start", css: str = "") -> str:
    cls = f' class="{css}"' if css else ""
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{cls}>{escape(text)}</text>'


def _rect(x: float, y: float, w: float, h: float, color: str, tip: str) -> str:
    return (
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0):.1f}" height="{h:.1f}" '
        f'fill="{color}"><title>{escape(tip)}</title></rect>'
    )


def _svg(height: float, body: list[str], label: str) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height:.0f}" role="img" '
        f'aria-label="{escape(label)}">' + "".join(body) + "</svg>"
    )


def _legend(series: Sequence[Series], y: float) -> list[str]:
    parts, x = [], 0.0
    for s in series:
        parts.append(
            f'<rect x="{x:.1f}" y="{y - 10:.1f}" width="12" height="12" fill="{s.color}"/>'
        )
        parts.append(_text(x + 16, y, s.label))
        x += 24 + 7 * len(s.label)
    return parts


def _short(label: str, limit: int = 27) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def empty(label: str) -> str:
    return _svg(40, [_text(WIDTH / 2, 24, "Aucune donnée", anchor="middle", css="muted")], label)


def funnel(steps: Sequence[tuple[str, int]], label: str) -> str:
    """Centred bars narrowing step by step, each with its count and share of the first."""
    if not steps or steps[0][1] == 0:
        return empty(label)
    top, row, body = steps[0][1], 30, []
    left, right = 170, 130
    room = WIDTH - left - right
    for i, (name, count) in enumerate(steps):
        width = room * count / top
        y = i * row + 4
        share = f"{100 * count / top:.0f} %"
        x = left + (room - width) / 2
        body.append(_rect(x, y, width, row - 6, "#2563eb", f"{name}: {count}"))
        body.append(_text(0, y + 17, name))
        body.append(
            _text(WIDTH, y + 17, f"{count:,}".replace(",", " ") + f" · {share}", anchor="end")
        )
    return _svg(len(steps) * row + 8, body, label)


def stacked_bars(
    items: Sequence[tuple[str, Sequence[int]]],
    series: Sequence[Series],
    fmt: Callable[[int], str],
    label: str,
) -> str:
    """Horizontal bars, one per item, stacked by series, total at the end of the bar."""
    if not items or not any(sum(values) for _, values in items):
        return empty(label)
    left, right, row = 210, 110, 22
    scale = (WIDTH - left - right) / max(sum(values) for _, values in items)
    body = _legend(series, 12)
    for i, (name, values) in enumerate(items):
        y = 24 + i * row
        body.append(f"<g><title>{escape(name)}</title>{_text(0, y + 14, _short(name))}</g>")
        x = float(left)
        for s, value in zip(series, values, strict=True):
            width = value * scale
            body.append(
                _rect(x, y + 3, width, row - 6, s.color, f"{name} · {s.label}: {fmt(value)}")
            )
            x += width
        body.append(_text(x + 6, y + 14, fmt(sum(values))))
    return _svg(30 + len(items) * row, body, label)


def columns(
    bins: Sequence[tuple[str, Sequence[int]]],
    series: Sequence[Series],
    label: str,
    markers: Sequence[tuple[float, str]] = (),
    every: int = 1,
) -> str:
    """Vertical stacked columns (a histogram or a time series); `markers` draws dashed lines at
    positions counted in columns (2.5 = the middle of the third column); `every` thins labels."""
    if not bins or not any(sum(values) for _, values in bins):
        return empty(label)
    left, top, height = 40, 40, 180
    step = (WIDTH - left) / len(bins)
    peak = max(sum(values) for _, values in bins)
    scale = height / peak
    body = _legend(series, 12)
    body.append(_text(left - 6, top + 4, f"{peak}", anchor="end", css="muted"))
    body.append(_text(left - 6, top + height, "0", anchor="end", css="muted"))
    base = top + height
    for i, (name, values) in enumerate(bins):
        x, y = left + i * step, float(base)
        for s, value in zip(series, values, strict=True):
            h = value * scale
            y -= h
            body.append(_rect(x + 1, y, step - 2, h, s.color, f"{name} · {s.label}: {value}"))
        if i % every == 0:
            body.append(_text(x + step / 2, base + 14, name, anchor="middle", css="small"))
    body.append(f'<line x1="{left}" y1="{base}" x2="{WIDTH}" y2="{base}" class="axis"/>')
    for position, text in markers:
        x = left + position * step
        body.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{base}" class="marker"/>')
        body.append(_text(x, top - 4, text, anchor="middle", css="small"))
    return _svg(base + 22, body, label)
