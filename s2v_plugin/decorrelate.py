"""Blind speckle decorrelation of single-look complex (SLC) images.

Following Lapini et al. ("Blind speckle decorrelation for SAR image despeckling", IEEE TGRS
2014), the SLC spectrum is whitened separately along azimuth (rows) and range (columns):

1. **Estimate** (:mod:`.core.spectrum`): blocks spread over the image are read (so huge rasters
   are sampled, not loaded), point targets in them are replaced by background noise
   (:mod:`.core.point_targets`), and the averaged periodograms of their lines give, per axis, the
   centroid, the occupied band fraction and the generalized Hamming weighting.
2. **Refuse TOPS** (:mod:`.core.tops`): a Doppler centroid that sweeps along azimuth cannot be
   whitened without deramping first.
3. **Filter** (:mod:`.core.whitening`): one FFT per line along range, then one per line along
   azimuth, each divided by the estimated weighting, rolled off smoothly at the band edges
   (:data:`.core.whitening.EDGE_ROLLOFF`: a sharp edge's sinc sidelobes carry bright land far
   into dark sea), zeroed out of band and, optionally, cropped to the occupied band
   (oversampling removed). The filters act on whole lines, so the raster path
   streams row strips, then column strips through a scratch file beside the output, and its result
   does not depend on the strip size; peak memory is bounded by :data:`MEMORY_BUDGET` (at least one
   line of each axis).
4. **Scale** by one factor that makes the mean intensity of the filtered image equal the
   input's, and **restore** the original values of the point targets and the nodata pixels.

The mean intensity of what is filtered (point targets replaced, nodata left out) is preserved
exactly, measured over the whole image: each filter is also scaled for the sampled spectrum, but
that prediction missed by up to 5 % where lines are longer than the estimation blocks, whose
short periodograms smear steep band edges, so the raster path filters the columns back into the
scratch file, tallying their power, before it scales and writes them.
With oversampling removed the output pixels are larger by the oversampling factor, output
sample ``j`` lies on input sample ``j * factor`` (georeferencing rescaled accordingly), the
complex output is at base band (the Doppler centroid phase ramp is removed), and point targets
are put back by nearest-neighbour resampling of their original values (exactly in place when
oversampling is kept).
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .core import whitening
from .core.clean import CleanTargets, PointResponse, find_targets, restore
from .core.errors import InputError, OutputError
from .core.point_targets import RING_OUTER, TargetDetector, TargetStore
from .core.spectrum import (
    MIN_LINE_LENGTH,
    MIN_LINES,
    AxisEstimate,
    PeriodogramAccumulator,
    circular_centroid,
    fit_axis,
)
from .core.tops import SweepCheck, azimuth_sweep, tops_mode_from_metadata
from .core.tops_deramp import SwathRamp, deramped_azimuth_estimate
from .core.whitening import AxisFilter, apply_axis_filter, design_axis_filter
from .tiled_run import Callbacks, all_or_nothing

LOG = logging.getLogger(__name__)

#: Default of ``remove_oversampling``: only a cropped spectrum gives white speckle.
DEFAULT_REMOVE_OVERSAMPLING = True
#: Deprecated global point-target factor over the median intensity, used when the PFA is 0.
DEFAULT_POINT_TARGET_FACTOR = 50.0
#: Default false-alarm probability of the local point-target rule (0 disables it). Lower than
#: the despeckler's: a target is put back unwhitened, and on the real UAVSAR samples 1e-6 kept
#: 0.9 % of the pixels and raised the range lag-1 correlation to 0.10, 1e-8 keeps 0.4 % (as
#: many as the old global rule) at 0.025-0.038 (notes/issue9.md).
DEFAULT_POINT_TARGET_PFA = 1e-8
#: Default point-target handling: CLEAN (subtract each target's whole point response before
#: whitening, restore it unwhitened) rather than replacing its brightest pixels by noise (issue 9
#: item 4, ``bench/bench_coast.py``). Off: with the band-edge roll-off
#: (:data:`.core.whitening.EDGE_ROLLOFF`) the coast meets its floor without it (1.25x, 1.15x
#: with it), and on the real UAVSAR samples it raised the decorrelated range lag-1 intensity
#: correlation (0.12 -> 0.16, 0.20 -> 0.28) and the ratio lag-1 in azimuth (0.11 -> 0.12).
DEFAULT_CLEAN = False
#: Output pixel types.
OUTPUT_FORMATS = ("complex", "intensity", "amplitude")
#: Working-memory budget (bytes) of the strip-wise filtering.
MEMORY_BUDGET = 128 * 1024 * 1024
#: Bytes of working memory per complex sample of a strip (input, FFT, output, temporaries).
_BYTES_PER_SAMPLE = 40
#: Size (samples) of the blocks sampled for estimation, and their number per axis.
ESTIMATION_BLOCK = 256
MAX_BLOCKS_PER_AXIS = 8
#: Tile width of the output GeoTIFF (see :mod:`.io.raster_writer`).
OUTPUT_TILE = 256
#: Largest blind azimuth centroid (cycles/sample) accepted after deramping.
MAX_DERAMPED_CENTROID = 0.05
#: Metadata keys written to the output (prefix).
METADATA_PREFIX = "S2V_DECORRELATION_"

ProgressFn = Callable[[float], None]
CancelFn = Callable[[], bool]


@dataclass(frozen=True)
class DecorrelationReport:
    """What the decorrelation estimated and did.

    Attributes
    ----------
    azimuth, range_ : AxisEstimate
        Spectral parameters along rows (azimuth) and columns (range).
    point_targets : int
        Number of pixels treated as point targets (with CLEAN: number of targets fitted).
    point_target_threshold : float or None
        Intensity threshold of the deprecated global rule (None: not used).
    oversampling_removed : bool
        Whether the spectrum was cropped to the occupied band.
    input_size, output_size : tuple of int
        (rows, columns) before and after.
    invalid_pixels : int
        Nodata or non-finite input pixels (kept as nodata).
    sweep : SweepCheck
        The TOPS (azimuth centroid sweep) evidence.
    """

    azimuth: AxisEstimate
    range_: AxisEstimate
    point_targets: int
    point_target_threshold: float | None
    oversampling_removed: bool
    input_size: tuple[int, int]
    output_size: tuple[int, int]
    invalid_pixels: int = 0
    sweep: SweepCheck = SweepCheck(0.0, 0.0, 0.0)
    point_target_pfa: float = 0.0
    clean: bool = False
    edge_rolloff: float = 0.0

    def _rule(self) -> str:
        if self.point_target_pfa > 0:
            return f"local rule, false-alarm probability {self.point_target_pfa:g}"
        if self.point_target_threshold is None:
            return "disabled"
        return f"intensity > {self.point_target_threshold:.4g}"

    @property
    def pixel_factors(self) -> tuple[float, float]:
        """Output pixel size in input pixels, (azimuth, range)."""
        return (
            self.input_size[0] / self.output_size[0],
            self.input_size[1] / self.output_size[1],
        )

    def metadata(self) -> dict[str, str]:
        """Output metadata items describing the estimates (all values are strings)."""
        items = {"DECORRELATED": "YES", "METHOD": "blind spectral whitening (Lapini 2014)"}
        for name, est in (("AZIMUTH", self.azimuth), ("RANGE", self.range_)):
            items[f"{name}_CENTROID"] = f"{est.centroid:.5f}"
            items[f"{name}_BAND_FRACTION"] = f"{est.band_fraction:.5f}"
            items[f"{name}_WINDOW"] = f"{est.window:.4f}"
            items[f"{name}_LAG1_BEFORE"] = f"{est.lag1:.4f}"
        items["EDGE_ROLLOFF"] = f"{self.edge_rolloff:g}"
        items["POINT_TARGETS"] = str(self.point_targets)
        items["POINT_TARGET_THRESHOLD"] = (
            "disabled"
            if self.point_target_threshold is None
            else f"{self.point_target_threshold:.6g}"
        )
        items["POINT_TARGET_PFA"] = f"{self.point_target_pfa:g}"
        items["POINT_TARGET_HANDLING"] = "CLEAN" if self.clean else "NOISE_REPLACEMENT"
        items["OVERSAMPLING_REMOVED"] = "YES" if self.oversampling_removed else "NO"
        items["PIXEL_FACTOR_AZIMUTH"] = f"{self.pixel_factors[0]:.6f}"
        items["PIXEL_FACTOR_RANGE"] = f"{self.pixel_factors[1]:.6f}"
        items["INVALID_PIXELS"] = str(self.invalid_pixels)
        return {METADATA_PREFIX + key: value for key, value in items.items()}

    def summary(self) -> str:
        """Human-readable multi-line summary for logs."""
        lines = []
        for name, est in (("Azimuth", self.azimuth), ("Range", self.range_)):
            lines.append(
                f"{name}: centroid {est.centroid:+.4f} cycles/sample, band fraction "
                f"{est.band_fraction:.3f} (oversampling x{1 / est.band_fraction:.3f}), "
                f"generalized Hamming {est.window:.3f}, lag-1 correlation before {est.lag1:.3f}"
            )
        what = (
            "target(s) cleaned (whole point response kept unwhitened)"
            if self.clean
            else "pixel(s) replaced and restored"
        )
        lines.append(f"Point targets: {self.point_targets} {what} ({self._rule()})")
        lines.append(
            f"Oversampling removed: {'yes' if self.oversampling_removed else 'no'}; "
            f"{self.input_size[0]} x {self.input_size[1]} -> "
            f"{self.output_size[0]} x {self.output_size[1]} (rows x columns)"
        )
        if self.invalid_pixels:
            lines.append(f"Nodata / non-finite pixels kept as nodata: {self.invalid_pixels}")
        return "\n".join(lines)


@dataclass(frozen=True)
class _Plan:
    azimuth: AxisEstimate
    range_: AxisEstimate
    detector: TargetDetector
    sweep: SweepCheck
    az_filter: AxisFilter
    rg_filter: AxisFilter
    blind_azimuth: AxisEstimate | None = None
    response: PointResponse | None = None  # CLEAN's point response; None: noise replacement


# --------------------------------------------------------------------------- estimation


def estimation_windows(height: int, width: int) -> list[tuple[int, int, int, int]]:
    """Blocks (row, col, rows, cols) spread over the image for spectrum estimation.

    Up to :data:`MAX_BLOCKS_PER_AXIS` x :data:`MAX_BLOCKS_PER_AXIS` blocks of
    :data:`ESTIMATION_BLOCK` samples (less for small images), evenly spaced, overlapping by at
    most half a block.
    """

    def starts(size: int) -> tuple[int, list[int]]:
        length = min(ESTIMATION_BLOCK, size)
        count = min(MAX_BLOCKS_PER_AXIS, max(1, -(-2 * size // length) - 1))
        return length, sorted({int(round(v)) for v in np.linspace(0, size - length, count)})

    rows, row_starts = starts(height)
    cols, col_starts = starts(width)
    return [(r, c, rows, cols) for r in row_starts for c in col_starts]


def _accumulate(blocks: list, axis: int) -> PeriodogramAccumulator:
    """Average periodogram of the blocks along ``axis``: lines of the full block length, or
    shorter segments (down to :data:`MIN_LINE_LENGTH`) when nodata leaves too few complete
    lines."""
    length = blocks[0].shape[axis]
    while True:
        accumulator = PeriodogramAccumulator(axis, length)
        for block in blocks:
            accumulator.add(block)
        if accumulator.lines >= MIN_LINES or length // 2 < MIN_LINE_LENGTH:
            return accumulator
        length //= 2


def _check_size(height: int, width: int) -> None:
    if height < MIN_LINE_LENGTH or width < MIN_LINE_LENGTH:
        raise InputError(
            f"The image is too small to estimate its spectrum ({width} x {height} pixels): "
            f"it needs at least {MIN_LINE_LENGTH} pixels along both range and azimuth."
        )


@dataclass(frozen=True)
class _Settings:
    """The decorrelation options shared by both entry points (see :func:`decorrelate_array`)."""

    remove_oversampling: bool
    point_target_factor: float
    point_target_pfa: float
    tops: SwathRamp | None
    clean: bool

    def check(self) -> None:
        if self.point_target_factor < 0 or not np.isfinite(self.point_target_factor):
            raise InputError(
                f"The point-target factor must be 0 (off) or a positive number, "
                f"not {self.point_target_factor}."
            )
        if not (np.isfinite(self.point_target_pfa) and 0 <= self.point_target_pfa < 1):
            raise InputError(
                f"The point-target false-alarm probability must be in [0, 1), 0 to disable the "
                f"local rule, not {self.point_target_pfa}."
            )


def _estimate(
    read: Callable[[int, int, int, int], np.ndarray], height: int, width: int, settings: _Settings
) -> _Plan:
    _check_size(height, width)
    settings.check()
    blocks = [read(*window) for window in estimation_windows(height, width)]
    finite = [np.isfinite(b) for b in blocks]
    if not any(f.any() for f in finite):
        raise InputError(
            "The image holds only nodata (or NaN) pixels where it was sampled: nothing to "
            "decorrelate. Check the band and the nodata value."
        )
    intensity = np.concatenate([np.abs(b[f]) ** 2 for b, f in zip(blocks, finite)])
    if not np.any(intensity > 0):
        raise InputError(
            "The image is all zero where it was sampled: it holds no signal to decorrelate. "
            "Check that the right band (BAND) was chosen."
        )
    detector = TargetDetector.from_sample(
        intensity, settings.point_target_factor, settings.point_target_pfa
    )
    cleaned = []
    for (row, _, _, _), block in zip(estimation_windows(height, width), blocks):
        mask = detector.mask(block)
        cleaned.append(detector.replace(block, row, mask) if mask.any() else block)
    estimates, power_profiles = [], []
    for axis, name in ((0, "azimuth"), (1, "range")):
        accumulator = _accumulate(cleaned, axis)
        if accumulator.lines < MIN_LINES:
            raise InputError(
                f"Too few complete {name} lines without nodata ({accumulator.lines}) to estimate "
                f"the {name} spectrum: at least {MIN_LINES} runs of {MIN_LINE_LENGTH} valid "
                "pixels are needed along each axis. Clip the image to its valid area."
            )
        estimates.append(fit_axis(accumulator.profile()))
        power_profiles.append(accumulator.power_profile())
    azimuth, range_ = estimates
    blind_azimuth, tops = None, settings.tops
    if tops is not None:  # deramped TOPS: the band is the product's (see deramped_azimuth_estimate)
        blind_azimuth, azimuth = azimuth, deramped_azimuth_estimate(azimuth, tops.annotation)
    sweep = azimuth_sweep(cleaned)
    remove = settings.remove_oversampling
    return _Plan(
        azimuth=azimuth,
        range_=range_,
        detector=detector,
        sweep=sweep,
        az_filter=design_axis_filter(azimuth, height, remove, power_profiles[0]),
        rg_filter=design_axis_filter(range_, width, remove, power_profiles[1]),
        blind_azimuth=blind_azimuth,
        response=(
            PointResponse.from_estimates(azimuth, range_, height, width)
            if settings.clean and (detector.pfa > 0 or detector.threshold is not None)
            else None
        ),
    )


def _refuse_tops(plan: _Plan, metadata: dict | None = None, tops: SwathRamp | None = None) -> None:
    sweep = plan.sweep
    mode = tops_mode_from_metadata(metadata or {})
    if tops is not None:
        _check_deramped(plan, tops)
        return
    if sweep.is_tops:
        named = f" (the metadata name the {mode} TOPS mode)" if mode else ""
        raise InputError(
            "This looks like TOPS data (Sentinel-1 IW/EW burst)"
            f"{named}: its azimuth Doppler centroid sweeps across the band "
            f"(local lag-1 azimuth correlation {sweep.local_coherence:.2f}, but only "
            f"{sweep.global_coherence:.2f} over a block; sweep about {abs(sweep.sweep_rate):.4f} "
            "cycles/sample per line), so its speckle cannot be whitened without deramping. "
            "Give the SAFE product (folder, .zip or manifest.safe) as input, or run "
            "'Despeckle Sentinel-1 SLC' (speckle2void:sentinel1); for a measurement TIFF or a "
            "crop of it, set ANNOTATION to the swath's annotation XML and, for a crop, its "
            "offsets in the swath FIRST_LINE and FIRST_SAMPLE."
        )
    if mode:
        LOG.info(
            "The metadata name the %s TOPS mode but the azimuth centroid does not sweep: "
            "assuming the data were deramped.",
            mode,
        )


def _check_deramped(plan: _Plan, tops: SwathRamp) -> None:
    """Refuse deramped data that still sweep, or whose centroid is far from 0 (wrong offsets)."""
    blind = plan.blind_azimuth
    annotation = tops.annotation
    offsets = f"FIRST_LINE {tops.first_line}, FIRST_SAMPLE {tops.first_sample}"
    # the circular centroid (phase of the lag-1 correlation) is robust to the band-edge bumps
    # that can pull the model fit's centroid off in dark areas
    centroid = circular_centroid(blind.profile_array()) if blind is not None else 0.0
    if plan.sweep.is_tops or abs(centroid) > MAX_DERAMPED_CENTROID:
        raise InputError(
            f"After deramping with '{Path(annotation.path).name}' ({offsets}) the azimuth "
            f"spectrum is not at base band (centroid {centroid:+.3f} cycles/sample, local lag-1 "
            f"{plan.sweep.local_coherence:.2f} vs {plan.sweep.global_coherence:.2f} over a "
            "block): the offsets or the annotation do not match this raster. For a crop, set "
            "FIRST_LINE and FIRST_SAMPLE to the swath line and sample of its first pixel (the "
            "shared sample crop starts at line 9800, sample 11000), and use the annotation XML "
            "of the same swath and polarisation."
        )


# --------------------------------------------------------------------------- filtering


@dataclass
class _PowerTally:
    """Mean power going into the range pass and coming out of the azimuth pass, for an exact
    mean-intensity correction of the whole filter chain.

    The input is what is filtered (point targets replaced or cleaned), the output is taken
    before the targets go back; both leave nodata out. Sums over strips, so the correction does
    not depend on how the image is cut.
    """

    power_in: float = 0.0
    count_in: int = 0
    power_out: float = 0.0
    count_out: int = 0
    invalid: int = 0

    def correction(self) -> float:
        """Amplitude factor that makes the filtered mean intensity equal the input's."""
        if self.power_out <= 0 or self.count_in == 0 or self.count_out == 0:
            return 1.0
        return float(np.sqrt((self.power_in / self.count_in) / (self.power_out / self.count_out)))


