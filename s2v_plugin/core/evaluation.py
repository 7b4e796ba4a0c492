"""Judging a despeckled intensity in memory: homogeneous areas, ENL, ratio image, M-index,
PSNR/SSIM, and the classic filters scored for comparison.

No I/O here: :mod:`s2v_plugin.evaluate` reads the rasters (through :mod:`s2v_plugin.io`),
and the benchmark calls :func:`evaluate_arrays` directly.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from scipy import ndimage

from . import metrics
from .callbacks import Callbacks
from .classic_filters import FILTERS
from .domain import INTENSITY, from_intensity, to_intensity
from .errors import InputError
from .point_targets import DEFAULT_PFA, local_target_mask

#: Window size and count of the automatically found homogeneous windows.
AUTO_WINDOW = 32
AUTO_COUNT = 10


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
class RatioScores:
    """What the ratio image (noisy / estimate) says of an estimate: ideally pure speckle.

    Attributes
    ----------
    stats : metrics.RatioStats
        Mean (ideally 1) and variance (ideally 1/L) of the ratio image.
    m_index : metrics.MIndex
        M-index over the homogeneous areas (ideally 0).
    lag1 : tuple of float
        Lag-1 correlation of the ratio image along rows and along columns (ideally 0).
    """

    stats: metrics.RatioStats
    m_index: metrics.MIndex
    lag1: tuple[float, float]


def _ratio_scores(noisy: np.ndarray, ratio: np.ndarray, areas: list[Area]) -> RatioScores:
    stats = metrics.ratio_stats(ratio)  # first: it refuses a ratio image without valid pixels
    m = metrics.m_index(
        [area.values(noisy) for area in areas], [area.values(ratio) for area in areas], ratio
    )
    return RatioScores(stats, m, metrics.lag_correlation(ratio))


@dataclass(frozen=True)
class MethodScores:
    """The measures of one despeckled estimate (the evaluated one or a classic filter).

    ``ratio_mean``, ``ratio_variance``, ``m_index``, ``lag1_rows`` and ``lag1_cols`` read
    ``ratio_scores``.
    """

    name: str
    enl: float
    ratio_scores: RatioScores
    psnr: float | None = None
    ssim: float | None = None
    seconds: float | None = None

    @property
    def ratio_mean(self) -> float:
        return self.ratio_scores.stats.mean

    @property
    def ratio_variance(self) -> float:
        return self.ratio_scores.stats.variance

    @property
    def m_index(self) -> metrics.MIndex:
        return self.ratio_scores.m_index

    @property
    def lag1_rows(self) -> float:
        return self.ratio_scores.lag1[0]

    @property
    def lag1_cols(self) -> float:
        return self.ratio_scores.lag1[1]


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


def automatic_areas(
    noisy: np.ndarray, size: int = AUTO_WINDOW, count: int = AUTO_COUNT, looks: float = 1.0
):
    """Homogeneous windows of the noisy intensity as :class:`Area` objects.

    Point targets (the despeckler's local rule at its default false-alarm probability, with
    their 8 neighbours, where whitening leaves part of their energy) are not speckle: they are
    left out of the windows' measures instead of ruling out every window that holds one, which
    on a decorrelated urban scene would be nearly every window. Their pixels are outside the
    areas' masks.

    Raises
    ------
    InputError
        When no homogeneous window is found.
    """
    targets, _ = local_target_mask(noisy, DEFAULT_PFA, looks)
    targets = ndimage.binary_dilation(targets, np.ones((3, 3), bool))
    windows = metrics.find_homogeneous_windows(noisy, size=size, count=count, exclude=targets)
    if not windows:
        raise InputError(
            f"No homogeneous window of {size} x {size} pixels was found in the noisy image "
            "(every candidate holds nodata, edges, texture or bright points). Draw homogeneous "
            "areas (fields, water, smooth surfaces) in a polygon layer and pass it as AREAS."
        )
    areas = []
    for index, window in enumerate(windows):
        kept = ~targets[window.slices()]
        areas.append(Area(f"auto {index + 1}", window, None if kept.all() else kept, True))
    return areas


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
    measured = _ratio_scores(noisy, ratio, areas)
    enl = float(np.mean([metrics.enl(area.values(estimate)) for area in areas]))
    psnr, ssim = _fidelity(estimate, reference, domain)
    return MethodScores(name, enl, measured, psnr, ssim, seconds), ratio


def _fidelity(
    estimate: np.ndarray, reference: np.ndarray | None, domain: str
) -> tuple[float | None, float | None]:
    """PSNR and SSIM of the estimate (intensity) against the reference in ``domain``; None
    without a reference."""
    if reference is None:
        return None, None
    in_domain = from_intensity(estimate, domain)
    peak = float(np.nanmax(reference))
    psnr = metrics.psnr(in_domain, reference, peak=peak)
    return psnr, metrics.ssim(in_domain, reference, data_range=peak - float(np.nanmin(reference)))


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
        areas = automatic_areas(noisy, looks=looks)
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


def check_area_sizes(areas: list[Area], noisy: np.ndarray, despeckled: np.ndarray) -> None:
    """Every area must hold enough valid pixels for the ENL."""
    for area in areas:
        valid = np.isfinite(area.values(noisy)) & np.isfinite(area.values(despeckled))
        if valid.sum() < metrics.MIN_ENL_PIXELS:
            raise InputError(
                f"Area '{area.name}' covers {int(valid.sum())} valid pixel(s); the ENL needs at "
                f"least {metrics.MIN_ENL_PIXELS}. Draw it larger."
            )
