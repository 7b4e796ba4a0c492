"""Speckle2Void despeckling of whole rasters and arrays: tiles in, posterior mean out.

The pipeline, for a raster of any size with bounded memory:

1. scan the band once in strips: reject negative or infinite values, and compute the raster's
   normalisation scale and point-target threshold from a deterministic subsample
   (:mod:`s2v_plugin.core.intensity_scale`);
2. cut the raster into tiles whose windows carry a halo of the model's receptive field
   (:mod:`s2v_plugin.core.tiling`), read them mirrored at the raster edges, batch them;
3. run the blind-spot network on normalised intensities (nodata filled; pixels that the robust
   local rule of :mod:`s2v_plugin.core.point_targets` finds improbable against their ring
   median clipped to that rule's threshold, exactly as in training), turn its inverse-gamma prior
   into the posterior mean and standard deviation (:mod:`s2v_plugin.core.bayes`); a pixel whose
   prior-predictive tail under its neighbourhood's prior is below ``POINT_TARGET_PFA`` (or a
   4-neighbour pair both improbable, :func:`~s2v_plugin.core.point_targets.tail_targets`) is a
   point target and keeps its observed value; the other pixels' estimate is renormalised to the
   input's local mean (:mod:`s2v_plugin.core.local_mean`); nodata stays nodata. (With
   ``POINT_TARGET_PFA`` 0, the deprecated global rule ``POINT_TARGET_FACTOR`` times the median
   decides instead, without renormalisation: version 1.1's estimator.)
4. retaper (:mod:`s2v_plugin.core.retaper`, a separate stage after the estimator): an input
   decorrelated by this plugin with its oversampling kept gets the estimate filtered back to
   the product's own tapered resolution, which takes back the whitened sidelobes that bright
   areas spread into dark ones; the tile halo grows by the filter's radius;
5. write the tile cores into all-or-nothing outputs (:mod:`s2v_plugin.io.raster_writer`).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from .core import bayes
from .core.concurrency import cpu_threads
from .core.domain import (
    AMPLITUDE,
    AUTO,
    INTENSITY,
    check_domain,
    from_intensity,
    std_from_intensity,
    to_intensity,
)
from .core.errors import InputError
from .core.intensity_scale import IntensityScale, scale_from_samples
from .core.local_mean import RADIUS as RENORMALISATION_RADIUS
from .core.local_mean import renormalise
from .core.point_targets import (
    DEFAULT_PFA,
    PAIR_REACH,
    RING_OUTER,
    local_target_mask,
    prior_tail,
    tail_targets,
)
from .core.retaper import Retaper, retaper_from_metadata
from .core.tiling import Tile, TilePlan, plan_tiles
from .io.band_scan import scan_band
from .io.gdal_cache import gdal_cache_limit
from .io.input_description import InputDescription, describe_raster
from .io.raster_source import ArraySource, BandInfo, RasterSource
from .io.raster_writer import RasterWriter, check_writable
from .io.windows import core_of, read_window
from .provenance import UNITS, provenance_items
from .runtime import memory
from .runtime.models import default_model_path
from .runtime.session import CUDA_PROVIDER, ModelSession
from .tiled_run import ArrayOutput, Callbacks, all_or_nothing, run_tiles

LOG = logging.getLogger(__name__)

#: Default tile core on a GPU (TILE_SIZE empty or 0): its memory is not the host's RAM.
DEFAULT_GPU_TILE_SIZE = 2048
MIN_TILE_SIZE = 32
BATCH_PIXELS = 1 << 20
SCAN_SHARE = 0.05


@dataclass(frozen=True)
class DespeckleReport:
    """What a despeckling run did, for logs and tests."""

    model: str
    execution_provider: str
    looks: float
    scale: float
    point_target_threshold: float
    point_targets: int
    valid_fraction: float
    tiles: int
    tile_size: int
    halo: int
    network_seconds: float
    total_seconds: float
    output_domain: str
    point_target_pfa: float = 0.0
    retaper: str = ""


def scan_intensity(
    source,
    domain: str,
    point_target_factor: float,
    progress: Callable[[float], None] | None = None,
    point_target_pfa: float = 0.0,
) -> IntensityScale:
    """Validate every pixel and compute the raster's scale and point-target threshold.

    Raises
    ------
    InputError
        On negative or infinite values, or when no pixel is valid.
    """
    scan = scan_band(source, domain, progress)
    return scale_from_samples(
        scan.samples, point_target_factor, scan.valid_fraction, point_target_pfa
    )


class Despeckler:
    """The network plus the estimator: normalised windows in, posterior mean and std out."""

    def __init__(
        self, session: ModelSession, looks: float, scale: IntensityScale, margin: int = 0
    ) -> None:
        self.session = session
        self.looks = float(looks)
        self.scale = scale
        #: Pixels along each window edge whose estimate no later stage reads
        #: (:attr:`Scene.unread_margin`): the local-mean factor skips them.
        self.margin = int(margin)
        #: CPU threads of the estimator's filters: the network's (0: every core).
        self.threads = cpu_threads(session.threads)
        self.network_seconds = 0.0

    def estimate(self, intensity: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Posterior mean and std (intensity units) of a batch ``[N, H, W]`` of windows.

        Returns (mean, std, point_target_mask); nodata pixels are NaN in mean and std,
        point targets keep their input value and get NaN std (not estimated).
        """
        y = intensity / np.float32(self.scale.scale)
        valid = np.isfinite(y)
        if not valid.all():
            y[~valid] = np.float32(1.0)
        pfa = self.scale.pfa
        if pfa > 0:
            network_input = y.copy()
            for k in range(len(y)):
                clipped, threshold = local_target_mask(y[k], pfa, self.looks, self.threads)
                network_input[k][clipped] = threshold[clipped]
        else:
            targets = valid & (intensity > self.scale.threshold)
            clip = np.float32(self.scale.threshold / self.scale.scale)
            network_input = np.minimum(y, clip) if np.isfinite(clip) else y
        started = time.perf_counter()
        alpha, beta = self.session.run(network_input[:, None])
        self.network_seconds += time.perf_counter() - started
        alpha, beta = alpha[:, 0], beta[:, 0]
        # Only the inner part of the windows is estimated: no stage after this one reads the
        # outer ``margin`` pixels, and the estimate at distance ``margin`` reads the tails and
        # targets up to the local mean's and the pair test's reach outwards.
        inner, margin = self._inner(y.shape, pfa)
        if pfa > 0:
            # The prior comes from the neighbourhood only, so its predictive tail is a fair
            # test of the pixel: improbable pixels (or 4-neighbour pairs) are deterministic
            # scatterers, not speckle.
            tails = prior_tail(alpha[inner], beta[inner], y[inner], self.looks)
            targets_in = tail_targets(tails, valid[inner], pfa)
        else:
            targets_in = targets[inner]
        mean_in, std_in = self._posterior(
            alpha[inner], beta[inner], y[inner], valid[inner], targets_in, margin
        )
        mean = np.where(valid, y, np.float32(np.nan))
        std = np.full(y.shape, np.nan, np.float32)
        targets = np.zeros(y.shape, bool)
        mean[inner], std[inner], targets[inner] = mean_in, std_in, targets_in
        factor = np.float32(self.scale.scale)
        mean *= factor
        std *= factor
        return mean, std, targets

    def _inner(self, shape: tuple, pfa: float) -> tuple[tuple, int]:
        """Index of the part of ``[N, H, W]`` windows whose estimate is computed, and the
        margin of that part that the local-mean factor may skip."""
        reach = RENORMALISATION_RADIUS + PAIR_REACH if pfa > 0 else 0
        cut = self.margin - reach
        if cut <= 0 or 2 * cut >= min(shape[-2:]):
            return (Ellipsis,), self.margin
        return (Ellipsis, slice(cut, shape[-2] - cut), slice(cut, shape[-1] - cut)), reach

    def _posterior(self, alpha, beta, y, valid, targets, margin: int):
        """Posterior mean and std (normalised units) given the point targets."""
        mean = bayes.posterior_mean(alpha, beta, y, self.looks)
        if self.scale.pfa > 0:
            # What the prior cannot predict and the point-target test does not catch is lost
            # by the posterior mean: give it back as a local-mean factor (core.local_mean).
            mean = renormalise(mean, y, valid & ~targets, margin=margin, threads=self.threads)
        std = bayes.posterior_std(mean, alpha, self.looks)
        mean = np.where(targets, y, mean)
        std = np.where(targets | ~valid, np.float32(np.nan), std)
        mean = np.where(valid, mean, np.float32(np.nan))
        return mean, std


