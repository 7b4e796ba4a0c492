"""Judging a despeckled image: ratio image, ENL over homogeneous areas, M-index, PSNR/SSIM,
the classic filters for comparison, and an HTML report.

:func:`evaluate_arrays` does the measuring on in-memory intensities (used by the benchmark
too); :func:`evaluate_rasters` reads the rasters, writes the ratio raster and the report.
Evaluation holds the three images in memory (about 12 bytes per pixel, more while the classic
filters run): it is meant for scenes and subsets, not for whole products.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .core import metrics
from .core.classic_filters import FILTERS
from .core.domain import AUTO, DOMAINS, INTENSITY, from_intensity, to_intensity
from .core.errors import InputError, OutputError
from .core.tiling import plan_tiles
from .io.gdal_context import gdal_exceptions
from .io.input_description import describe_raster
from .io.raster_source import ArraySource, RasterSource
from .io.raster_writer import RasterWriter, check_writable
from .provenance import provenance_items
from .tiled_run import Callbacks, all_or_nothing, run_tiles

LOG = logging.getLogger(__name__)

#: Window size and count of the automatically found homogeneous windows.
AUTO_WINDOW = 32
AUTO_COUNT = 10
#: Tile size of the ratio raster's write.
RATIO_TILE = 1024
#: A ratio mean outside this range means NOISY and DESPECKLED do not match (domain or scale).
RATIO_MEAN_RANGE = (0.7, 1.4)


@dataclass(frozen=True)
class Area:
    """A homogeneous area: its bounding window in pixels and, for polygons, its pixel mask."""

    name: str
    window: metrics.Window
    mask: np.ndarray | None = None  # bool, shaped like the window; None = the whole window
    automatic: bool = False

    def values(self, image: np.ndarray) -> np.ndarray:
        """The area's pixels of ``image`` (1-D)."""
        block = image[self.window.slices()]
        return block.ravel() if self.mask is None else block[self.mask]


@dataclass(frozen=True)
class AreaStats:
    """Measures over one homogeneous area."""

    name: str
    row: int
    col: int
    rows: int
    cols: int
    pixels: int
    enl_noisy: float
    enl_despeckled: float
    ratio_mean: float
    ratio_enl: float
    automatic: bool


@dataclass(frozen=True)
class MethodScores:
    """The measures of one despeckled estimate (the evaluated one or a classic filter)."""

    name: str
    enl: float
    ratio_mean: float
    ratio_variance: float
    m_index: metrics.MIndex
    lag1_rows: float
    lag1_cols: float
    psnr: float | None = None
    ssim: float | None = None
    seconds: float | None = None


@dataclass(frozen=True)
class Evaluation:
    """Everything an evaluation measured."""

    looks: float
    domain: str
    width: int
    height: int
    areas: tuple[AreaStats, ...]
    despeckled: MethodScores
    noisy_lag1: tuple[float, float]
    classic: tuple[MethodScores, ...] = ()
    images: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def enl_noisy(self) -> float:
        return float(np.mean([a.enl_noisy for a in self.areas]))

    @property
    def automatic_areas(self) -> bool:
        return bool(self.areas) and self.areas[0].automatic


def automatic_areas(noisy: np.ndarray, size: int = AUTO_WINDOW, count: int = AUTO_COUNT):
    """Homogeneous windows of the noisy intensity as :class:`Area` objects.

    Raises
    ------
    InputError
        When no homogeneous window is found.
    """
    windows = metrics.find_homogeneous_windows(noisy, size=size, count=count)
    if not windows:
        raise InputError(
            f"No homogeneous window of {size} x {size} pixels was found in the noisy image "
            "(every candidate holds nodata, edges, texture or bright points). Draw homogeneous "
            "areas (fields, water, smooth surfaces) in a polygon layer and pass it as AREAS."
        )
    return [Area(f"auto {index + 1}", window, None, True) for index, window in enumerate(windows)]


def score_method(
    name: str,
    noisy: np.ndarray,
    estimate: np.ndarray,
    areas: list[Area],
    reference: np.ndarray | None = None,
    domain: str = INTENSITY,
    seconds: float | None = None,
) -> tuple[MethodScores, np.ndarray]:
    """Measures of one estimate (intensity) of the noisy intensity; returns them and the
    ratio image. PSNR and SSIM compare ``estimate`` with ``reference`` in ``domain``."""
    ratio = metrics.ratio_image(noisy, estimate)
    stats = metrics.ratio_stats(ratio)
    enls = [metrics.enl(area.values(estimate)) for area in areas]
    m = metrics.m_index(
        [area.values(noisy) for area in areas], [area.values(ratio) for area in areas], ratio
    )
    lag_rows, lag_cols = metrics.lag_correlation(ratio)
    psnr = ssim = None
    if reference is not None:
        in_domain = from_intensity(estimate, domain)
        peak = float(np.nanmax(reference))
        psnr = metrics.psnr(in_domain, reference, peak=peak)
        ssim = metrics.ssim(in_domain, reference, data_range=peak - float(np.nanmin(reference)))
    scores = MethodScores(
        name=name,
        enl=float(np.mean(enls)),
        ratio_mean=stats.mean,
        ratio_variance=stats.variance,
        m_index=m,
        lag1_rows=lag_rows,
        lag1_cols=lag_cols,
        psnr=psnr,
        ssim=ssim,
        seconds=seconds,
    )
    return scores, ratio


