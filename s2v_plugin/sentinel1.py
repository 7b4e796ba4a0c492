"""Sentinel-1 SLC end to end: read the SAFE product, deramp, decorrelate, deburst, despeckle,
calibrate.

For each polarisation of one swath:

1. **Read** each selected burst's valid window from the measurement (samples outside
   ``firstValidSample``/``lastValidSample`` are nodata).
2. **Deramp and decorrelate** each burst (:func:`..decorrelate.decorrelate_array` with a
   :class:`~.core.tops_deramp.SwathRamp`): the TOPS azimuth chirp is removed, the spectrum is
   whitened and the oversampling removed; the intensity needs no reramp.
3. **Deburst** (:mod:`.core.deburst`): the bursts are cut at the middle of their overlaps and
   joined on one azimuth time axis (radar geometry). This comes *before* despeckling because the
   overlaps (about 40 lines each side) are narrower than the network's receptive field: burst by
   burst despeckling would leave seams.
4. **Despeckle** the joined swath (:func:`..despeckle.despeckle_raster`).
5. **Calibrate** (optional, :mod:`.core.calibration`) the despeckled intensity to sigma0, beta0
   or gamma0, with optional thermal noise removal.

Several polarisations become bands of one output on the first polarisation's grid. GCPs come from
the annotation's geolocation grid, moved onto the output grid by azimuth time and slant range
sample. Stripmap (SM) products have no bursts: the swath is one piece and is not deramped. Swaths
are not merged (one swath per run).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .core.calibration import CALIBRATIONS, calibrate, calibration_lut, noise_power
from .core.callbacks import Callbacks
from .core.deburst import BurstGrid, DeburstPlan, plan_deburst
from .core.errors import InputError
from .core.tops_deramp import SwathRamp
from .decorrelate import DEFAULT_POINT_TARGET_FACTOR, decorrelate_array
from .io.georeferencing import Georeferencing
from .io.raster_writer import RasterWriter, check_writable
from .io.sentinel1_safe import SafeProduct, SwathAnnotation

LOG = logging.getLogger(__name__)

#: GDAL's WKT of the GCPs' CRS (WGS 84 longitude/latitude).
WGS84_WKT = (
    'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563]],'
    'PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433],AUTHORITY["EPSG","4326"]]'
)


@dataclass
class Sentinel1Report:
    """What a Sentinel-1 run did."""

    product: str
    swath: str
    polarisations: list
    bursts: list
    calibration: str
    noise_removal: bool
    size: tuple = (0, 0)
    pixel_factors: tuple = (1.0, 1.0)
    notes: list = field(default_factory=list)
    metadata: dict = field(default_factory=dict)

    def summary(self) -> str:
        """Multi-line summary for logs."""
        lines = [
            f"Product {self.product}, swath {self.swath}, polarisation(s) "
            f"{', '.join(self.polarisations)}, burst(s) {_burst_text(self.bursts)}",
            f"Output {self.size[1]} x {self.size[0]} pixels (columns x rows), pixels "
            f"{self.pixel_factors[0]:.3f} x {self.pixel_factors[1]:.3f} input pixels "
            "(azimuth x range)",
            f"Calibration: {self.calibration}"
            + (", thermal noise removed" if self.noise_removal else ""),
        ]
        return "\n".join(lines + self.notes)


def _burst_text(bursts) -> str:
    return ", ".join(str(b + 1) for b in bursts)


def parse_bursts(text: str | None, count: int) -> list[int]:
    """0-based burst indices from a 1-based selection such as ``"3-5"``, ``"2,4"`` or empty
    (all).

    Raises
    ------
    InputError
        On a malformed selection or a burst outside ``1..count``.
    """
    if text is None or not str(text).strip():
        return list(range(count))
    selected = set()
    for part in str(text).replace(" ", "").split(","):
        try:
            if "-" in part:
                first, last = (int(v) for v in part.split("-", 1))
            else:
                first = last = int(part)
        except ValueError as exc:
            raise InputError(
                f"BURSTS '{text}' is not a burst selection: write a range such as 3-5, a list "
                "such as 2,4, or leave it empty for all bursts."
            ) from exc
        if not 1 <= first <= last <= count:
            raise InputError(
                f"BURSTS '{text}' asks for bursts outside 1-{count} (the swath has {count})."
            )
        selected.update(range(first - 1, last))
    return sorted(selected)


def _consecutive(bursts: list[int]) -> None:
    if bursts and bursts != list(range(bursts[0], bursts[-1] + 1)):
        raise InputError(
            "BURSTS must be consecutive (a range such as 3-5) so that they can be joined."
        )


@dataclass
class _Piece:
    grid: BurstGrid
    intensity: np.ndarray
    first_line: int  # swath line of the piece's input line 0
    line_factor: float


def _read_window(path: str, line: int, lines: int, sample: int, samples: int) -> np.ndarray:
    from .io.slc_source import SlcSource

    with SlcSource(path) as source:
        if line + lines > source.height or sample + samples > source.width:
            raise InputError(
                f"The measurement '{path}' ({source.width} x {source.height}) is smaller than "
                "its annotation says: the product is incomplete."
            )
        return source.read(line, sample, lines, samples)


def _pieces(
    annotation: SwathAnnotation,
    tiff: str,
    bursts: list[int],
    point_target_factor: float,
    progress: Callable[[float], None],
    check_cancel: Callable[[], None],
) -> list[_Piece]:
    """Decorrelated intensity of each burst (or of the whole stripmap image)."""
    pieces = []
    dt = annotation.azimuth_time_interval
    if not annotation.is_tops:
        windows = [(None, 0, annotation.number_of_lines, 0, annotation.number_of_samples)]
    else:
        windows = [(b, *annotation.bursts[b].valid_window()) for b in bursts]
    for done, (burst, line, lines, sample, samples) in enumerate(windows):
        check_cancel()
        data = _read_window(tiff, line, lines, sample, samples)
        tops = SwathRamp(annotation, line, sample) if burst is not None else None
        out, report = decorrelate_array(
            data, point_target_factor=point_target_factor, tops=tops, reramp=False
        )
        row_factor, col_factor = report.pixel_factors
        if burst is None:
            start = annotation.first_line_time
        else:
            b = annotation.bursts[burst]
            start = b.azimuth_time + (line - b.first_line) * dt
        grid = BurstGrid(
            start_time=start,
            line_spacing=dt * row_factor,
            lines=out.shape[0],
            first_sample=float(sample),
            sample_spacing=col_factor,
            samples=out.shape[1],
        )
        intensity = (np.abs(out) ** 2).astype(np.float32)
        pieces.append(_Piece(grid, intensity, line, row_factor))
        LOG.info(
            "Burst %s decorrelated:\n%s", "-" if burst is None else burst + 1, report.summary()
        )
        progress((done + 1) / len(windows))
    return pieces


def output_gcps(annotation: SwathAnnotation, plan: DeburstPlan) -> tuple:
    """GCPs (pixel, line, lon, lat, height) of the geolocation grid on the output grid: lines
    from azimuth time, pixels from the slant range sample (points just outside the raster are
    kept: they anchor its edges)."""
    out = []
    for point in annotation.geolocation:
        line = (point.azimuth_time - plan.start_time) / plan.line_spacing
        pixel = (point.pixel - plan.first_sample) / plan.sample_spacing
        # GDAL GCP pixel/line refer to pixel corners: centre + 0.5
        out.append((pixel + 0.5, line + 0.5, point.longitude, point.latitude, point.height))
    return tuple(out)


def _swath_lines(plan: DeburstPlan, pieces: list[_Piece]) -> np.ndarray:
    """Swath line (measurement row) of every output line, for the azimuth noise profile."""
    out = np.empty(plan.lines)
    for position, start, count in plan.segments():
        piece = pieces[position]
        rows = plan.source_line[start : start + count]
        out[start : start + count] = piece.first_line + rows * piece.line_factor
    return out


def despeckle_sentinel1(
    input_path: str,
    output_path: str,
    swath: str | None = None,
    polarisations=None,
    bursts: str | None = None,
    calibration: str = "none",
    noise_removal: bool = False,
    despeckle: bool = True,
    model_path: str | None = None,
    device: str = "auto",
    tile_size: int | None = None,
    point_target_factor: float = DEFAULT_POINT_TARGET_FACTOR,
    progress: Callable[[float], None] | None = None,
    is_cancelled: Callable[[], bool] | None = None,
    log: Callable[[str], None] | None = None,
    amplitude: bool = False,
) -> Sentinel1Report:
    """Despeckle one swath of a Sentinel-1 SLC product.

    Parameters
    ----------
    input_path : str
        The SAFE folder, its ``manifest.safe`` or the ``.zip``.
    output_path : str
        Float32 GeoTIFF, one band per polarisation, linear intensity (DN^2) or the calibration.
    swath : str, optional
        IW1-3, EW1-5 or S1-6; default: the first the product holds.
    polarisations : sequence of str, optional
        Default: all of the swath's.
    bursts : str, optional
        1-based consecutive selection (``"3-5"``); empty: all.
    calibration : {"none", "sigma0", "beta0", "gamma0"}
    noise_removal : bool
        Subtract the thermal noise (with a calibration, or in DN^2 without).
    despeckle : bool
        Off: write the decorrelated, debursted intensity (what Decorrelate speckle gives).
    model_path, device, tile_size
        Passed to :func:`..despeckle.despeckle_raster`.
    point_target_factor : float
        Decorrelation point-target factor.
    progress, is_cancelled, log : callables, optional
    amplitude : bool
        Write the square root of the result (amplitude instead of intensity).

    Returns
    -------
    Sentinel1Report

    Raises
    ------
    InputError, OutputError, Cancelled, ModelError
        With an actionable message; no output is left behind.
    """
    callbacks = Callbacks.of(progress, is_cancelled, log or LOG.info)
    log = callbacks.log
    if calibration not in CALIBRATIONS:
        raise InputError(
            f"Unknown CALIBRATION '{calibration}': use one of {', '.join(CALIBRATIONS)}."
        )
    check_writable(output_path)
    network = dict(model_path=model_path, device=device, tile_size=tile_size)
    with SafeProduct(input_path) as product:
        swath = (swath or product.swaths[0]).upper()
        if swath not in product.swaths:
            raise InputError(
                f"The product '{product.name}' has no swath {swath} (with its annotation); it "
                f"has {', '.join(product.swaths)}."
            )
        pols = [p.upper() for p in (polarisations or product.polarisations(swath))]
        annotations = [product.annotation(swath, pol) for pol in pols]
        first = annotations[0]
        selected = parse_bursts(bursts, max(len(first.bursts), 1))
        _consecutive(selected)
        report = Sentinel1Report(product.name, swath, pols, selected, calibration, noise_removal)
        if not first.is_tops:
            report.notes.append("Stripmap (no bursts): read as one piece, not deramped.")
        if first.mode.upper() != "IW":
            report.notes.append(f"{first.mode} mode: not tested on real pixels (only IW was).")
        tables = [
            (
                product.calibration(swath, pol) if calibration != "none" else None,
                product.noise(swath, pol) if noise_removal else None,
            )
            for pol in pols
        ]
        folder = Path(output_path).resolve().parent
        scratch = tempfile.mkdtemp(prefix=".s2v_sentinel1_", dir=folder)
        try:
            bands = []
            plan = None
            share = 1.0 / len(pols)
            for index, (pol, annotation) in enumerate(zip(pols, annotations)):
                base = index * share

                def stage(start, end, base=base):
                    return callbacks.part(base + share * start, base + share * end)

                measurement = product.measurement(swath, pol)
                log(f"{swath} {pol}: deramping and decorrelating {len(selected)} burst(s)")
                pieces = _pieces(
                    annotation,
                    measurement.tiff,
                    selected,
                    point_target_factor,
                    stage(0.0, 0.3 if despeckle else 0.9),
                    callbacks.check_cancelled,
                )
                grids = [p.grid for p in pieces]
                if plan is None:
                    plan = plan_deburst(grids)
                else:
                    plan = _replan(plan, grids)
                joined = plan.assemble(grids, [p.intensity for p in pieces])
                log(f"{swath} {pol}: debursted to {plan.samples} x {plan.lines} pixels")
                if despeckle:
                    joined, report.metadata = _despeckle(
                        joined, scratch, index, network, stage(0.3, 0.95), callbacks
                    )
                callbacks.check_cancelled()
                bands.append(_calibrated(joined, plan, pieces, tables[index], calibration))
            gcps = output_gcps(first, plan)
            row_factor = plan.line_spacing / first.azimuth_time_interval
            report.size = (plan.lines, plan.samples)
            report.pixel_factors = (row_factor, plan.sample_spacing)
            if amplitude:
                bands = [np.sqrt(band) for band in bands]
            _write(output_path, bands, gcps, report, despeckle, amplitude)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    callbacks.progress(1.0)
    log(report.summary())
    return report


def _replan(plan: DeburstPlan, grids) -> DeburstPlan:
    """A plan for another polarisation on the first one's output grid."""
    other = plan_deburst(grids, plan.line_spacing, plan.sample_spacing)
    if abs(other.start_time - plan.start_time) > 0.5 * plan.line_spacing:
        raise InputError("The polarisations of the swath do not share their burst timing.")
    lines, samples = plan.lines, plan.samples
    owner = np.resize(other.owner, lines)
    source = np.resize(other.source_line, lines)
    return DeburstPlan(
        plan.start_time, plan.line_spacing, plan.first_sample, plan.sample_spacing, samples,
        owner, source, other.cuts,
    )  # fmt: skip


