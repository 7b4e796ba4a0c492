"""Judging a despeckled raster: read the bands, measure, write the ratio raster and the report.

The measuring is :func:`s2v_plugin.core.evaluation.evaluate_arrays` (numeric, in memory, used
by the benchmark too); reading, grid/CRS checks and the rasterisation of AREAS are in
:mod:`s2v_plugin.io.evaluation_io`.
Evaluation holds the three images in memory (about 12 bytes per pixel, more while the classic
filters run): it is meant for scenes and subsets, not for whole products.
"""

from __future__ import annotations

import logging
from typing import Callable

import numpy as np

from .core.domain import AUTO, check_domain, from_intensity, to_intensity
from .core.errors import InputError, OutputError
from .core.evaluation import Evaluation, automatic_areas, check_area_sizes, evaluate_arrays
from .core.tiling import plan_tiles
from .io.evaluation_io import check_compatible, polygon_areas, read_band
from .io.input_description import describe_raster
from .io.raster_source import ArraySource
from .io.raster_writer import RasterWriter, check_writable
from .provenance import provenance_items
from .tiled_run import Callbacks, all_or_nothing, run_tiles

LOG = logging.getLogger(__name__)

#: Tile size of the ratio raster's write.
RATIO_TILE = 1024
#: A ratio mean outside this range means NOISY and DESPECKLED do not match (domain or scale).
RATIO_MEAN_RANGE = (0.7, 1.4)


def evaluate_rasters(
    noisy_path: str,
    despeckled_path: str,
    ratio_path: str | None = None,
    html_path: str | None = None,
    noisy_band: int = 1,
    despeckled_band: int = 1,
    reference_path: str | None = None,
    reference_band: int = 1,
    domain: str = AUTO,
    looks: float | None = None,
    polygons: list[tuple[str, str]] | None = None,
    compare_classic: bool = True,
    progress: Callable[[float], None] | None = None,
    is_cancelled: Callable[[], bool] | None = None,
    log: Callable[[str], None] | None = None,
    warn: Callable[[str], None] | None = None,
) -> Evaluation:
    """Evaluate a despeckled raster: write the ratio raster and the HTML report.

    Parameters
    ----------
    noisy_path, despeckled_path : str
        The speckled input (intensity, amplitude or complex band) and the despeckled result.
    ratio_path : str, optional
        Destination of the ratio image noisy / despeckled (intensities), float32.
    html_path : str, optional
        Destination of the self-contained HTML report.
    noisy_band, despeckled_band, reference_band : int
        1-based bands.
    reference_path : str, optional
        Clean image (same domain as the despeckled one) for PSNR and SSIM.
    domain : {"auto", "intensity", "amplitude"}
        Domain of real bands; ``"auto"`` decides for each raster from its metadata (our
        outputs say their domain) and speckle statistics.
    looks : float, optional
        Number of looks of the noisy image; default: 1 for complex input, else the ENL
        estimated over homogeneous areas.
    polygons : list of (name, WKT), optional
        Homogeneous areas in the raster's CRS; found automatically when omitted or empty.
    compare_classic : bool
        Also score every classic filter.
    progress, is_cancelled, log, warn : callables, optional

    Returns
    -------
    Evaluation

    Raises
    ------
    S2VError
        With an actionable message; no output file is left behind.
    """
    check_domain(domain)
    callbacks = Callbacks.of(progress, is_cancelled, log, warn)
    progress, log, warn = callbacks.progress, callbacks.log, callbacks.warn
    check_distinct(noisy_path, noisy_band, despeckled_path, despeckled_band)
    if ratio_path:
        check_writable(ratio_path)
    if html_path:
        _check_report_path(html_path)
    sources = {}
    try:
        sources["NOISY"], noisy = read_band(noisy_path, noisy_band, "NOISY")
        sources["DESPECKLED"], despeckled = read_band(
            despeckled_path, despeckled_band, "DESPECKLED"
        )
        reference = None
        if reference_path:
            sources["REFERENCE"], reference = read_band(reference_path, reference_band, "REFERENCE")
        check_compatible(sources)
        georeferencing = sources["NOISY"].georeferencing()
    finally:
        for source in sources.values():
            source.close()
    noisy_kind = describe_raster(noisy_path, noisy_band, domain, looks, role="NOISY")
    despeckled_kind = describe_raster(
        despeckled_path, despeckled_band, domain, role="DESPECKLED",
        fallback_domain=noisy_kind.domain,
    )  # fmt: skip
    for description in (noisy_kind, despeckled_kind):
        description.report(log, warn)
    looks = noisy_kind.looks
    if not np.iscomplexobj(noisy) and (noisy < 0).any():
        raise InputError("NOISY has negative values: it must be linear intensity or amplitude.")
    noisy = to_intensity(noisy, noisy_kind.domain)
    domain = despeckled_kind.domain
    despeckled = to_intensity(despeckled, domain)
    if reference is not None and np.iscomplexobj(reference):  # |z|^2 or |z| in that domain
        reference = from_intensity(to_intensity(reference, domain), domain)
    height, width = noisy.shape
    callbacks.check_cancelled()
    if polygons:
        areas = polygon_areas(polygons, georeferencing, width, height)
        check_area_sizes(areas, noisy, despeckled)
    else:
        areas = automatic_areas(noisy, looks=looks)
    progress(0.05)
    evaluation = evaluate_arrays(
        noisy,
        despeckled,
        looks,
        areas,
        reference,
        domain,
        compare_classic,
        progress=callbacks.part(0.05, 0.85),
        is_cancelled=callbacks.is_cancelled,
    )
    ratio_mean = evaluation.despeckled.ratio_mean
    if not RATIO_MEAN_RANGE[0] <= ratio_mean <= RATIO_MEAN_RANGE[1]:
        warn(
            f"The ratio image has mean {ratio_mean:.3f}, far from 1: NOISY "
            f"({noisy_kind.domain}) and DESPECKLED ({despeckled_kind.domain}) do not match in "
            "domain or scale. Check DOMAIN (Auto reads our outputs' metadata) and that "
            "DESPECKLED was computed from NOISY."
        )
    log(
        f"ENL {evaluation.despeckled.enl:.2f} over {len(areas)} "
        f"{'automatic windows' if evaluation.automatic_areas else 'areas'} (noisy "
        f"{evaluation.enl_noisy:.2f}); ratio mean {evaluation.despeckled.ratio_mean:.4f}, "
        f"variance {evaluation.despeckled.ratio_variance:.4f}; "
        f"M-index {evaluation.despeckled.m_index.value:.2f}"
    )
    callbacks.check_cancelled()
    if ratio_path:
        metadata = provenance_items(
            noisy_kind.provenance,
            product="ratio image noisy / despeckled (intensity)",
            looks=looks,
            noisy_domain=noisy_kind.domain,
            despeckled_domain=despeckled_kind.domain,
        )
        _write_ratio(ratio_path, evaluation.images["ratio"], georeferencing, callbacks, metadata)
    progress(0.9)
    if html_path:
        from .report.html import write_report

        try:
            write_report(html_path, evaluation, title=_title(noisy_path, despeckled_path))
        except BaseException:
            if ratio_path:
                import os

                if os.path.exists(ratio_path):
                    os.remove(ratio_path)
            raise
    progress(1.0)
    return evaluation