def evaluate_arrays(
    noisy: np.ndarray,
    despeckled: np.ndarray,
    looks: float = 1.0,
    areas: list[Area] | None = None,
    reference: np.ndarray | None = None,
    domain: str = INTENSITY,
    compare_classic: bool = True,
    name: str = "Despeckled",
    progress: Callable[[float], None] | None = None,
    is_cancelled: Callable[[], bool] | None = None,
) -> Evaluation:
    """Measure a despeckled intensity against the noisy intensity (and a clean reference).

    Parameters
    ----------
    noisy, despeckled : ndarray
        2-D intensities of the same shape, NaN for nodata.
    looks : float
        Number of looks of the noisy image (the theoretical ratio density is Gamma(L, 1/L);
        the classic filters use it).
    areas : list of Area, optional
        Homogeneous areas; found automatically on the noisy image when omitted.
    reference : ndarray, optional
        Clean image in ``domain`` (intensity or amplitude) for PSNR and SSIM.
    domain : {"intensity", "amplitude"}
        Domain in which PSNR and SSIM are computed.
    compare_classic : bool
        Also run and score every classic filter on the noisy image.
    name : str
        Label of the evaluated estimate in the report.
    progress, is_cancelled : callables, optional

    Returns
    -------
    Evaluation
        With ``images`` holding the noisy, despeckled, ratio (and reference, classic) arrays
        for the report.
    """
    callbacks = Callbacks.of(progress, is_cancelled)
    noisy = np.asarray(noisy, dtype=np.float32)
    despeckled = np.asarray(despeckled, dtype=np.float32)
    if noisy.shape != despeckled.shape:
        raise InputError(
            f"NOISY ({noisy.shape[1]} x {noisy.shape[0]} px) and DESPECKLED "
            f"({despeckled.shape[1]} x {despeckled.shape[0]} px) differ in size; they must "
            "cover the same pixels."
        )
    if reference is not None and reference.shape != noisy.shape:
        raise InputError(
            f"REFERENCE ({reference.shape[1]} x {reference.shape[0]} px) differs in size from "
            f"NOISY ({noisy.shape[1]} x {noisy.shape[0]} px)."
        )
    if not looks > 0:
        raise InputError(f"LOOKS must be positive (got {looks}).")
    if areas is None:
        areas = automatic_areas(noisy)
    scores, ratio = score_method(name, noisy, despeckled, areas, reference, domain)
    area_stats = []
    for area in areas:
        values = area.values(ratio)
        area_stats.append(
            AreaStats(
                name=area.name,
                row=area.window.row,
                col=area.window.col,
                rows=area.window.rows,
                cols=area.window.cols,
                pixels=int(np.isfinite(values).sum()),
                enl_noisy=metrics.enl(area.values(noisy)),
                enl_despeckled=metrics.enl(area.values(despeckled)),
                ratio_mean=float(np.nanmean(values)),
                ratio_enl=metrics.enl(values),
                automatic=area.automatic,
            )
        )
    callbacks.progress(0.2)
    images = {"noisy": noisy, "despeckled": despeckled, "ratio": ratio}
    if reference is not None:
        images["reference"] = to_intensity(reference, domain)
    classic = []
    if compare_classic:
        for index, spec in enumerate(FILTERS):
            callbacks.check_cancelled()
            window = spec.default_window
            started = time.perf_counter()
            estimate = spec.function(noisy, window, looks)
            seconds = time.perf_counter() - started
            label = f"{spec.label} {window}x{window}"
            method, _ = score_method(label, noisy, estimate, areas, reference, domain, seconds)
            classic.append(method)
            images[f"classic:{label}"] = estimate
            callbacks.progress(0.2 + 0.8 * (index + 1) / len(FILTERS))
    return Evaluation(
        looks=float(looks),
        domain=domain,
        width=noisy.shape[1],
        height=noisy.shape[0],
        areas=tuple(area_stats),
        despeckled=scores,
        noisy_lag1=metrics.lag_correlation(noisy),
        classic=tuple(classic),
        images=images,
    )


def _read_band(path: str, band: int, role: str) -> tuple[RasterSource, np.ndarray]:
    try:
        source = RasterSource(path, band)
    except InputError as exc:
        raise InputError(f"{role}: {exc}") from exc
    info = source.info
    return source, source.read(0, 0, info.height, info.width)


def _same_crs(a: str, b: str) -> bool:
    if not a or not b:
        return a == b or not (a and b)
    from osgeo import osr

    first, second = osr.SpatialReference(), osr.SpatialReference()
    first.ImportFromWkt(a)
    second.ImportFromWkt(b)
    return bool(first.IsSame(second))


