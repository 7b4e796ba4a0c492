"""Classic speckle filters over whole rasters: streamed in tiles, bounded memory, seamless.

1. One scan of the band in strips validates every pixel (no negative or infinite values) and,
   for Lee Sigma, takes the point-target threshold ``Z98`` from a deterministic,
   tiling-independent subsample.
2. The raster is cut into tiles whose windows carry the filter's halo
   (:meth:`~s2v_plugin.core.classic_filters.FilterSpec.halo`) and are read mirrored at the
   raster edges, so every output pixel sees exactly what an untiled run sees: tiled == untiled.
3. Tile cores go to an all-or-nothing output that keeps georeferencing and nodata.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .core.classic_filters import FilterSpec, filter_spec
from .core.domain import AUTO, INTENSITY, check_domain, from_intensity, to_intensity
from .core.errors import InputError
from .core.tiling import plan_tiles
from .io.band_scan import scan_band
from .io.input_description import describe_raster
from .io.raster_source import RasterSource
from .io.raster_writer import RasterWriter, check_writable
from .io.windows import core_of
from .provenance import UNITS, provenance_items
from .tiled_run import Callbacks, all_or_nothing, run_tiles

DEFAULT_TILE_SIZE = 1024
MIN_TILE_SIZE = 16
SCAN_SHARE = 0.1


@dataclass(frozen=True)
class ClassicReport:
    """What a classic filtering run did, for logs and tests."""

    filter: str
    window: int
    looks: float
    options: dict
    tiles: int
    tile_size: int
    halo: int
    output_domain: str
    seconds: float


def _check_options(
    window: int, looks: float | None, domain: str, tile: int, auto: bool = False
) -> None:
    check_domain(domain, auto)
    if window < 3 or window % 2 == 0:
        raise InputError(f"WINDOW_SIZE must be an odd number >= 3 (got {window}).")
    if looks is not None and not (np.isfinite(looks) and looks > 0):
        raise InputError(f"LOOKS must be a positive number (got {looks}).")
    if tile < MIN_TILE_SIZE:
        raise InputError(f"TILE_SIZE must be at least {MIN_TILE_SIZE} pixels (got {tile}).")


def filter_array(
    image: np.ndarray,
    filter_key: str = "lee",
    window: int | None = None,
    looks: float = 1.0,
    domain: str = INTENSITY,
    options: dict | None = None,
) -> np.ndarray:
    """Filter an in-memory image (intensity, amplitude or complex) untiled.

    Returns the estimate in the input's domain (complex gives intensity), float32.
    """
    spec = filter_spec(filter_key)
    window = window or spec.default_window
    _check_options(window, looks, domain, MIN_TILE_SIZE)
    intensity = to_intensity(np.asarray(image), domain)
    if spec.needs_global_threshold(options):
        options = spec.with_global_threshold(options, intensity[np.isfinite(intensity)])
    estimate = spec.function(intensity, window, looks, **(options or {}))
    return from_intensity(estimate, INTENSITY if np.iscomplexobj(image) else domain)


def _window_filter(
    spec: FilterSpec, window: int, looks: float, options: dict, domain: str, output_domain: str
):
    """The per-window function of :func:`~s2v_plugin.tiled_run.run_tiles` for one filter."""

    def compute(tiles, windows):
        results = []
        for tile, raw in zip(tiles, windows):
            estimate = spec.function(to_intensity(raw, domain), window, looks, **options)
            results.append((from_intensity(core_of(estimate, tile), output_domain),))
        return results

    return compute


def classic_filter_raster(
    input_path: str,
    output_path: str,
    filter_key: str = "lee",
    band: int = 1,
    domain: str = AUTO,
    window: int | None = None,
    looks: float | None = None,
    options: dict | None = None,
    tile_size: int = DEFAULT_TILE_SIZE,
    progress: Callable[[float], None] | None = None,
    is_cancelled: Callable[[], bool] | None = None,
    log: Callable[[str], None] | None = None,
    warn: Callable[[str], None] | None = None,
) -> ClassicReport:
    """Filter one band of a raster with a classic speckle filter into a float32 raster.

    Parameters
    ----------
    input_path, output_path : str
        Source raster (intensity, amplitude or complex band) and destination file.
    filter_key : str
        One of :data:`~s2v_plugin.core.classic_filters.FILTERS` (``"lee"``, ``"refined_lee"``,
        ``"lee_sigma"``, ``"frost"``, ``"gamma_map"``, ``"kuan"``, ``"boxcar"``).
    band : int
        1-based band number.
    domain : {"auto", "intensity", "amplitude"}
        Domain of a real band (filters run on intensity; the output is in the input's
        domain, complex input gives intensity); ``"auto"`` decides from the metadata and the
        speckle statistics (:func:`s2v_plugin.io.input_description.describe_raster`).
    window : int, optional
        Odd window size; the filter's default when omitted.
    looks : float, optional
        Equivalent number of looks of the input; default: 1 for complex input, else the ENL
        estimated over homogeneous areas.
    options : dict, optional
        Filter-specific keyword arguments (``damping`` for Frost; ``sigma``,
        ``target_window``, ``point_threshold``, ``point_count`` for Lee Sigma).
    tile_size : int
        Tile core size in pixels: changes memory and speed, never the result.
    progress, is_cancelled, log, warn : callables, optional
        Progress in [0, 1], cancel polling (before every tile), log lines, warnings (default:
        ``log``).

    Returns
    -------
    ClassicReport

    Raises
    ------
    S2VError
        With an actionable message; no output file is left behind.
    """
    started = time.perf_counter()
    callbacks = Callbacks.of(progress, is_cancelled, log, warn)
    log, warn = callbacks.log, callbacks.warn
    spec = filter_spec(filter_key)
    window = int(window or spec.default_window)
    _check_options(window, looks, domain, tile_size, auto=True)
    check_writable(output_path)
    description = describe_raster(input_path, band, domain, looks)
    description.report(log, warn)
    domain, looks = description.domain, description.looks
    with RasterSource(input_path, band) as source:
        info = source.info
        scan = scan_band(source, domain, callbacks.part(0.0, SCAN_SHARE))
        options = spec.with_global_threshold(options, scan.samples)
        halo = spec.halo(window, **options)
        plan = plan_tiles(info.height, info.width, tile_size, halo)
        output_domain = INTENSITY if info.is_complex else domain
        nodata = info.nodata
        nodata = float(nodata) if nodata is not None and np.isfinite(nodata) else float("nan")
        metadata = provenance_items(
            description.provenance,
            filter=spec.label,
            window=window,
            looks=looks,
            domain=output_domain,
            source_band=band,
            input_kind=description.kind,
            **options,
        )
        writer = RasterWriter(
            output_path,
            width=info.width,
            height=info.height,
            georeferencing=source.georeferencing(),
            nodata=nodata,
            metadata=metadata,
            band_descriptions=[f"{output_domain} ({spec.label} {window}x{window})"],
        )
        writer.set_unit_type(UNITS[output_domain])
        with all_or_nothing([writer]):
            run_tiles(
                source,
                plan,
                _window_filter(spec, window, looks, options, domain, output_domain),
                [writer],
                callbacks=callbacks,
                progress_range=(SCAN_SHARE, 1.0),
            )
    report = ClassicReport(
        filter=spec.key,
        window=window,
        looks=float(looks),
        options=options,
        tiles=len(plan.tiles),
        tile_size=plan.core_rows,
        halo=plan.halo,
        output_domain=output_domain,
        seconds=time.perf_counter() - started,
    )
    callbacks.log(
        f"{spec.label} {window}x{window}, L = {looks:g}: {info.width}x{info.height} px in "
        f"{report.tiles} tile(s) of {report.tile_size} px (halo {halo}), "
        f"{report.seconds:.1f} s."
    )
    return report