def _range_pass(
    strip: np.ndarray,
    first_row: int,
    plan: _Plan,
    targets: TargetStore,
    tally: _PowerTally,
    above: np.ndarray | None = None,
    below: np.ndarray | None = None,
    clean: CleanTargets | None = None,
) -> np.ndarray:
    """Range-filter complete rows; returns the filtered rows (NaN where nodata).

    ``above`` and ``below``: the image rows around the strip, for the local point-target rule.
    ``clean``: the image's CLEAN targets, whose model responses are subtracted instead.
    """
    invalid = ~np.isfinite(strip)
    work = strip
    if clean is not None:
        if len(clean):
            rows, cols = strip.shape
            model = clean.model(plan.response, first_row, rows, 0, cols)
            work = (strip - model).astype(np.complex64)
    else:
        mask = plan.detector.mask(strip, above, below) & ~invalid
        if mask.any():
            targets.add(mask, strip, first_row)
            work = plan.detector.replace(strip, first_row, mask)
    n_invalid = int(invalid.sum())
    if n_invalid:
        work = np.where(invalid, np.complex64(0), work)
    out = apply_axis_filter(work, plan.rg_filter, axis=1)
    if n_invalid:
        positions = plan.rg_filter.input_positions(np.arange(plan.rg_filter.output_length))
        out[invalid[:, positions]] = np.complex64(complex(np.nan, np.nan))
    tally.invalid += n_invalid
    tally.power_in += float(np.sum(np.abs(work.astype(np.complex128)) ** 2))
    tally.count_in += int(strip.size - n_invalid)
    return out