def _despeckle(image, scratch, index, network: dict, progress, callbacks: Callbacks):
    """Despeckle one debursted polarisation through a scratch raster; ``network``: the
    ``model_path``, ``device`` and ``tile_size`` of :func:`.despeckle.despeckle_raster`."""
    from .despeckle import despeckle_raster

    source = os.path.join(scratch, f"decorrelated_{index}.tif")
    target = os.path.join(scratch, f"despeckled_{index}.tif")
    with RasterWriter(
        source, width=image.shape[1], height=image.shape[0], nodata=float("nan")
    ) as w:
        w.write(image, 0, 0)
    despeckle_raster(
        source,
        target,
        domain="intensity",
        looks=1.0,  # decorrelated single-look speckle
        progress=progress,
        is_cancelled=callbacks.is_cancelled,
        log=callbacks.log,
        **network,
    )
    from osgeo import gdal

    dataset = gdal.Open(target)
    data = dataset.GetRasterBand(1).ReadAsArray().astype(np.float32)
    nodata = dataset.GetRasterBand(1).GetNoDataValue()
    metadata = {k: v for k, v in (dataset.GetMetadata() or {}).items() if k.startswith("S2V_")}
    dataset = None
    if nodata is not None and not np.isnan(nodata):
        data[data == nodata] = np.nan
    return data, metadata