@dataclass(frozen=True)
class TileResult:
    """The despeckled core of one tile, in the output domain (NaN = nodata)."""

    tile: Tile
    mean: np.ndarray
    std: np.ndarray
    point_targets: int
    targets: np.ndarray | None = None  # bool core mask of the point targets


def despeckle_tiles(
    despeckler: Despeckler,
    source,
    plan: TilePlan,
    tiles,
    domain: str,
    output_domain: str,
    retaper: Retaper | None = None,
) -> list[TileResult]:
    """Despeckle some tiles of a plan in one batch: the unit of work of every runner.

    Parameters
    ----------
    despeckler : Despeckler
        The network and the raster's scene-level normalisation (computed over the whole raster
        first, so that every tile, on any machine, uses the same).
    source : RasterSource or ArraySource
        Where the windows are read from.
    plan : TilePlan
        The raster's tile plan; ``tiles`` are some of its tiles.
    domain, output_domain : str
        Domain of a real input band, and of the output (intensity for complex input).
    retaper : Retaper, optional
        The scene's retapering filter (the plan's halo must include its :attr:`~Retaper.halo`).

    Returns
    -------
    list of TileResult
        One per tile, in order, cut to the tile's core.
    """
    windows = np.stack([read_window(source, plan, tile) for tile in tiles])
    return despeckle_windows(despeckler, windows, tiles, domain, output_domain, retaper)