def _azimuth_pass(strip: np.ndarray, plan: _Plan, tally: _PowerTally) -> np.ndarray:
    """Azimuth-filter complete range-filtered columns (NaN where nodata) and tally their output
    power; the mean-intensity correction and the targets come after (:func:`_finish`)."""
    invalid = np.isnan(strip)
    any_invalid = bool(invalid.any())
    work = np.where(invalid, np.complex64(0), strip) if any_invalid else strip
    out = apply_axis_filter(work, plan.az_filter, axis=0)
    if any_invalid:
        positions = plan.az_filter.input_positions(np.arange(plan.az_filter.output_length))
        out[invalid[positions, :]] = np.complex64(complex(np.nan, np.nan))
    tally.power_out += float(np.nansum(np.abs(out.astype(np.complex128)) ** 2))
    tally.count_out += int(np.count_nonzero(~np.isnan(out)))
    return out


def _finish(
    strip: np.ndarray,
    first_col: int,
    plan: _Plan,
    targets: tuple[np.ndarray, np.ndarray, np.ndarray],
    correction: float,
    clean: CleanTargets | None = None,
) -> np.ndarray:
    """Filtered output columns from ``first_col`` scaled by ``correction``, with the targets
    put back (original values, or with ``clean`` their unwhitened model responses)."""
    out = strip * np.float32(correction)
    if clean is not None:
        restore(out, clean, plan.response, plan.az_filter, plan.rg_filter, first_col)
    rows, cols, values = targets
    if rows.size:
        inside = (cols >= first_col) & (cols < first_col + out.shape[1])
        out[rows[inside], cols[inside] - first_col] = values[inside]
    return out


