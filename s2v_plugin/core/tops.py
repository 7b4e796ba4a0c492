"""Recognising TOPS data (Sentinel-1 IW/EW bursts) that must be deramped before whitening.

In TOPS acquisitions the antenna is steered in azimuth, so the local Doppler centroid sweeps
across the whole azimuth band within each burst (about once every 160 lines for Sentinel-1 IW).
The spectrum of any large window then looks flat, but it is not the speckle spectrum: whitening it
as if it were would leave the speckle correlated. The sweep shows in the data as a strong lag-1
azimuth correlation within a few lines (the *local coherence*) whose phase rotates from window to
window, so that it averages out over the block (a small *global coherence*). Stripmap data have
the same phase in every window, so both coherences agree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

#: Lines per window in which the local azimuth correlation is measured.
WINDOW_LINES = 16
#: Local coherence above which a phase sweep is meaningful (white speckle stays near 0.02).
MIN_LOCAL_COHERENCE = 0.15
#: Global / local coherence ratio below which the centroid is considered sweeping.
MAX_COHERENCE_RATIO = 0.5

_TOPS_MODE = re.compile(r"^(IW|EW)\d?$")


@dataclass(frozen=True)
class SweepCheck:
    """Evidence of an azimuth Doppler centroid sweep.

    Attributes
    ----------
    local_coherence : float
        Median over blocks of the mean magnitude of the lag-1 azimuth correlation in windows of
        :data:`WINDOW_LINES` lines.
    global_coherence : float
        Median over blocks of the magnitude of the same correlation over the whole block.
    sweep_rate : float
        Median change of the local centroid per line, in cycles/sample per line.
    """

    local_coherence: float
    global_coherence: float
    sweep_rate: float

    @property
    def is_tops(self) -> bool:
        """True when the local centroid sweeps (strong local, weak global correlation)."""
        return (
            self.local_coherence >= MIN_LOCAL_COHERENCE
            and self.global_coherence < MAX_COHERENCE_RATIO * self.local_coherence
        )


def _window_correlations(block: np.ndarray) -> np.ndarray:
    rows = block.shape[0]
    out = []
    for start in range(0, rows - WINDOW_LINES, WINDOW_LINES):
        window = block[start : start + WINDOW_LINES + 1]
        lagged = window[1:] * np.conj(window[:-1])
        valid = np.isfinite(lagged)
        power = np.abs(window[:-1]) ** 2
        denominator = float(np.sum(power[valid]))
        if denominator > 0:
            out.append(complex(np.sum(lagged[valid])) / denominator)
    return np.array(out, dtype=np.complex128)


def azimuth_sweep(blocks) -> SweepCheck:
    """Measure the azimuth centroid sweep in complex blocks (rows = azimuth).

    Parameters
    ----------
    blocks : iterable of numpy.ndarray
        Complex blocks with at least ``2 * WINDOW_LINES + 1`` rows (shorter blocks are skipped);
        NaN marks invalid pixels.

    Returns
    -------
    SweepCheck
        All zero when no block is long enough.
    """
    local, total, rates = [], [], []
    for block in blocks:
        correlations = _window_correlations(np.asarray(block))
        if correlations.size < 2:
            continue
        local.append(float(np.mean(np.abs(correlations))))
        total.append(float(np.abs(np.mean(correlations))))
        phases = np.unwrap(np.angle(correlations)) / (2.0 * np.pi)
        rates.append(float(np.median(np.diff(phases))) / WINDOW_LINES)
    if not local:
        return SweepCheck(0.0, 0.0, 0.0)
    return SweepCheck(float(np.median(local)), float(np.median(total)), float(np.median(rates)))


def tops_mode_from_metadata(metadata: dict) -> str | None:
    """The TOPS acquisition mode (IW, EW, IW2, ...) named in GDAL metadata, or None.

    Recognises the Sentinel-1 SAFE driver's ``MODE``/``SWATH`` items and measurement TIFF
    descriptions such as ``"Sentinel-1A IW SLC L1"``.
    """
    for key in ("MODE", "ACQUISITION_MODE", "SWATH", "BEAM_MODE"):
        value = str(metadata.get(key, "")).strip().upper()
        if _TOPS_MODE.match(value):
            return value
    description = str(metadata.get("TIFFTAG_IMAGEDESCRIPTION", "")).upper()
    if "SENTINEL-1" in description:
        for word in description.split():
            if _TOPS_MODE.match(word):
                return word
    return None