def despeckle_windows(
    despeckler: Despeckler,
    windows: np.ndarray,
    tiles,
    domain: str,
    output_domain: str,
    retaper: Retaper | None = None,
) -> list[TileResult]:
    """Despeckle windows already read (``[N, H, W]`` in ``domain``, one per tile); see
    :func:`despeckle_tiles`."""
    mean, std, targets = despeckler.estimate(to_intensity(windows, domain))
    if retaper is not None:
        mean = np.stack([retaper.apply(m, t) for m, t in zip(mean, targets)])
    results = []
    for index, tile in enumerate(tiles):
        tile_mean = core_of(mean[index], tile)
        tile_targets = core_of(targets[index], tile)
        results.append(
            TileResult(
                tile=tile,
                mean=from_intensity(tile_mean, output_domain),
                std=std_from_intensity(core_of(std[index], tile), tile_mean, output_domain),
                point_targets=int(tile_targets.sum()),
                targets=tile_targets,
            )
        )
    return results


@dataclass(frozen=True)
class Scene:
    """What every tile of one raster shares: looks, scene-level statistics and the tile plan."""

    looks: float
    scale: IntensityScale
    plan: TilePlan
    domain: str
    output_domain: str
    retaper: Retaper | None = None

    @property
    def unread_margin(self) -> int:
        """Pixels along each window edge that no stage after the estimator reads: the plan's
        halo less the retaper's (the estimator itself reads them)."""
        return self.plan.halo - (self.retaper.halo if self.retaper is not None else 0)