def check_distinct(noisy_path: str, noisy_band: int, despeckled_path: str, band: int) -> None:
    """Refuse to evaluate a raster band against itself."""
    from pathlib import Path

    def same(a: str, b: str) -> bool:
        try:
            return Path(a).resolve() == Path(b).resolve()
        except OSError:
            return a == b

    if noisy_band == band and same(noisy_path, despeckled_path):
        raise InputError(
            f"NOISY and DESPECKLED are the same raster band ('{despeckled_path}', band {band}): "
            "choose the despeckled output as DESPECKLED (the ratio of a raster with itself "
            "measures nothing)."
        )


def _check_report_path(path: str) -> None:
    import os
    from pathlib import Path

    folder = Path(path).resolve().parent
    if not folder.is_dir() or not os.access(folder, os.W_OK) or Path(path).is_dir():
        raise OutputError(
            f"Cannot write the report '{path}': choose a file in an existing, writable folder."
        )


def _title(noisy_path: str, despeckled_path: str) -> str:
    from pathlib import Path

    return f"{Path(despeckled_path).name} vs {Path(noisy_path).name}"


def _write_ratio(
    path: str, ratio: np.ndarray, georeferencing, callbacks: Callbacks, metadata: dict
) -> None:
    height, width = ratio.shape
    writer = RasterWriter(
        path,
        width=width,
        height=height,
        georeferencing=georeferencing,
        nodata=float("nan"),
        metadata=metadata,
        band_descriptions=["ratio noisy / despeckled (intensity)"],
    )
    writer.set_unit_type("ratio")
    with all_or_nothing([writer]):
        run_tiles(
            ArraySource(ratio),
            plan_tiles(height, width, RATIO_TILE, 0),
            lambda tiles, windows: [(window,) for window in windows],
            [writer],
            callbacks=Callbacks(is_cancelled=callbacks.is_cancelled),
        )