def _clean_targets(
    plan: _Plan, read: Callable, height: int, width: int, strip_rows: int
) -> CleanTargets | None:
    """The image's point targets fitted for CLEAN (None when CLEAN is off): one pass over
    row strips, each read with the rows its ring and fit window reach."""
    if plan.response is None:
        return None
    margin = max(RING_OUTER, 2)
    parts = []
    for row in range(0, height, strip_rows):
        rows = min(strip_rows, height - row)
        top, bottom = max(0, row - margin), min(height, row + rows + margin)
        stack = read(top, 0, bottom - top, width)
        start = row - top
        mask = plan.detector.mask(
            stack[start : start + rows],
            stack[:start] if start else None,
            stack[start + rows :] if bottom > row + rows else None,
        )
        full = np.zeros(stack.shape, bool)
        full[start : start + rows] = mask & np.isfinite(stack[start : start + rows])
        parts.append(find_targets(stack, full, start, rows, top, plan.response))
    return CleanTargets.concatenate(parts)


def _output_targets(plan: _Plan, store: TargetStore):
    """Output positions and values of the targets put back: an output pixel gets a target's
    original value (demodulated like the cropped spectrum) when its nearest input pixel is
    that target (nearest-neighbour resampling; exact when oversampling is kept)."""
    rows, cols, values = store.arrays()
    out_rows = plan.az_filter.output_positions(rows)
    out_cols = plan.rg_filter.output_positions(cols)
    keep = (plan.az_filter.input_positions(out_rows) == rows) & (
        plan.rg_filter.input_positions(out_cols) == cols
    )
    rows, cols, values = rows[keep], cols[keep], values[keep]
    # a cropped spectrum is moved to base band: apply the same demodulation to the targets
    phase = plan.az_filter.demodulation(rows) * plan.rg_filter.demodulation(cols)
    return out_rows[keep], out_cols[keep], (values * phase).astype(np.complex64)