def prepare_scene(
    source,
    card,
    domain: str,
    looks: float | None,
    tile_size: int,
    point_target_factor: float | None,
    progress: Callable[[float], None] | None = None,
    point_target_pfa: float | None = None,
    retaper: Retaper | None = None,
) -> Scene:
    """Scan the whole raster once and plan its tiles: the first step of every runner.

    The scene-level normalisation and point-target threshold are computed here, over the whole
    raster, so that tiles processed anywhere (in order, or on many machines) give the same
    result as one untiled run.

    Parameters
    ----------
    source : RasterSource or ArraySource
        The raster band.
    card : ModelCard
        The model's card (looks, point-target factor, receptive field, size multiple).
    domain : {"intensity", "amplitude"}
        Domain of a real band.
    looks, point_target_factor, point_target_pfa : float, optional
        Overrides of the card's values; the factor applies only when the PFA is 0.
    tile_size : int
        Requested tile core size.
    progress : callable, optional
        Fraction of the scan done.
    retaper : Retaper, optional
        The retapering stage after the estimator (:func:`scene_retaper`); its halo is added.
    """
    looks = float(card.looks if looks is None else looks)
    factor = card.point_target_factor if point_target_factor is None else point_target_factor
    pfa = card_pfa(card) if point_target_pfa is None else float(point_target_pfa)
    scale = scan_intensity(source, domain, factor, progress, pfa)
    halo = estimator_halo(card, pfa)
    halo += retaper.halo if retaper is not None else 0
    plan = plan_tiles(source.info.height, source.info.width, tile_size, halo, card.size_multiple)
    output_domain = INTENSITY if source.info.is_complex else domain
    return Scene(looks, scale, plan, domain, output_domain, retaper)


def scene_retaper(
    provenance: dict | None, enabled: bool = True, log: Callable[[str], None] | None = None
) -> Retaper | None:
    """The retapering stage for an input with these ``S2V_DECORRELATION_*`` items, or None
    (switched off, or not applicable: the log says why)."""
    log = log or LOG.info
    if not enabled:
        log("Retapering: off (RETAPER).")
        return None
    retaper, why = retaper_from_metadata(provenance)
    log(f"Retapering: {retaper.describe()}." if retaper else f"Retapering: none, {why}.")
    return retaper


def estimator_halo(card, pfa: float) -> int:
    """Halo (pixels) around a tile core that makes the estimate there exact.

    The network reads ``card.receptive_field`` pixels; with the local rule (``pfa`` > 0) its
    input is clipped from a ring up to :data:`RING_OUTER` px away, the pair test reads one
    neighbour's tail (:data:`PAIR_REACH`), and the local-mean factor reads
    :data:`RENORMALISATION_RADIUS` px of estimates around a pixel.
    """
    if pfa <= 0:
        return card.receptive_field
    return card.receptive_field + RING_OUTER + PAIR_REACH + RENORMALISATION_RADIUS


def card_pfa(card) -> float:
    """The card's point-target false-alarm probability (cards before 1.2 lack it)."""
    return float(getattr(card, "point_target_pfa", DEFAULT_PFA))


@dataclass(frozen=True)
class _Request:
    """What the caller asked of a run, passed whole from :func:`despeckle_raster` and
    :func:`despeckle_array` to :func:`_run` (None: the model card's value)."""

    domain: str
    looks: float | None
    tile_size: int | None
    point_target_factor: float | None
    point_target_pfa: float | None
    retaper: Retaper | None = None  # the resolved stage (:func:`scene_retaper`)

    def check(self, auto: bool = False) -> None:
        """Raise :class:`InputError` for values no run accepts (``auto``: DOMAIN may be auto)."""
        pfa, looks, tile_size = self.point_target_pfa, self.looks, self.tile_size
        if pfa is not None and not (np.isfinite(pfa) and 0 <= pfa < 1):
            raise InputError(
                f"POINT_TARGET_PFA must be a probability in [0, 1), 0 to disable (got {pfa})."
            )
        check_domain(self.domain, auto)
        if looks is not None and not (np.isfinite(looks) and looks >= 1):
            raise InputError(f"LOOKS must be a number >= 1 (got {looks}).")
        if tile_size and tile_size < MIN_TILE_SIZE:
            raise InputError(
                f"TILE_SIZE must be at least {MIN_TILE_SIZE} pixels (got {tile_size})."
            )


