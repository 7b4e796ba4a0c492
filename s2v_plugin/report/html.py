"""Render an :class:`~s2v_plugin.core.evaluation.Evaluation` as one self-contained HTML file."""

from __future__ import annotations

import datetime
import html
import math
import os
import uuid
from pathlib import Path

import numpy as np

from ..core.errors import OutputError
from .charts import ratio_histogram_svg
from .images import data_uri, grey_png, reduce, stretch_limits, to_db

OVERVIEW_SIDE = 420
DETAIL_SIDE = 160
RATIO_RANGE = (0.0, 2.0)

STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222;max-width:1400px}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:3px 8px;
text-align:right}th{background:#f0f0f0}td:first-child,th:first-child{text-align:left}
.figs{display:flex;flex-wrap:wrap;gap:12px}.fig{text-align:center;font-size:.9em}
.fig img,.fig svg{display:block;image-rendering:pixelated;border:1px solid #ccc}
.best{font-weight:bold;background:#e8f5e9}.note{color:#555;font-size:.9em;max-width:60em}
.self{background:#fff8e1}
"""


def _fmt(value, digits: int = 3) -> str:
    if value is None:
        return "&ndash;"
    if isinstance(value, float) and not math.isfinite(value):
        return "&infin;" if value > 0 else "&ndash;"
    return f"{value:.{digits}f}" if isinstance(value, float) else html.escape(str(value))


def _img(image: np.ndarray, low: float, high: float, caption: str, overlay: str = "") -> str:
    uri = data_uri(grey_png(image, low, high))
    rows, cols = image.shape
    scale = max(1, int(OVERVIEW_SIDE // max(rows, cols, 1))) if max(rows, cols) < 200 else 1
    w, h = cols * scale, rows * scale
    body = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
        f'viewBox="0 0 {cols} {rows}"><image href="{uri}" width="{cols}" height="{rows}" '
        f'style="image-rendering:pixelated"/>{overlay}</svg>'
        if overlay
        else f'<img src="{uri}" width="{w}" height="{h}" alt="{html.escape(caption)}">'
    )
    return f'<div class="fig">{body}{html.escape(caption)}</div>'


def _area_overlay(evaluation, factor: int) -> str:
    parts = []
    for area in evaluation.areas:
        parts.append(
            f'<rect x="{area.col / factor:.1f}" y="{area.row / factor:.1f}" '
            f'width="{area.cols / factor:.1f}" height="{area.rows / factor:.1f}" fill="none" '
            f'stroke="#f1c40f" stroke-width="{max(1.0, 1.5 / factor):.2f}">'
            f"<title>{html.escape(area.name)}</title></rect>"
        )
    return "".join(parts)


def _overviews(evaluation) -> str:
    images = evaluation.images
    despeckled, factor = reduce(images["despeckled"], OVERVIEW_SIDE)
    despeckled_db = to_db(despeckled)
    low, high = stretch_limits(despeckled_db)
    noisy_db = to_db(reduce(images["noisy"], OVERVIEW_SIDE)[0])
    ratio, _ = reduce(images["ratio"], OVERVIEW_SIDE)
    overlay = _area_overlay(evaluation, factor)
    # speckle averaged over factor^2 pixels has a standard deviation near 1 / (factor sqrt L)
    half = min(1.0, 2.5 / (factor * np.sqrt(evaluation.looks)))
    ratio_caption = (
        f"Ratio image ({factor}x{factor} averaged: structure shows as shapes)"
        if factor > 1
        else "Ratio image (pure speckle looks like uniform noise)"
    )
    figs = [
        _img(noisy_db, low, high, f"Noisy (dB, {factor}x{factor} averaged)"),
        _img(despeckled_db, low, high, "Despeckled (dB), homogeneous areas in yellow", overlay),
        _img(ratio, 1.0 - half, 1.0 + half, ratio_caption),
    ]
    if "reference" in images:
        reference_db = to_db(reduce(images["reference"], OVERVIEW_SIDE)[0])
        figs.append(_img(reference_db, low, high, "Reference (dB)"))
    return '<div class="figs">' + "".join(figs) + "</div>"


def _detail_box(shape: tuple[int, int]) -> tuple[slice, slice]:
    rows, cols = shape
    side_r, side_c = min(DETAIL_SIDE, rows), min(DETAIL_SIDE, cols)
    r0, c0 = (rows - side_r) // 2, (cols - side_c) // 2
    return slice(r0, r0 + side_r), slice(c0, c0 + side_c)


def _details(evaluation) -> str:
    images = evaluation.images
    box = _detail_box(images["noisy"].shape)
    low, high = stretch_limits(to_db(images["despeckled"][box]))
    methods = [("Noisy", images["noisy"]), (evaluation.despeckled.name, images["despeckled"])]
    methods += [(key.split(":", 1)[1], value) for key, value in images.items() if ":" in key]
    if "reference" in images:
        methods.append(("Reference", images["reference"]))
    top = [_img(to_db(image[box]), low, high, name) for name, image in methods]
    bottom = []
    for name, image in methods[1:]:
        if name == "Reference":
            continue
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = images["noisy"][box] / image[box]
        bottom.append(_img(ratio, *RATIO_RANGE, f"ratio, {name}"))
    return (
        '<div class="figs">' + "".join(top) + '</div><p class="note">Ratio images at full '
        "resolution: pure speckle looks like uniform noise; edges, lines or shapes are "
        'structure the filter removed.</p><div class="figs">' + "".join(bottom) + "</div>"
    )


def _summary(evaluation) -> str:
    d = evaluation.despeckled
    looks = evaluation.looks
    found = "found automatically" if evaluation.automatic_areas else "given"
    noisy_enl = _fmt(evaluation.enl_noisy, 2)
    first_order = "&nbsp;&nbsp;first-order residual r<sub>ENL,&mu;</sub>"
    rows = [
        ("Image size", f"{evaluation.width} x {evaluation.height} px", ""),
        ("Number of looks L of the noisy image", _fmt(looks, 2), ""),
        ("Homogeneous areas", f"{len(evaluation.areas)} {found}", ""),
        ("ENL of the despeckled image (mean over areas)", _fmt(d.enl, 2), "higher = smoother"),
        ("ENL of the noisy image (same areas)", noisy_enl, f"about L = {looks:g}"),
        ("Ratio image mean", _fmt(d.ratio_mean, 4), "ideal 1 (no bias)"),
        ("Ratio image variance", _fmt(d.ratio_variance, 4), f"ideal 1/L = {1 / looks:.4f}"),
        ("M-index", _fmt(d.m_index.value, 2), "ideal 0 (Gomez et al. 2017)"),
        (first_order, _fmt(d.m_index.first_order, 4), "ideal 0"),
        ("&nbsp;&nbsp;structure &delta;h (%)", _fmt(d.m_index.delta_h, 2), "ideal 0"),
        (
            "Lag-1 correlation of the ratio image (rows / columns)",
            f"{_fmt(d.lag1_rows)} / {_fmt(d.lag1_cols)}",
            "ideal 0 for white speckle; noisy image: "
            f"{_fmt(evaluation.noisy_lag1[0])} / {_fmt(evaluation.noisy_lag1[1])}",
        ),
    ]  # fmt: skip
    if d.psnr is not None:
        rows.append(
            (
                f"PSNR ({evaluation.domain}, peak = reference max)",
                _fmt(d.psnr, 2) + " dB",
                "higher is better",
            )
        )
        rows.append(("SSIM", _fmt(d.ssim, 4), "ideal 1"))  # fmt: skip
    body = "".join(f"<tr><td>{a}</td><td>{b}</td><td>{c}</td></tr>" for a, b, c in rows)
    return f"<table><tr><th>Measure</th><th>Value</th><th>Reading</th></tr>{body}</table>"


def _comparison(evaluation) -> str:
    methods = [evaluation.despeckled, *evaluation.classic]
    looks = evaluation.looks
    columns = [
        ("ENL", lambda m: m.enl, None, 2),
        ("ratio mean", lambda m: m.ratio_mean, lambda v: abs(v - 1.0), 4),
        ("ratio variance", lambda m: m.ratio_variance, lambda v: abs(v - 1.0 / looks), 4),
        ("M-index", lambda m: m.m_index.value, lambda v: v, 2),
        ("lag-1 rows", lambda m: m.lag1_rows, lambda v: abs(v), 3),
        ("lag-1 cols", lambda m: m.lag1_cols, lambda v: abs(v), 3),
    ]
    if evaluation.despeckled.psnr is not None:
        columns += [
            ("PSNR (dB)", lambda m: m.psnr, lambda v: -v, 2),
            ("SSIM", lambda m: m.ssim, lambda v: -v, 4),
        ]
    best = {}
    for title, get, badness, _ in columns:
        if badness is not None:
            best[title] = min(range(len(methods)), key=lambda i: badness(get(methods[i])))
    header = "<tr><th>Method</th>" + "".join(f"<th>{c[0]}</th>" for c in columns)
    header += "<th>time (s)</th></tr>"
    rows = []
    for index, method in enumerate(methods):
        cells = []
        for title, get, _, digits in columns:
            css = ' class="best"' if best.get(title) == index else ""
            cells.append(f"<td{css}>{_fmt(get(method), digits)}</td>")
        seconds = _fmt(method.seconds, 2) if method.seconds is not None else "&ndash;"
        css = ' class="self"' if index == 0 else ""
        rows.append(
            f"<tr{css}><td>{html.escape(method.name)}</td>{''.join(cells)}<td>{seconds}</td></tr>"
        )
    return f"<table>{header}{''.join(rows)}</table>"


def _verdict(evaluation) -> str:
    """Two or three plain sentences placing the evaluated image among the classic filters."""
    if not evaluation.classic:
        return ""
    own = evaluation.despeckled
    methods = [own, *evaluation.classic]
    by_m = sorted(methods, key=lambda m: m.m_index.value)
    rank = by_m.index(own) + 1
    sentences = [
        f"By the M-index (structure and bias left in the ratio image) the evaluated image ranks "
        f"{rank} of {len(methods)}; the best is {html.escape(by_m[0].name)} "
        f"({by_m[0].m_index.value:.2f})."
    ]
    smoother = sum(m.enl < own.enl for m in evaluation.classic)
    sentences.append(
        f"Its ENL over the homogeneous areas ({own.enl:.1f}) is higher than that of {smoother} "
        f"of the {len(evaluation.classic)} classic filters."
    )
    if own.psnr is not None:
        best = max(evaluation.classic, key=lambda m: m.psnr)
        sentences.append(
            f"Against the reference its PSNR is {own.psnr - best.psnr:+.2f} dB from the best "
            f"classic filter ({html.escape(best.name)}, {best.psnr:.2f} dB), SSIM "
            f"{own.ssim:.3f} against {best.ssim:.3f}."
        )
    return "<p>" + " ".join(sentences) + "</p>"


def _areas(evaluation) -> str:
    header = (
        "<tr><th>Area</th><th>row</th><th>col</th><th>rows x cols</th><th>pixels</th>"
        "<th>ENL noisy</th><th>ENL despeckled</th><th>ratio mean</th><th>ratio ENL</th></tr>"
    )
    rows = "".join(
        f"<tr><td>{html.escape(a.name)}</td><td>{a.row}</td><td>{a.col}</td>"
        f"<td>{a.rows} x {a.cols}</td><td>{a.pixels}</td><td>{_fmt(a.enl_noisy, 2)}</td>"
        f"<td>{_fmt(a.enl_despeckled, 2)}</td><td>{_fmt(a.ratio_mean, 4)}</td>"
        f"<td>{_fmt(a.ratio_enl, 2)}</td></tr>"
        for a in evaluation.areas
    )
    return f"<table>{header}{rows}</table>"


def render_report(evaluation, title: str = "Despeckling evaluation") -> str:
    """The report as an HTML string with every image embedded (no external files)."""
    when = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    histogram = ratio_histogram_svg(evaluation.images["ratio"], evaluation.looks)
    comparison = (
        "<h2>Compared with the classic filters</h2>"
        '<p class="note">Same measures for each classic filter run on the noisy image with '
        f"L = {evaluation.looks:g}; the best value of each column is highlighted, the evaluated "
        "image is the first row. A high ENL with a ratio far from pure speckle means the "
        "filter smoothed away structure.</p>"
        '<p class="note">The classic filters are the textbook ones, checked against the Orfeo '
        "ToolBox (our w x w window is its radius (w - 1)/2; Frost's damping 0.1 is its "
        "deramp). Gamma-MAP leaves a pixel unfiltered wherever the window's coefficient of "
        "variation exceeds sqrt(2) times the speckle's: on single-look data that is a sizeable "
        "share of the pixels (about 20 % on the ENVISAT sample, as in the Orfeo ToolBox), seen "
        "as flat unfiltered patches and a high M-index. That is the method, not a fault of "
        "this implementation.</p>" + _verdict(evaluation) + _comparison(evaluation)
        if evaluation.classic
        else ""
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Speckle2Void evaluation: {html.escape(title)}</title><style>{STYLE}</style></head>
<body>
<h1>Despeckling evaluation: {html.escape(title)}</h1>
<p class="note">Speckle2Void for QGIS, {when}. Intensities throughout (amplitudes are squared).
</p>
<h2>Summary</h2>
{_summary(evaluation)}
{comparison}
<h2>Quicklooks</h2>
{_overviews(evaluation)}
<h2>Detail at full resolution (centre of the image)</h2>
{_details(evaluation)}
<h2>Ratio image against the speckle model</h2>
<div class="figs"><div class="fig">{histogram}</div></div>
<p class="note">For a perfect filter the ratio noisy / despeckled is the speckle itself:
Gamma-distributed with mean 1 and variance 1/L, no spatial structure. A narrower histogram than
the curve means the filter kept speckle (under-smoothing); a wider one, or a mean away from 1,
means it removed or biased signal. Correlated speckle (SLC not decorrelated, detected and
resampled products) leaves correlation in the ratio image even for a perfect filter.</p>
<h2>Homogeneous areas</h2>
{_areas(evaluation)}
<p class="note">ENL = mean&sup2; / variance of the intensity over each area. Automatic windows
are the most homogeneous {evaluation.areas[0].rows if evaluation.areas else 0}-pixel squares
of the noisy image (no edge, texture or bright point).</p>
</body></html>
"""


def write_report(path: str, evaluation, title: str = "Despeckling evaluation") -> str:
    """Write the report to ``path`` atomically (temporary file, then rename)."""
    destination = Path(path)
    temporary = destination.with_name(f".{destination.name}.{uuid.uuid4().hex[:8]}.partial")
    try:
        temporary.write_text(render_report(evaluation, title), encoding="utf-8")
        os.replace(temporary, destination)
    except OSError as exc:
        if temporary.exists():
            temporary.unlink()
        raise OutputError(f"Cannot write the report '{path}': {exc}") from exc
    return str(destination)