def _convert(data: np.ndarray, output_format: str) -> np.ndarray:
    if output_format == "complex":
        return data.astype(np.complex64, copy=False)
    amplitude = np.abs(data)
    if output_format == "amplitude":
        return amplitude.astype(np.float32, copy=False)
    return (amplitude.astype(np.float32) ** 2).astype(np.float32, copy=False)


def _report(plan: _Plan, store_count: int, invalid: int, remove: bool, height: int, width: int):
    return DecorrelationReport(
        azimuth=plan.azimuth,
        range_=plan.range_,
        point_targets=store_count,
        point_target_threshold=plan.detector.threshold,
        oversampling_removed=remove,
        input_size=(height, width),
        output_size=(plan.az_filter.output_length, plan.rg_filter.output_length),
        invalid_pixels=invalid,
        sweep=plan.sweep,
        point_target_pfa=plan.detector.pfa,
        clean=plan.response is not None,
        edge_rolloff=whitening.EDGE_ROLLOFF,
    )


def decorrelate_array(
    slc: np.ndarray,
    remove_oversampling: bool = DEFAULT_REMOVE_OVERSAMPLING,
    point_target_factor: float = DEFAULT_POINT_TARGET_FACTOR,
    point_target_pfa: float = DEFAULT_POINT_TARGET_PFA,
    tops: SwathRamp | None = None,
    reramp: bool = True,
    clean: bool = DEFAULT_CLEAN,
) -> tuple[np.ndarray, DecorrelationReport]:
    """Whiten the speckle of an in-memory SLC.

    Parameters
    ----------
    slc : numpy.ndarray
        2-D complex array, rows = azimuth, columns = range; NaN marks invalid pixels.
    remove_oversampling : bool
        Crop each axis's spectrum to its occupied band (fewer, larger output pixels, white
        speckle); otherwise the output keeps the input size and is flat only inside the band.
    point_target_factor : float
        Deprecated, used only when ``point_target_pfa`` is 0: pixels brighter than this factor
        times the median intensity are point targets; 0 disables.
    point_target_pfa : float
        False-alarm probability of the local rule: a pixel whose intensity single-look speckle
        around its ring median would reach with a smaller probability is a point target,
        excluded from estimation and filtering and restored afterwards; 0 disables the rule.
    tops : SwathRamp, optional
        For TOPS data: where the array lies in its swath. It is deramped (and its invalid
        samples set to NaN) before estimation, and its azimuth band is the product's.
    reramp : bool
        With ``tops``: reramp the output on the output grid (off: return it deramped, which is
        enough for intensity).
    clean : bool
        Take each point target's whole point response out before whitening and put it back
        unwhitened (:mod:`.core.clean`); off: replace the target pixels by background noise
        and put their original values back.

    Returns
    -------
    tuple of (numpy.ndarray, DecorrelationReport)
        The complex64 whitened SLC (NaN where the input was invalid) and the report.

    Raises
    ------
    InputError
        Real or non-2-D input, too small, all zero or all invalid, too few complete lines, or
        TOPS data (deramp first).
    """
    array = np.asarray(slc)
    if array.ndim != 2:
        raise InputError(f"The SLC must be a 2-D array, not {array.ndim}-D.")
    if not np.iscomplexobj(array):
        raise InputError(
            "The SLC must be complex (single-look complex); combine I and Q as I + 1j * Q."
        )
    array = array.astype(np.complex64, copy=False)
    bad = ~np.isfinite(array)
    if bad.any():
        array = np.where(bad, np.complex64(complex(np.nan, np.nan)), array)
    height, width = array.shape
    if tops is not None:
        _check_crop(tops, height, width)
        array = _deramped(array, tops, 0, 0)

    def read(row: int, col: int, rows: int, cols: int) -> np.ndarray:
        return array[row : row + rows, col : col + cols]

    settings = _Settings(remove_oversampling, point_target_factor, point_target_pfa, tops, clean)
    plan = _estimate(read, height, width, settings)
    _refuse_tops(plan, tops=tops)
    store = TargetStore.empty()
    tally = _PowerTally()
    targets = _clean_targets(plan, read, height, width, height)
    ranged = _range_pass(array, 0, plan, store, tally, clean=targets)
    filtered = _azimuth_pass(ranged, plan, tally)
    out = _finish(filtered, 0, plan, _output_targets(plan, store), tally.correction(), targets)
    if tops is not None and reramp:
        out = _reramped(out, tops, plan, 0)
    count = len(targets) if targets is not None else len(store)
    report = _report(plan, count, tally.invalid, remove_oversampling, height, width)
    LOG.info("Decorrelation:\n%s", report.summary())
    return out, report