def choose_tile(
    session: ModelSession,
    tile_size: int | None,
    memory_budget_mb: float | None,
    log: Callable[[str], None],
    raster_shape: tuple[int, int] | None = None,
    extra_halo: int = 0,
) -> tuple[int, int]:
    """Tile core size and batch size (pixels) of a run; logs the tile and the memory budget.

    An explicit ``tile_size`` wins; empty or 0 takes the largest tile that fits the memory
    budget on the CPU (:mod:`s2v_plugin.runtime.memory`), or :data:`DEFAULT_GPU_TILE_SIZE` on
    CUDA.
    """
    card = session.card
    per_pixel = memory.bytes_per_pixel(card)
    if not tile_size and session.provider == CUDA_PROVIDER:
        tile_size = DEFAULT_GPU_TILE_SIZE
        log(f"Tile: {tile_size} px (default on CUDA; GPU memory is not limited by the budget).")
        return tile_size, BATCH_PIXELS
    choice = memory.choose_tile(
        tile_size,
        memory_budget_mb,
        estimator_halo(card, card_pfa(card)) + extra_halo,
        card.size_multiple,
        per_pixel,
        memory.available_memory_mb(),
        raster_shape,
    )
    how = "chosen from the memory budget" if choice.automatic else "TILE_SIZE"
    log(
        f"Tile: {choice.tile_size} px ({how}); estimated {choice.estimated_mb:.0f} MB for the "
        f"network and tiles, memory budget {choice.budget_mb:.0f} MB."
    )
    if choice.estimated_mb > choice.budget_mb:
        log(
            f"Warning: TILE_SIZE {choice.tile_size} needs about {choice.estimated_mb:.0f} MB, more "
            f"than the memory budget of {choice.budget_mb:.0f} MB; leave TILE_SIZE empty to fit it."
        )
    budget_pixels = int(
        choice.budget_mb * memory.MB / (per_pixel + memory.PIPELINE_BYTES_PER_PIXEL)
    )
    return choice.tile_size, min(BATCH_PIXELS, budget_pixels)


#: What :func:`_run` can write, per output: ``"mean"``, ``"std"`` or ``"targets"`` (bytes).
PRODUCTS = ("mean", "std", "targets")


def _run(
    source,
    session: ModelSession,
    outputs: list,
    products: list[str],
    request: _Request,
    callbacks: Callbacks,
    batch_pixels: int,
) -> DespeckleReport:
    """Shared run of :func:`despeckle_raster` and :func:`despeckle_array`: scan, then the tiled
    run writing ``products[i]`` (one of :data:`PRODUCTS`) into ``outputs[i]``; ``request``
    holds the resolved domain and looks, the chosen tile size and the retapering stage."""
    started = time.perf_counter()
    card = session.card
    scene = prepare_scene(
        source,
        card,
        request.domain,
        request.looks,
        request.tile_size,
        request.point_target_factor,
        callbacks.part(0.0, SCAN_SHARE),
        request.point_target_pfa,
        request.retaper,
    )
    domain = scene.domain
    looks, scale, plan, output_domain = scene.looks, scene.scale, scene.plan, scene.output_domain
    despeckler = Despeckler(session, looks, scale, scene.unread_margin)
    point_targets = 0
    select = {
        "mean": lambda result: result.mean,
        "std": lambda result: result.std,
        "targets": lambda result: target_mask_bytes(result.mean, result.targets),
    }
    pick = [select[product] for product in products]

    def compute(tiles, windows):
        nonlocal point_targets
        results = despeckle_windows(
            despeckler, windows, tiles, domain, output_domain, scene.retaper
        )
        point_targets += sum(result.point_targets for result in results)
        return [tuple(get(result) for get in pick) for result in results]

    run_tiles(
        source,
        plan,
        compute,
        outputs,
        callbacks=callbacks,
        progress_range=(SCAN_SHARE, 1.0),
        batch_pixels=batch_pixels,
    )
    return DespeckleReport(
        model=card.summary(),
        execution_provider=session.provider,
        looks=looks,
        scale=scale.scale,
        point_target_threshold=scale.threshold,
        point_targets=point_targets,
        valid_fraction=scale.valid_fraction,
        tiles=len(plan.tiles),
        tile_size=plan.core_rows,
        halo=plan.halo,
        network_seconds=despeckler.network_seconds,
        total_seconds=time.perf_counter() - started,
        output_domain=output_domain,
        point_target_pfa=scale.pfa,
        retaper=scene.retaper.describe() if scene.retaper is not None else "",
    )