def check_compatible(sources: dict[str, RasterSource]) -> None:
    """All rasters must have the same size and CRS as the first one."""
    (first_role, first), *others = sources.items()
    size = (first.info.width, first.info.height)
    crs = first.georeferencing().crs_wkt
    for role, source in others:
        other = (source.info.width, source.info.height)
        if other != size:
            raise InputError(
                f"{role} is {other[0]} x {other[1]} px but {first_role} is {size[0]} x "
                f"{size[1]} px: evaluate rasters that cover the same pixels (resample or clip "
                "them to the same grid first)."
            )
        if not _same_crs(crs, source.georeferencing().crs_wkt):
            raise InputError(
                f"{role} and {first_role} have different CRS: reproject one onto the other's "
                "grid first (Warp (reproject) in the Raster menu)."
            )


@gdal_exceptions()
def polygon_areas(
    polygons: list[tuple[str, str]], georeferencing, width: int, height: int
) -> list[Area]:
    """Rasterise polygons (name, WKT in the raster's CRS) onto the raster grid.

    Raises
    ------
    InputError
        When the raster has no geotransform or a polygon lies outside the raster.
    """
    from osgeo import gdal, ogr

    transform = georeferencing.geotransform
    if transform is None:
        raise InputError(
            "AREAS needs a raster with a geotransform (map coordinates); this raster has none. "
            "Leave AREAS empty to find homogeneous windows automatically."
        )
    inverse = gdal.InvGeoTransform(transform)
    areas = []
    for name, wkt in polygons:
        geometry = ogr.CreateGeometryFromWkt(wkt)
        if geometry is None or geometry.IsEmpty():
            raise InputError(f"Area '{name}' has no geometry.")
        x0, x1, y0, y1 = geometry.GetEnvelope()
        corners = [gdal.ApplyGeoTransform(inverse, x, y) for x in (x0, x1) for y in (y0, y1)]
        cols = [c for c, _ in corners]
        rows = [r for _, r in corners]
        c0, c1 = max(int(np.floor(min(cols))), 0), min(int(np.ceil(max(cols))), width)
        r0, r1 = max(int(np.floor(min(rows))), 0), min(int(np.ceil(max(rows))), height)
        if c1 <= c0 or r1 <= r0:
            raise InputError(
                f"Area '{name}' lies outside the raster; draw the areas over the image "
                "(and in a CRS QGIS can transform to the raster's)."
            )
        mem = gdal.GetDriverByName("MEM").Create("", c1 - c0, r1 - r0, 1, gdal.GDT_Byte)
        x_origin, y_origin = gdal.ApplyGeoTransform(transform, c0, r0)
        mem.SetGeoTransform((x_origin, transform[1], transform[2], y_origin, *transform[4:]))
        vector = ogr.GetDriverByName("Memory").CreateDataSource("")
        layer = vector.CreateLayer("area")
        feature = ogr.Feature(layer.GetLayerDefn())
        feature.SetGeometry(geometry)
        layer.CreateFeature(feature)
        gdal.RasterizeLayer(mem, [1], layer, burn_values=[1])
        mask = mem.GetRasterBand(1).ReadAsArray().astype(bool)
        if not mask.any():
            raise InputError(
                f"Area '{name}' covers no pixel centre of the raster; draw it larger or over "
                "the image."
            )
        areas.append(Area(name, metrics.Window(r0, c0, r1 - r0, c1 - c0), mask))
    return areas


def _check_area_sizes(areas: list[Area], noisy: np.ndarray, despeckled: np.ndarray) -> None:
    for area in areas:
        valid = np.isfinite(area.values(noisy)) & np.isfinite(area.values(despeckled))
        if valid.sum() < metrics.MIN_ENL_PIXELS:
            raise InputError(
                f"Area '{area.name}' covers {int(valid.sum())} valid pixel(s); the ENL needs at "
                f"least {metrics.MIN_ENL_PIXELS}. Draw it larger."
            )


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
    callbacks = Callbacks.of(progress, is_cancelled, log)
    progress, log = callbacks.progress, callbacks.log
    warn = warn or log
    if domain not in (*DOMAINS, AUTO):
        raise InputError(f"DOMAIN must be one of {(*DOMAINS, AUTO)}, not {domain!r}.")
    check_distinct(noisy_path, noisy_band, despeckled_path, despeckled_band)
    if ratio_path:
        check_writable(ratio_path)
    if html_path:
        _check_report_path(html_path)
    sources = {}
    try:
        sources["NOISY"], noisy = _read_band(noisy_path, noisy_band, "NOISY")
        sources["DESPECKLED"], despeckled = _read_band(
            despeckled_path, despeckled_band, "DESPECKLED"
        )
        reference = None
        if reference_path:
            sources["REFERENCE"], reference = _read_band(
                reference_path, reference_band, "REFERENCE"
            )
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
        _check_area_sizes(areas, noisy, despeckled)
    else:
        areas = automatic_areas(noisy)
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