def _calibrated(image, plan, pieces, tables, calibration) -> np.ndarray:
    vectors, noise = tables
    if vectors is None and noise is None:
        return image
    times = plan.line_times()
    samples = plan.first_sample + plan.sample_spacing * np.arange(plan.samples)
    noise_values = None
    if noise is not None:
        noise_values = noise_power(noise, times, _swath_lines(plan, pieces), samples)
    if vectors is None:
        return calibrate(image, np.ones((1, 1)), noise_values)
    return calibrate(image, calibration_lut(vectors, calibration, times, samples), noise_values)


def _write(path: str, bands, gcps, report, despeckled: bool, amplitude: bool = False) -> None:
    height, width = bands[0].shape
    what = report.calibration if report.calibration != "none" else "intensity (DN^2)"
    if amplitude:
        what = "amplitude" if report.calibration == "none" else f"amplitude ({what})"
    stage = "despeckled" if despeckled else "decorrelated"
    metadata = dict(report.metadata)  # the despeckler's provenance (S2V_MODEL, S2V_LOOKS, ...)
    metadata["S2V_DOMAIN"] = "amplitude" if amplitude else "intensity"
    if not despeckled:  # white single-look speckle, for the input description of later steps
        metadata["S2V_DECORRELATION_DECORRELATED"] = "YES"
    metadata |= {
        "S2V_SENTINEL1_PRODUCT": report.product,
        "S2V_SENTINEL1_SWATH": report.swath,
        "S2V_SENTINEL1_POLARISATIONS": ",".join(report.polarisations),
        "S2V_SENTINEL1_BURSTS": _burst_text(report.bursts),
        "S2V_SENTINEL1_CALIBRATION": report.calibration,
        "S2V_SENTINEL1_NOISE_REMOVAL": "YES" if report.noise_removal else "NO",
        "S2V_SENTINEL1_PIXEL_FACTOR_AZIMUTH": f"{report.pixel_factors[0]:.6f}",
        "S2V_SENTINEL1_PIXEL_FACTOR_RANGE": f"{report.pixel_factors[1]:.6f}",
    }
    georeferencing = Georeferencing(gcps=gcps, gcp_crs_wkt=WGS84_WKT if gcps else "")
    with RasterWriter(
        path,
        width=width,
        height=height,
        bands=len(bands),
        dtype=np.float32,
        georeferencing=georeferencing,
        nodata=float("nan"),
        metadata=metadata,
        band_descriptions=[f"{pol} {stage} {what}, linear" for pol in report.polarisations],
    ) as writer:
        for index, band in enumerate(bands):
            writer.write(band, 0, 0, band=index + 1)