def resolve_model_path(model_path: str | None) -> str:
    """The given model, or the shipped default; :class:`InputError` when neither exists."""
    if model_path:
        return model_path
    default = default_model_path()
    if default is None:
        raise InputError(
            "No default model is shipped with this copy of the plugin: choose a Speckle2Void "
            ".onnx file in MODEL (training/README.md explains how to train one)."
        )
    return default


MEAN, STD = "posterior mean", "posterior std"


def band_description(output_domain: str, what: str) -> str:
    """Description of an output band (``what`` is :data:`MEAN` or :data:`STD`)."""
    return f"{output_domain} {what}"


def output_metadata(
    session: ModelSession,
    output_domain: str,
    band: int,
    description: InputDescription | None = None,
    point_target_factor: float | None = None,
) -> dict:
    """Metadata items of the outputs known before the run: the input's carried-forward
    provenance (``S2V_DECORRELATION_*``), the model, the settings, plugin version and time."""
    card = session.card
    return provenance_items(
        description.provenance if description else None,
        model=card.summary(),
        model_name=card.name,
        model_version=card.model_version,
        domain=output_domain,
        source_band=band,
        input_kind=description.kind if description else None,
        point_target_factor=(
            card.point_target_factor if point_target_factor is None else point_target_factor
        ),
    )


def report_metadata(report: DespeckleReport) -> dict:
    """Metadata items of the outputs known after the run."""
    return {
        "S2V_LOOKS": report.looks,
        "S2V_SCALE": report.scale,
        "S2V_POINT_TARGETS": report.point_targets,
        "S2V_POINT_TARGET_PFA": report.point_target_pfa,
        "S2V_EXECUTION_PROVIDER": report.execution_provider,
        "S2V_RETAPER": report.retaper or "none",
    }


#: Value of nodata pixels in the point-target mask.
MASK_NODATA = 255