# --------------------------------------------------------------------------- TOPS


def _check_crop(tops: SwathRamp, height: int, width: int) -> None:
    annotation = tops.annotation
    end_line, end_sample = tops.first_line + height, tops.first_sample + width
    if end_line > annotation.number_of_lines or end_sample > annotation.number_of_samples:
        raise InputError(
            f"The raster ({width} x {height} pixels at FIRST_LINE {tops.first_line}, "
            f"FIRST_SAMPLE {tops.first_sample}) extends past the swath of "
            f"'{Path(annotation.path).name}' ({annotation.number_of_samples} x "
            f"{annotation.number_of_lines}): check the offsets and the annotation."
        )
    is_crop = (height, width) != (annotation.number_of_lines, annotation.number_of_samples)
    if is_crop and tops.first_line == 0 and tops.first_sample == 0:
        LOG.info(
            "The raster is a %d x %d crop of the %d x %d swath with offsets 0, 0: if it was "
            "cut elsewhere, set FIRST_LINE and FIRST_SAMPLE.",
            width, height, annotation.number_of_samples, annotation.number_of_lines,
        )  # fmt: skip


def _deramped(data: np.ndarray, tops: SwathRamp, row: int, col: int) -> np.ndarray:
    """A raster window deramped, NaN where the annotation marks samples invalid."""
    invalid = tops.invalid_mask(row, col, *data.shape)
    if invalid.any():
        data = np.where(invalid, np.complex64(complex(np.nan, np.nan)), data)
    return tops.apply(data, row, col, sign=-1)


def _tops_metadata(plan: _Plan, tops: SwathRamp) -> dict[str, str]:
    items = {
        "TOPS_DERAMPED": "YES",
        "TOPS_ANNOTATION": Path(tops.annotation.path).name,
        "TOPS_FIRST_LINE": str(tops.first_line),
        "TOPS_FIRST_SAMPLE": str(tops.first_sample),
    }
    if plan.blind_azimuth is not None:
        items["TOPS_BLIND_AZIMUTH_CENTROID"] = f"{plan.blind_azimuth.centroid:.5f}"
        items["TOPS_BLIND_AZIMUTH_BAND_FRACTION"] = f"{plan.blind_azimuth.band_fraction:.5f}"
        items["TOPS_BLIND_AZIMUTH_WINDOW"] = f"{plan.blind_azimuth.window:.4f}"
    return {METADATA_PREFIX + key: value for key, value in items.items()}


def _reramped(data: np.ndarray, tops: SwathRamp, plan: _Plan, first_col: int) -> np.ndarray:
    """Output columns from ``first_col`` (all rows) reramped on the output grid."""
    steps = (plan.az_filter.pixel_factor, plan.rg_filter.pixel_factor)
    return tops.apply(data, 0.0, first_col * steps[1], sign=+1, step=steps)


# --------------------------------------------------------------------------- raster


