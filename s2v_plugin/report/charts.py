"""Inline SVG charts for the report (no plotting library needed)."""

from __future__ import annotations

import numpy as np
from scipy import stats


def ratio_histogram_svg(
    ratio: np.ndarray, looks: float, width: int = 560, height: int = 300, bins: int = 80
) -> str:
    """Histogram (density) of the ratio image with the Gamma(L, 1/L) density of pure
    ``L``-look speckle drawn over it, as an SVG element."""
    values = np.asarray(ratio, dtype=np.float64)
    values = values[np.isfinite(values)]
    speckle = stats.gamma(looks, scale=1.0 / looks)
    x_max = float(max(speckle.ppf(0.995), 1.5))
    density, edges = np.histogram(values, bins=bins, range=(0.0, x_max), density=False)
    density = density / (values.size * (edges[1] - edges[0])) if values.size else density
    x = np.linspace(0.0, x_max, 300)[1:]
    theory = speckle.pdf(x)
    y_max = float(max(np.max(density, initial=0.0), np.max(theory[x > 0.02 * x_max]))) * 1.08
    left, right, top, bottom = 48, 12, 12, 36
    plot_w, plot_h = width - left - right, height - top - bottom

    def px(value: float) -> float:
        return left + plot_w * value / x_max

    def py(value: float) -> float:
        return top + plot_h * (1.0 - min(value, y_max) / y_max)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="ratio histogram">',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="#fafafa" '
        'stroke="#999"/>',
    ]
    for count, a, b in zip(density, edges[:-1], edges[1:]):
        if count > 0:
            parts.append(
                f'<rect x="{px(a):.1f}" y="{py(count):.1f}" width="{px(b) - px(a):.2f}" '
                f'height="{top + plot_h - py(count):.1f}" fill="#7aa6c2"/>'
            )
    points = " ".join(f"{px(a):.1f},{py(b):.1f}" for a, b in zip(x, theory))
    parts.append(f'<polyline points="{points}" fill="none" stroke="#c0392b" stroke-width="2"/>')
    for tick in np.arange(0.0, x_max + 1e-9, 0.5):
        parts.append(
            f'<text x="{px(tick):.1f}" y="{height - 18}" font-size="11" '
            f'text-anchor="middle">{tick:g}</text>'
        )
    for tick in np.linspace(0.0, y_max, 5)[1:]:
        parts.append(
            f'<text x="{left - 4}" y="{py(tick) + 4:.1f}" font-size="11" '
            f'text-anchor="end">{tick:.2g}</text>'
        )
    parts.append(
        f'<text x="{left + plot_w / 2:.0f}" y="{height - 3}" font-size="12" '
        'text-anchor="middle">ratio noisy / despeckled</text>'
    )
    parts.append(
        f'<text x="{left + plot_w - 6}" y="{top + 16}" font-size="12" text-anchor="end">'
        f'<tspan fill="#7aa6c2">&#9632; ratio image</tspan>  '
        f'<tspan fill="#c0392b">&#8212; Gamma(L={looks:g}) speckle density</tspan></text>'
    )
    parts.append("</svg>")
    return "\n".join(parts)
