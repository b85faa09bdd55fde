"""Server-side SVG charts for the dashboard (no JavaScript library, nothing from a CDN)."""

from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from pricing.money import format_money

from .selectors import RevenueDay, heat_max

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def revenue_svg(rows: list[RevenueDay], currency: str) -> SafeString:
    """Bars per day: gross (dark) and refunds (light), the net written above."""
    width, height, left, bottom, top = 640, 220, 10, 30, 30
    slot = (width - left) / max(len(rows), 1)
    peak = max([row.gross for row in rows] + [1])
    scale = (height - bottom - top) / peak
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="Revenue, last {len(rows)} days ({escape(currency)})" class="chart revenue">'
    ]
    for index, row in enumerate(rows):
        x = left + index * slot
        gross_h, refund_h = row.gross * scale, row.refunds * scale
        base = height - bottom
        parts.append(
            f'<rect x="{x + 6:.1f}" y="{base - gross_h:.1f}" width="{slot / 2 - 6:.1f}" height="{gross_h:.1f}" '
            f'fill="#1f6feb"><title>gross {escape(format_money(row.gross, currency))}</title></rect>'
        )
        parts.append(
            f'<rect x="{x + slot / 2:.1f}" y="{base - refund_h:.1f}" width="{slot / 2 - 6:.1f}" height="{refund_h:.1f}" '
            f'fill="#f0883e"><title>refunds {escape(format_money(row.refunds, currency))}</title></rect>'
        )
        parts.append(
            f'<text x="{x + slot / 2:.1f}" y="{base - gross_h - 6:.1f}" text-anchor="middle" font-size="11">'
            f"{escape(format_money(row.net, currency))}</text>"
        )
        parts.append(
            f'<text x="{x + slot / 2:.1f}" y="{height - 10}" text-anchor="middle" font-size="11">{row.day:%a %d}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text inside is escaped above


def heatmap_svg(grid: list[list[int]]) -> SafeString:
    """7 × 24 cells, darker = more parked-car hours."""
    cell, left, top = 22, 40, 20
    peak = max(heat_max(grid), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {left + 24 * cell} {top + 7 * cell}" role="img" '
        'aria-label="Occupancy by weekday and hour, last 4 weeks" class="chart heatmap">'
    ]
    for hour in range(0, 24, 3):
        parts.append(
            f'<text x="{left + hour * cell + cell / 2}" y="14" text-anchor="middle" font-size="10">{hour:02d}</text>'
        )
    for day, row in enumerate(grid):
        parts.append(f'<text x="0" y="{top + day * cell + 15}" font-size="11">{WEEKDAYS[day]}</text>')
        for hour, count in enumerate(row):
            opacity = 0.08 + 0.92 * count / peak if count else 0.04
            parts.append(
                f'<rect x="{left + hour * cell}" y="{top + day * cell}" width="{cell - 2}" height="{cell - 2}" '
                f'fill="#2da44e" fill-opacity="{opacity:.2f}"><title>{WEEKDAYS[day]} {hour:02d}:00 — {count}</title></rect>'
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - numbers and fixed labels only