def target_mask_bytes(mean: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """The byte mask of a tile: 1 point target, 0 other valid pixel, 255 nodata."""
    out = np.where(targets, 1, 0).astype(np.uint8)
    return np.where(np.isfinite(mean), out, np.uint8(MASK_NODATA)).astype(np.uint8)


def output_nodata(info: BandInfo) -> float:
    """Nodata value of the outputs: the input's when finite, else NaN."""
    nodata = info.nodata
    return float(nodata) if nodata is not None and np.isfinite(nodata) else float("nan")


def despeckle_raster(
    input_path: str,
    output_path: str,
    band: int = 1,
    domain: str = AUTO,
    looks: float | None = None,
    model_path: str | None = None,
    tile_size: int | None = None,
    device: str = "auto",
    uncertainty_path: str | None = None,
    point_target_factor: float | None = None,
    progress: Callable[[float], None] | None = None,
    is_cancelled: Callable[[], bool] | None = None,
    log: Callable[[str], None] | None = None,
    batch_pixels: int | None = None,
    warn: Callable[[str], None] | None = None,
    point_target_pfa: float | None = None,
    point_targets_path: str | None = None,
    memory_budget_mb: float | None = None,
    threads: int = 0,
    precision: str = "fp32",
    retaper: bool = True,
) -> DespeckleReport:
    """Despeckle one band of a raster file into a float32 GeoTIFF (or other GDAL format).

    Parameters
    ----------
    input_path : str
        Raster readable by GDAL: intensity, amplitude or complex (SLC) band.
    output_path : str
        Destination of the despeckled band, in the input's domain (complex gives intensity).
    band : int
        1-based band number.
    domain : {"auto", "intensity", "amplitude"}
        Domain of a real band; ``"auto"`` decides from the metadata and the speckle statistics
        (:func:`s2v_plugin.io.input_description.describe_raster`); complex bands are always
        converted to intensity.
    looks : float, optional
        Number of looks L of the input; default: 1 for complex input, else the ENL estimated
        over homogeneous areas (a warning says when it differs from the model's looks).
    model_path : str, optional
        Speckle2Void ONNX model; default: the shipped model.
    tile_size : int, optional
        Core size of the tiles in pixels; does not change the result, only speed and memory.
        None or 0: the largest that fits ``memory_budget_mb`` (CPU), or 2048 (CUDA).
    device : {"auto", "cpu", "cuda"}
        Execution device.
    uncertainty_path : str, optional
        Destination of the posterior standard deviation (same domain and units as the output).
    point_target_factor : float, optional
        Deprecated: used only when ``point_target_pfa`` is 0; pixels brighter than this times
        the median are kept unchanged; default from the card.
    progress, is_cancelled, log, warn : callables, optional
        Progress in [0, 1], cancel polling (checked before every batch of tiles), log lines,
        warnings (default: ``log``).
    batch_pixels : int, optional
        Window pixels per network run (several small tiles share a run); default from the budget.
    point_target_pfa : float, optional
        False-alarm probability of the local point-target rule (a pixel improbable under its
        neighbourhood's prior keeps its value); default from the card (1e-6), 0 disables.
    point_targets_path : str, optional
        Destination of a byte mask: 1 for point targets, 0 elsewhere, 255 for nodata.
    memory_budget_mb : float, optional
        Memory for the network and the tiles; default 1024 MB, at most half the available RAM.
    threads : int
        CPU threads of the network; 0 lets onnxruntime use every core.
    precision : {"fp32", "int8", "fp16"}
        Model variant; only fp32 unless a variant is shipped next to the model.
    retaper : bool
        Filter the estimate back to the product's tapered resolution when the input was
        decorrelated by this plugin with its oversampling kept (:mod:`s2v_plugin.core.retaper`);
        other inputs are never filtered.

    Returns
    -------
    DespeckleReport

    Raises
    ------
    S2VError
        With an actionable message; no output file is left behind.
    """
    callbacks = Callbacks.of(progress, is_cancelled, log, warn)
    log, warn = callbacks.log, callbacks.warn
    request = _Request(domain, looks, tile_size, point_target_factor, point_target_pfa)
    request.check(auto=True)
    for path in filter(None, (output_path, uncertainty_path, point_targets_path)):
        check_writable(path)
    memory.return_freed_memory_to_the_system()
    with RasterSource(input_path, band) as source, gdal_cache_limit(memory.GDAL_CACHE_MB):
        session = ModelSession(resolve_model_path(model_path), device, threads, precision)
        log(f"Model: {session.card.summary()} ({precision})")
        description = describe_raster(
            input_path,
            band,
            domain,
            looks,
            needs_white_speckle=True,
            model_looks=session.card.looks,
        )
        description.report(log, warn)
        domain, looks = description.domain, description.looks
        if session.fallback_reason:
            log(f"DEVICE {device}: running on the CPU because {session.fallback_reason}.")
        elif device == "auto" and session.provider != CUDA_PROVIDER:
            log("DEVICE auto: CUDA is not usable here (needs onnxruntime-gpu), running on the CPU.")
        log(f"Execution provider: {session.provider} (DEVICE {device})")
        retaper_stage = scene_retaper(description.provenance, retaper, log)
        tile_size, budget_batch = choose_tile(
            session,
            tile_size,
            memory_budget_mb,
            log,
            (source.info.height, source.info.width),
            retaper_stage.halo if retaper_stage else 0,
        )
        batch_pixels = batch_pixels or budget_batch
        output_domain = INTENSITY if source.info.is_complex else domain
        nodata = output_nodata(source.info)
        georeferencing = source.georeferencing()
        width, height = source.info.width, source.info.height
        metadata = output_metadata(session, output_domain, band, description, point_target_factor)
        outputs = [
            (path, product, band_description(output_domain, what))
            for path, product, what in (
                (output_path, "mean", MEAN),
                (uncertainty_path, "std", STD),
                (point_targets_path, "targets", "point targets (1), other pixels (0)"),
            )
            if path
        ]
        writers = [
            RasterWriter(
                path,
                width=width,
                height=height,
                dtype=np.uint8 if product == "targets" else np.float32,
                georeferencing=georeferencing,
                nodata=float(MASK_NODATA) if product == "targets" else nodata,
                metadata=metadata,
                band_descriptions=[description_text],
            )
            for path, product, description_text in outputs
        ]
        for writer, (_, product, _) in zip(writers, outputs):
            if product != "targets":
                writer.set_unit_type(UNITS[output_domain])
        with all_or_nothing(writers):
            products = [product for _, product, _ in outputs]
            resolved = replace(
                request, domain=domain, looks=looks, tile_size=tile_size, retaper=retaper_stage
            )
            report = _run(source, session, writers, products, resolved, callbacks, batch_pixels)
            for writer in writers:
                for key, value in report_metadata(report).items():
                    writer.set_metadata_item(key, value)
    log(
        f"Despeckled {width}x{height} px in {report.tiles} tile(s) of {report.tile_size} px "
        f"(halo {report.halo}); scale {report.scale:.6g}, {report.point_targets} point target(s) "
        f"kept; network {report.network_seconds:.1f} s of {report.total_seconds:.1f} s."
    )
    return report


def despeckle_array(
    image: np.ndarray,
    model_path: str | None = None,
    looks: float | None = None,
    tile_size: int | None = None,
    domain: str = INTENSITY,
    device: str = "cpu",
    point_target_factor: float | None = None,
    return_std: bool = False,
    point_target_pfa: float | None = None,
    return_targets: bool = False,
    decorrelation: dict | None = None,
    retaper: bool = True,
):
    """Despeckle an in-memory image (NaN = nodata) exactly as :func:`despeckle_raster` would.

    ``decorrelation``: the image's ``S2V_DECORRELATION_*`` items (for an array from
    :func:`s2v_plugin.decorrelate.decorrelate_array`, its report's ``metadata()``), which
    enable the retapering stage as a raster's metadata would; ``retaper`` False switches it off.

    Returns the posterior mean in the image's domain (complex gives intensity), or
    (mean, std, report) when ``return_std`` is true; ``return_targets`` appends the boolean
    point-target mask to that tuple.
    """
    request = _Request(domain, looks, tile_size, point_target_factor, point_target_pfa)
    request.check()
    source = ArraySource(image)
    session = ModelSession(resolve_model_path(model_path), device)
    retaper_stage = scene_retaper(decorrelation, retaper, LOG.debug)
    tile_size, batch_pixels = choose_tile(
        session,
        tile_size,
        None,
        LOG.debug,
        image.shape[:2],
        retaper_stage.halo if retaper_stage else 0,
    )
    outputs = [
        ArrayOutput(*image.shape),
        ArrayOutput(*image.shape),
        ArrayOutput(*image.shape, dtype=np.uint8, fill=MASK_NODATA),
    ]
    request = replace(request, tile_size=tile_size, retaper=retaper_stage)
    report = _run(source, session, outputs, list(PRODUCTS), request, Callbacks(), batch_pixels)
    mean, std = outputs[0].array, outputs[1].array
    targets = outputs[2].array == 1
    if return_targets:
        return mean, std, report, targets
    return (mean, std, report) if return_std else mean


__all__ = [
    "AMPLITUDE",
    "INTENSITY",
    "ArraySource",
    "DespeckleReport",
    "Scene",
    "TileResult",
    "despeckle_array",
    "despeckle_raster",
    "despeckle_tiles",
    "despeckle_windows",
    "prepare_scene",
    "scan_intensity",
    "scene_retaper",
]