class _Scratch:
    """Intermediate image: range-filtered rows written in row strips, read in column strips,
    overwritten by their azimuth-filtered columns (as many rows as the output) and read again.

    Stored in memory when small, otherwise in a raw file beside the output laid out in column
    tiles, so that each column strip is one contiguous read or write; the file is always deleted.
    """

    def __init__(self, folder: Path, height: int, width: int, tile: int, in_memory: bool):
        self.height, self.width, self.tile = height, width, tile
        self.path = None
        self._array = None
        self._file = None
        if in_memory:
            self._array = np.empty((height, width), dtype=np.complex64)
            return
        self.path = folder / f".s2v_decorrelate.{uuid.uuid4().hex[:8]}.scratch"
        try:
            self._file = open(self.path, "w+b")  # noqa: SIM115 - closed in close()
        except OSError as exc:
            raise OutputError(f"Cannot create a scratch file in '{folder}': {exc}") from exc

    def _offset(self, tile_index: int, row: int) -> int:
        return (tile_index * self.height * self.tile + row * self.tile) * 8

    def write_rows(self, row: int, data: np.ndarray) -> None:
        if self._array is not None:
            self._array[row : row + data.shape[0]] = data
            return
        for index, start in enumerate(range(0, self.width, self.tile)):
            chunk = np.zeros((data.shape[0], self.tile), dtype=np.complex64)
            part = data[:, start : start + self.tile]
            chunk[:, : part.shape[1]] = part
            try:
                self._file.seek(self._offset(index, row))
                self._file.write(chunk.tobytes())
            except OSError as exc:
                raise OutputError(f"Cannot write the scratch file '{self.path}': {exc}") from exc

    def read_columns(self, col: int, rows: int | None = None) -> np.ndarray:
        """The column strip from ``col`` (one tile), its first ``rows`` rows (default all)."""
        rows = self.height if rows is None else rows
        cols = min(self.tile, self.width - col)
        if self._array is not None:
            return self._array[:rows, col : col + cols]
        self._file.flush()
        self._file.seek(self._offset(col // self.tile, 0))
        data = np.fromfile(self._file, dtype=np.complex64, count=rows * self.tile)
        return data.reshape(rows, self.tile)[:, :cols]

    def write_columns(self, col: int, data: np.ndarray) -> None:
        """Overwrite the first ``data.shape[0]`` rows of the column strip from ``col``."""
        if self._array is not None:
            self._array[: data.shape[0], col : col + data.shape[1]] = data
            return
        chunk = np.zeros((data.shape[0], self.tile), dtype=np.complex64)
        chunk[:, : data.shape[1]] = data
        try:
            self._file.seek(self._offset(col // self.tile, 0))
            self._file.write(chunk.tobytes())
        except OSError as exc:
            raise OutputError(f"Cannot write the scratch file '{self.path}': {exc}") from exc

    def close(self) -> None:
        self._array = None
        if self._file is not None:
            self._file.close()
            self._file = None
        if self.path is not None and self.path.exists():
            os.remove(self.path)


def _strip_sizes(
    height: int, width: int, out_width: int, block_size: int | None, input_block_rows: int = 1
) -> tuple[int, int]:
    """Rows per range strip and columns per azimuth strip.

    By default from :data:`MEMORY_BUDGET`, rounded to whole input blocks (rows) and whole output
    tiles (columns) when the budget allows, so that no compressed block is decoded or encoded
    twice.
    """
    if block_size is not None:
        if block_size < 1:
            raise InputError(
                f"The block size must be a positive number of lines, not {block_size}."
            )
        return min(block_size, height), min(block_size, out_width)
    rows = max(1, MEMORY_BUDGET // (_BYTES_PER_SAMPLE * width))
    if rows >= input_block_rows > 1:
        rows = rows // input_block_rows * input_block_rows
    cols = max(1, MEMORY_BUDGET // (_BYTES_PER_SAMPLE * height))
    if cols >= OUTPUT_TILE:
        cols = cols // OUTPUT_TILE * OUTPUT_TILE
    return min(rows, height), min(cols, out_width)


def decorrelate_raster(
    input_path: str,
    output_path: str,
    band: int = 1,
    imag_band: int | None = None,
    output_format: str = "complex",
    point_target_factor: float = DEFAULT_POINT_TARGET_FACTOR,
    remove_oversampling: bool = DEFAULT_REMOVE_OVERSAMPLING,
    block_size: int | None = None,
    progress: ProgressFn | None = None,
    is_cancelled: CancelFn | None = None,
    point_target_pfa: float = DEFAULT_POINT_TARGET_PFA,
    tops: SwathRamp | None = None,
    clean: bool = DEFAULT_CLEAN,
) -> DecorrelationReport:
    """Whiten the speckle of an SLC raster, streaming it strip by strip.

    Parameters
    ----------
    input_path : str
        Raster with a complex band, or two real bands holding I and Q.
    output_path : str
        Destination (GeoTIFF unless the extension names another GDAL format); written
        all-or-nothing.
    band : int
        Complex band, or the I band when ``imag_band`` is given (1-based).
    imag_band : int, optional
        Q band (1-based) when I and Q are stored as two real bands.
    output_format : {"complex", "intensity", "amplitude"}
        complex64 SLC, or float32 intensity ``|z|^2`` / amplitude ``|z|`` in the input's units.
    point_target_factor : float
        Deprecated (used only when ``point_target_pfa`` is 0): point-target threshold over the
        median intensity; 0 disables.
    remove_oversampling : bool
        Crop the spectrum to the occupied band (larger output pixels, white speckle).
    block_size : int, optional
        Lines per strip in both passes; by default chosen from :data:`MEMORY_BUDGET`. The result
        does not depend on it.
    progress : callable, optional
        Called with the fraction done in [0, 1].
    is_cancelled : callable, optional
        Polled between strips; when it returns True the run stops and no output is left.
    point_target_pfa : float
        False-alarm probability of the local point-target rule (see
        :func:`decorrelate_array`); 0 disables it.
    tops : SwathRamp, optional
        For Sentinel-1 TOPS data: the annotation and where the raster lies in its swath. Bursts
        are deramped when read (samples outside the valid window become nodata), the azimuth
        band is the product's, and a complex output is reramped on the output grid.
    clean : bool
        CLEAN point targets (see :func:`decorrelate_array`).

    Returns
    -------
    DecorrelationReport
        The estimated parameters; they are also written to the output's metadata.

    Raises
    ------
    InputError, OutputError, Cancelled
        With a message saying what to change; no partial output is left behind.
    """
    from .io.raster_writer import RasterWriter, check_writable
    from .io.slc_source import SlcSource

    if output_format not in OUTPUT_FORMATS:
        raise InputError(
            f"Unknown output format '{output_format}': use one of {', '.join(OUTPUT_FORMATS)}."
        )
    callbacks = Callbacks.of(progress, is_cancelled)
    progress, check_cancel = callbacks.progress, callbacks.check_cancelled
    check_writable(output_path)
    settings = _Settings(remove_oversampling, point_target_factor, point_target_pfa, tops, clean)

    with SlcSource(input_path, band, imag_band) as source:
        height, width = source.height, source.width
        _check_size(height, width)
        read = source.read
        if tops is not None:
            _check_crop(tops, height, width)

            def read(row: int, col: int, rows: int, cols: int) -> np.ndarray:
                return _deramped(source.read(row, col, rows, cols), tops, row, col)

        plan = _estimate(read, height, width, settings)
        try:
            _refuse_tops(plan, source.metadata(), tops)
        except InputError as exc:
            if tops is not None:
                raise
            from .io.sentinel1_safe import expected_annotation

            raise InputError(f"{exc} {expected_annotation(input_path)}") from None
        progress(0.1)
        check_cancel()
        out_height = plan.az_filter.output_length
        out_width = plan.rg_filter.output_length
        block_rows = max(1, int(source.block_size[1]))
        strip_rows, strip_cols = _strip_sizes(height, width, out_width, block_size, block_rows)
        in_memory = block_size is None and height * width * _BYTES_PER_SAMPLE <= MEMORY_BUDGET
        if in_memory:
            strip_rows, strip_cols = height, out_width
        folder = Path(output_path).resolve().parent
        scratch = _Scratch(folder, height, out_width, strip_cols, in_memory)
        store = TargetStore.empty()
        tally = _PowerTally()
        clean_targets = _clean_targets(plan, read, height, width, strip_rows)
        try:
            for row in range(0, height, strip_rows):
                check_cancel()
                rows = min(strip_rows, height - row)
                strip = read(row, 0, rows, width)
                above = below = None
                # the ring of the local rule reaches across strips (CLEAN found its targets)
                if plan.detector.pfa > 0 and clean_targets is None:
                    top = max(0, row - RING_OUTER)
                    above = read(top, 0, row - top, width) if row > top else None
                    bottom = min(height, row + rows + RING_OUTER)
                    below = (
                        read(row + rows, 0, bottom - row - rows, width)
                        if bottom > row + rows
                        else None
                    )
                scratch.write_rows(
                    row,
                    _range_pass(strip, row, plan, store, tally, above, below, clean_targets),
                )
                end = min(row + strip_rows, height)
                if end % block_rows == 0 or end == height:
                    source.release_cache()  # only whole blocks: none is decoded twice
                progress(0.1 + 0.4 * min(row + strip_rows, height) / height)
            # azimuth filtering back into the scratch: the output power of the whole chain is
            # known before anything is written, so that one exact correction keeps the mean
            for col in range(0, out_width, strip_cols):
                check_cancel()
                scratch.write_columns(col, _azimuth_pass(scratch.read_columns(col), plan, tally))
                progress(0.5 + 0.4 * min(col + strip_cols, out_width) / out_width)
            invalid = tally.invalid
            correction = tally.correction()
            count = len(clean_targets) if clean_targets is not None else len(store)
            report = _report(plan, count, invalid, remove_oversampling, height, width)
            LOG.info("Decorrelation of '%s':\n%s", input_path, report.summary())
            georeferencing = source.georeferencing()
            if plan.az_filter.resamples or plan.rg_filter.resamples:
                georeferencing = georeferencing.resampled(*report.pixel_factors)
            metadata = dict(source.metadata())
            metadata.update(report.metadata())
            if tops is not None:
                metadata.update(_tops_metadata(plan, tops))
            dtype = np.complex64 if output_format == "complex" else np.float32
            targets = _output_targets(plan, store)
            writer = RasterWriter(
                output_path,
                width=out_width,
                height=out_height,
                dtype=dtype,
                georeferencing=georeferencing,
                nodata=float("nan") if (invalid or source.has_nodata) else None,
                metadata=metadata,
                band_descriptions=[f"decorrelated {output_format}"],
            )
            # Whole-column strips (the azimuth FFT needs complete lines), not tiles: the
            # tiled runner does not fit, its cancel, progress and commit rules do.
            with all_or_nothing([writer]):
                for col in range(0, out_width, strip_cols):
                    check_cancel()
                    columns = scratch.read_columns(col, out_height)
                    filtered = _finish(columns, col, plan, targets, correction, clean_targets)
                    if tops is not None and output_format == "complex":
                        filtered = _reramped(filtered, tops, plan, col)
                    writer.write(_convert(filtered, output_format), 0, col)
                    end = min(col + strip_cols, out_width)
                    if end % OUTPUT_TILE == 0 or end == out_width:
                        writer.flush()  # only whole tiles: none is compressed twice
                    progress(0.9 + 0.1 * min(col + strip_cols, out_width) / out_width)
        finally:
            scratch.close()
    progress(1.0)
    return report