def decorrelate_sentinel1(
    input_path: str,
    output_path: str,
    output_format: str = "intensity",
    progress: Callable[[float], None] | None = None,
    is_cancelled: Callable[[], bool] | None = None,
    log: Callable[[str], None] | None = None,
) -> Sentinel1Report:
    """Deramp, decorrelate and deburst one swath of a SAFE product (all bursts, every
    polarisation as a band), without despeckling: what "Decorrelate speckle" does with a SAFE
    input.

    Parameters
    ----------
    input_path : str
        SAFE folder, manifest.safe, .zip, or a ``SENTINEL1_CALIB:...:IW1_VV:...`` subdataset
        name (that swath and polarisation; otherwise the first swath, all polarisations).
    output_format : {"intensity", "amplitude"}
        Debursted complex output is not offered (it would need reramping every burst on a
        common grid).
    """
    from .io.sentinel1_safe import split_subdataset

    if output_format not in ("intensity", "amplitude"):
        raise InputError(
            "A SAFE product is decorrelated burst by burst and debursted into an intensity or "
            "amplitude image: choose OUTPUT_FORMAT intensity or amplitude (or give a "
            "measurement TIFF with ANNOTATION for a complex output)."
        )
    path, swath, pol = split_subdataset(str(input_path))
    report = despeckle_sentinel1(
        path,
        output_path,
        swath=swath,
        polarisations=[pol] if pol else None,
        despeckle=False,
        progress=progress,
        is_cancelled=is_cancelled,
        log=log,
        amplitude=output_format == "amplitude",
    )
    return report


def decorrelate_measurement(
    input_path: str,
    output_path: str,
    annotation: str | None = None,
    first_line: int = 0,
    first_sample: int = 0,
    **kwargs,
):
    """:func:`..decorrelate.decorrelate_raster` of a raster that may be a Sentinel-1 TOPS
    measurement or crop: deramped with ``annotation`` (or the one beside a SAFE's TIFF) at the
    crop's offsets; other rasters are decorrelated as they are. ``kwargs`` go to
    ``decorrelate_raster``."""
    from .decorrelate import decorrelate_raster
    from .io.sentinel1_safe import tops_for_raster

    tops = tops_for_raster(input_path, annotation, first_line, first_sample)
    return decorrelate_raster(input_path, output_path, tops=tops, **kwargs)
