"""What kind of SAR values a band holds, judged from the speckle itself.

Fully developed speckle has a known shape. Over a homogeneous area the intensity of an L-look
image follows a gamma law with coefficient of variation (CV) ``1/sqrt(L)`` and skewness
``2/sqrt(L)``, so *skewness / CV = 2* whatever L; the amplitude (square root) has CV about
``0.52/sqrt(L)`` and skewness / CV between 1.0 and 1.25; a dB value (a logarithm) has a
*negative* skewness. White speckle has no correlation between neighbours; multi-looked or
resampled products (GRD, GEC) and SLCs that were not decorrelated do.

The statistics are taken over the most homogeneous blocks of a few patches of the raster. The
blocks are chosen on the even rows of each block and measured on its odd rows, so choosing the
smoothest blocks does not bias the measured CV (and hence the ENL) downwards.

Everything here is pure numpy: :mod:`s2v_plugin.io.input_description` reads the patches and the
metadata and combines them with these statistics.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq
from scipy.special import digamma

from .tops import WINDOW_LINES, azimuth_sweep

COMPLEX = "complex"
IQ_PAIR = "iq_pair"
INTENSITY = "intensity"
AMPLITUDE = "amplitude"
DB = "db"
MULTILOOK = "multilook"
#: Every kind an input description can have.
KINDS = (COMPLEX, IQ_PAIR, INTENSITY, AMPLITUDE, DB, MULTILOOK)

#: Side of the blocks over which CV, skewness and lag-1 correlation are measured.
BLOCK = 32
#: Share of the blocks (the lowest CV first) that count as homogeneous.
HOMOGENEOUS_SHARE = 0.25
#: skewness / CV above this: intensity (gamma gives 2); below: amplitude (1.0 to 1.25).
INTENSITY_SHAPE = 1.6
#: A band of skewness / CV within this distance of INTENSITY_SHAPE is not decided.
SHAPE_MARGIN = 0.15
#: Skewness over homogeneous blocks below this: logarithmic (dB) values.
DB_SKEWNESS = -0.1
#: Lag-1 correlation of the intensity (homogeneous blocks) above this: correlated speckle.
#: White speckle gives 0 +- 0.02; |rho|^2 = 0.1 is a complex coherence of about 0.3.
MAX_WHITE_LAG1 = 0.1
#: Local complex coherence (16-line windows) above this: the SLC needs decorrelating.
MAX_WHITE_COHERENCE = 0.15
#: ENL estimates below this count as single look: single-look ENL estimates scatter by
#: about +-15 % and texture only lowers them.
SINGLE_LOOK_BELOW = 1.2
#: Fewest homogeneous blocks for the statistics to be trusted.
MIN_BLOCKS = 4


@dataclass(frozen=True)
class SpeckleStatistics:
    """Speckle statistics of a band over its most homogeneous blocks.

    Attributes
    ----------
    blocks : int
        Homogeneous blocks measured (0: too little valid data, nothing else is meaningful).
    cv : float
        Coefficient of variation of the values as stored (block-normalised, pooled).
    skewness : float
        Skewness of the same values.
    cv_squared_values : float
        Coefficient of variation of the squared values (the intensity, if the band is
        amplitude).
    lag1_rows, lag1_cols : float
        Median lag-1 correlation of the intensity along rows (azimuth for SLC geometry) and
        along columns, over the homogeneous blocks.
    coherence_rows, coherence_cols : float
        Complex bands only (else 0): the magnitude of the lag-1 complex correlation, measured
        locally (windows of 16 lines along rows, as for TOPS; whole blocks along columns).
    mismatch_intensity, mismatch_amplitude : float
        How far apart two ENL estimators are (``|ln(L_cv / L_log)|``, the CV and the mean
        logarithm of a gamma law) when the values are read as intensity, or squared as
        amplitude: the right reading makes them agree. NaN when a block holds zeros.
    negative_fraction : float
        Share of valid values below zero.
    symmetric : bool
        Values spread symmetrically around zero (an I or Q component, not a power): about as
        many negative as positive values, with similar median magnitudes and no skewness.
    """

    blocks: int
    cv: float
    skewness: float
    cv_squared_values: float
    lag1_rows: float
    lag1_cols: float
    coherence_rows: float = 0.0
    coherence_cols: float = 0.0
    mismatch_intensity: float = float("nan")
    mismatch_amplitude: float = float("nan")
    negative_fraction: float = 0.0
    symmetric: bool = False
    is_complex: bool = False

    @property
    def shape(self) -> float:
        """Skewness / CV: 2 for gamma-distributed intensity, about 1.0 to 1.25 for amplitude."""
        return self.skewness / self.cv if self.cv > 0 else float("nan")

    @property
    def correlated(self) -> bool:
        """Whether the speckle is spatially correlated (locally). Complex bands are judged by
        the complex coherence, which texture does not inflate."""
        if self.is_complex:
            return max(self.coherence_rows, self.coherence_cols) > MAX_WHITE_COHERENCE
        return max(self.lag1_rows, self.lag1_cols) > MAX_WHITE_LAG1


def _blocks(patch: np.ndarray, size: int):
    rows, cols = patch.shape
    for r in range(0, rows - size + 1, size):
        for c in range(0, cols - size + 1, size):
            yield patch[r : r + size, c : c + size]


def _lag1(block: np.ndarray) -> tuple[float, float]:
    centred = block / block.mean() - 1.0
    variance = float(np.mean(centred * centred))
    if variance <= 0:
        return 0.0, 0.0
    rows = float(np.mean(centred[1:] * centred[:-1])) / variance
    cols = float(np.mean(centred[:, 1:] * centred[:, :-1])) / variance
    return rows, cols


def _coherence_cols(block: np.ndarray) -> float:
    lagged = block[:, 1:] * np.conj(block[:, :-1])
    power = float(np.sum(np.abs(block[:, :-1]) ** 2))
    return abs(complex(np.sum(lagged))) / power if power > 0 else 0.0


def _looks_from_log(mean_log_ratio: float) -> float:
    """L of a gamma law from E[ln y] - ln E[y] = digamma(L) - ln(L) (increasing in L)."""
    function = lambda looks: digamma(looks) - np.log(looks) - mean_log_ratio  # noqa: E731
    try:
        return float(brentq(function, 0.05, 1e4))
    except ValueError:
        return float("nan")


def _mismatch(blocks: list, power: int) -> float:
    """|ln(L_cv / L_log)| of the blocks raised to ``power`` (NaN when a block has a zero)."""
    if not blocks or any((b <= 0).any() for b in blocks):
        return float("nan")
    raised = [b**power for b in blocks]
    pooled = np.concatenate([(b / b.mean()).ravel() for b in raised])
    looks_cv = 1.0 / pooled.var() if pooled.var() > 0 else float("nan")
    looks_log = _looks_from_log(
        float(np.mean([np.log(b).mean() - np.log(b.mean()) for b in raised]))
    )
    return abs(float(np.log(looks_cv / looks_log)))


def speckle_statistics(patches, block: int = BLOCK) -> SpeckleStatistics:
    """Measure the speckle statistics of a band from full-resolution patches.

    Parameters
    ----------
    patches : iterable of numpy.ndarray
        2-D patches of the band as stored (real values, or complex samples), NaN for nodata.
    block : int
        Side of the measured blocks; blocks with any invalid or non-positive value are skipped.

    Returns
    -------
    SpeckleStatistics
        ``blocks == 0`` when no block qualifies.
    """
    patches = [np.asarray(p) for p in patches]
    is_complex = any(np.iscomplexobj(p) for p in patches)
    finite = [p[np.isfinite(p)] for p in patches]
    values = np.concatenate(finite) if finite else np.zeros(0)
    negative_fraction = 0.0
    symmetric = False
    if not is_complex and values.size:
        negative_fraction = float(np.mean(values < 0))
        if 0.35 <= negative_fraction <= 0.65:
            positive = float(np.median(values[values > 0])) if (values > 0).any() else 0.0
            negative = float(np.median(-values[values < 0]))
            centred = values - values.mean()
            spread = float(np.sqrt(np.mean(centred**2)))
            skew = float(np.mean(centred**3)) / spread**3 if spread > 0 else 0.0
            balanced = negative > 0 and 0.7 <= positive / negative <= 1.0 / 0.7
            symmetric = balanced and abs(skew) < 0.25  # dB around 0 dB is skewed
    candidates = []
    for patch in patches:
        power = np.abs(patch) ** 2 if is_complex else patch
        for values_block in _blocks(power.astype(np.float64), block):
            chooser = values_block[0::2]
            if not np.isfinite(values_block).all() or not (
                chooser.mean() > 0 and values_block[1::2].mean() > 0
            ):
                continue
            candidates.append((float(chooser.std() / chooser.mean()), values_block))
    coherence_rows = coherence_cols = 0.0
    if is_complex:
        tall = [p for p in patches if p.shape[0] > 2 * WINDOW_LINES]
        coherence_rows = azimuth_sweep(tall).local_coherence if tall else 0.0
    if len(candidates) < 1:
        return SpeckleStatistics(
            0, float("nan"), float("nan"), float("nan"), 0.0, 0.0, coherence_rows, 0.0,
            negative_fraction=negative_fraction, symmetric=symmetric, is_complex=is_complex,
        )  # fmt: skip
    candidates.sort(key=lambda item: item[0])
    chosen = [b for _, b in candidates[: max(1, int(round(len(candidates) * HOMOGENEOUS_SHARE)))]]
    measured = [b[1::2] for b in chosen]
    normalised = np.concatenate([(b / b.mean()).ravel() for b in measured])
    squared = np.concatenate([(b * b / np.mean(b * b)).ravel() for b in measured])
    cv = float(normalised.std())
    skewness = float(np.mean((normalised - normalised.mean()) ** 3) / cv**3) if cv > 0 else 0.0
    lags = np.array([_lag1(b) for b in chosen])
    if is_complex:
        complex_blocks = []
        for patch in patches:
            complex_blocks.extend(
                b for b in _blocks(patch, block) if np.isfinite(b).all() and np.abs(b).any()
            )
        coherence_cols = float(np.median([_coherence_cols(b) for b in complex_blocks]))
    return SpeckleStatistics(
        blocks=len(chosen),
        cv=cv,
        skewness=skewness,
        cv_squared_values=float(squared.std()),
        lag1_rows=float(np.median(lags[:, 0])),
        lag1_cols=float(np.median(lags[:, 1])),
        coherence_rows=float(coherence_rows),
        coherence_cols=coherence_cols,
        mismatch_intensity=_mismatch(measured, 1),
        mismatch_amplitude=_mismatch(measured, 2),
        negative_fraction=negative_fraction,
        symmetric=symmetric,
        is_complex=is_complex,
    )


def kind_from_statistics(stats: SpeckleStatistics) -> str | None:
    """The value kind the statistics of a *real* band point to, or None when undecided.

    Returns one of :data:`IQ_PAIR` (values symmetric around zero), :data:`DB` (negative values,
    or negatively skewed homogeneous areas), :data:`INTENSITY` or :data:`AMPLITUDE`.
    """
    if stats.symmetric:
        return IQ_PAIR
    if stats.negative_fraction > 0:
        return DB
    if stats.blocks < MIN_BLOCKS or not np.isfinite(stats.shape):
        return None
    if stats.skewness < DB_SKEWNESS:
        return DB
    if stats.shape >= INTENSITY_SHAPE + SHAPE_MARGIN:
        return INTENSITY
    if stats.shape <= INTENSITY_SHAPE - SHAPE_MARGIN:
        return AMPLITUDE
    # in between (texture raises the skewness of amplitude): the reading whose two ENL
    # estimators agree better
    if np.isfinite(stats.mismatch_intensity) and np.isfinite(stats.mismatch_amplitude):
        return INTENSITY if stats.mismatch_intensity < stats.mismatch_amplitude else AMPLITUDE
    return None


def enl(stats: SpeckleStatistics, domain: str) -> float:
    """Equivalent number of looks of the intensity over the homogeneous blocks (NaN when
    unmeasured): ``1 / CV^2`` of the intensity, the values themselves or their squares."""
    cv = stats.cv if domain == INTENSITY else stats.cv_squared_values
    return 1.0 / cv**2 if stats.blocks and cv > 0 else float("nan")


def looks_from_enl(value: float) -> float:
    """The LOOKS to use for an ENL estimate: 1 below :data:`SINGLE_LOOK_BELOW`, else the
    estimate rounded to one decimal."""
    if not np.isfinite(value) or value < SINGLE_LOOK_BELOW:
        return 1.0
    return round(float(value), 1)
