"""Functions that run on Dask workers: the engine's own steps, one raster window at a time.

Every function here calls the engine (:func:`~s2v_plugin.despeckle.prepare_scene`,
:func:`~s2v_plugin.despeckle.despeckle_tiles`, :func:`~s2v_plugin.io.blocks.assemble_blocks`
and the ``*_raster`` functions); nothing is reimplemented. They import no Dask, so they can be
tested and profiled without a cluster.
"""

from __future__ import annotations

import functools
import os
import threading
import time
from dataclasses import dataclass, field

from ..core.errors import S2VError
from ..despeckle import (
    MEAN,
    STD,
    Despeckler,
    DespeckleReport,
    Scene,
    band_description,
    choose_tile,
    despeckle_tiles,
    output_metadata,
    output_nodata,
    prepare_scene,
    report_metadata,
    resolve_model_path,
    scene_retaper,
)
from ..io.blocks import assemble_blocks, write_block
from ..io.georeferencing import Georeferencing
from ..io.input_description import describe_source
from ..io.raster_source import RasterSource
from ..provenance import UNITS
from ..runtime.session import ModelSession

_SESSIONS: dict[tuple, ModelSession] = {}
_SESSIONS_LOCK = threading.Lock()


@dataclass(frozen=True)
class DespeckleJob:
    """The arguments of :func:`s2v_plugin.despeckle.despeckle_raster` for one raster."""

    input_path: str
    output_path: str
    band: int = 1
    domain: str = "intensity"
    looks: float | None = None
    model_path: str | None = None
    tile_size: int | None = None
    device: str = "auto"
    uncertainty_path: str | None = None
    point_target_factor: float | None = None
    point_target_pfa: float | None = None
    memory_budget_mb: float | None = None
    threads: int = 0
    precision: str = "fp32"
    retaper: bool = True


@dataclass(frozen=True)
class SceneInfo:
    """A raster's scene-level statistics and plan, plus what its outputs need."""

    scene: Scene
    width: int
    height: int
    georeferencing: Georeferencing
    nodata: float
    metadata: dict
    model: str
    provider: str
    started: float = field(default_factory=time.time)


@dataclass(frozen=True)
class BlockDone:
    """What a tile task reports back (the pixels stay in its block files)."""

    point_targets: int
    network_seconds: float


@dataclass(frozen=True)
class TaskFailure:
    """A task's domain error (bad input, bad model...), returned rather than raised so that
    Dask does not retry what cannot succeed; the message is the engine's own."""

    message: str


def returns_domain_errors(function):
    """Decorator: :class:`~s2v_plugin.core.errors.S2VError` becomes a :class:`TaskFailure`."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        failed = [a for a in args if isinstance(a, TaskFailure)]
        if failed:
            return failed[0]
        try:
            return function(*args, **kwargs)
        except S2VError as exc:
            return TaskFailure(str(exc))

    return wrapper


#: onnxruntime threads per run on a worker: one per Dask task thread, so a worker started with
#: ``--nthreads N`` uses N cores (a worker's threads share its one session).
SESSION_THREADS = 1


def worker_session(job: DespeckleJob) -> ModelSession:
    """The onnxruntime session of this worker process for a job's model, device, threads and
    precision (made once, then shared by the worker's tasks)."""
    path = resolve_model_path(job.model_path)
    threads = job.threads or SESSION_THREADS
    key = (os.path.abspath(path), job.device, threads, job.precision)
    with _SESSIONS_LOCK:
        session = _SESSIONS.get(key)
        if session is None:
            session = _SESSIONS[key] = ModelSession(path, job.device, threads, job.precision)
    return session


@returns_domain_errors
def scan_scene(job: DespeckleJob) -> SceneInfo:
    """Step 1: validate the raster, compute its scene-level statistics, plan its tiles."""
    session = worker_session(job)
    with RasterSource(job.input_path, job.band) as source:
        # the client resolved DOMAIN and LOOKS and logged the description; here it gives the
        # provenance the outputs carry
        # the tile from TILE_SIZE or the memory budget, as despeckle_raster chooses it, on
        # the worker that runs the tiles (its free memory)
        description = describe_source(source, job.domain, job.looks)
        retaper = scene_retaper(description.provenance, job.retaper, lambda line: None)
        tile_size, _ = choose_tile(
            session,
            job.tile_size,
            job.memory_budget_mb,
            lambda line: None,
            (source.info.height, source.info.width),
            retaper.halo if retaper else 0,
        )
        scene = prepare_scene(
            source,
            session.card,
            description.domain,
            description.looks,
            tile_size,
            job.point_target_factor,
            point_target_pfa=job.point_target_pfa,
            retaper=retaper,
        )
        return SceneInfo(
            scene=scene,
            width=source.info.width,
            height=source.info.height,
            georeferencing=source.georeferencing(),
            nodata=output_nodata(source.info),
            metadata=output_metadata(
                session, scene.output_domain, job.band, description, job.point_target_factor
            ),
            model=session.card.summary(),
            provider=session.provider,
        )


def block_folders(scratch: str) -> tuple[str, str]:
    """Block folders of the posterior mean and std inside a job's scratch folder."""
    return os.path.join(scratch, "mean"), os.path.join(scratch, "std")


@returns_domain_errors
def despeckle_blocks(job: DespeckleJob, info: SceneInfo, tiles, scratch: str) -> BlockDone:
    """Step 2: despeckle some tiles and write their cores as block files (idempotent)."""
    session = worker_session(job)
    scene = info.scene
    despeckler = Despeckler(session, scene.looks, scene.scale, scene.unread_margin)
    with RasterSource(job.input_path, job.band) as source:
        results = despeckle_tiles(
            despeckler,
            source,
            scene.plan,
            tiles,
            scene.domain,
            scene.output_domain,
            scene.retaper,
        )
    mean_folder, std_folder = block_folders(scratch)
    for result in results:
        write_block(mean_folder, result.tile, result.mean, info.nodata)
        if job.uncertainty_path:
            write_block(std_folder, result.tile, result.std, info.nodata)
    return BlockDone(sum(r.point_targets for r in results), despeckler.network_seconds)


@returns_domain_errors
def assemble(job: DespeckleJob, info: SceneInfo, blocks: list[BlockDone], scratch: str):
    """Step 3: mosaic the blocks into the outputs (all-or-nothing) and report the run."""
    failed = [block for block in blocks if isinstance(block, TaskFailure)]
    if failed:
        return failed[0]
    scene = info.scene
    report = DespeckleReport(
        model=info.model,
        execution_provider=info.provider,
        looks=scene.looks,
        scale=scene.scale.scale,
        point_target_threshold=scene.scale.threshold,
        point_targets=sum(block.point_targets for block in blocks),
        valid_fraction=scene.scale.valid_fraction,
        tiles=len(scene.plan.tiles),
        tile_size=scene.plan.core_rows,
        halo=scene.plan.halo,
        network_seconds=sum(block.network_seconds for block in blocks),
        total_seconds=time.time() - info.started,
        output_domain=scene.output_domain,
        point_target_pfa=scene.scale.pfa,
        retaper=scene.retaper.describe() if scene.retaper else "",
    )
    mean_folder, std_folder = block_folders(scratch)
    outputs = [(job.output_path, mean_folder, band_description(scene.output_domain, MEAN))]
    if job.uncertainty_path:
        outputs.append(
            (job.uncertainty_path, std_folder, band_description(scene.output_domain, STD))
        )
    assemble_blocks(
        outputs,
        scene.plan.tiles,
        info.width,
        info.height,
        georeferencing=info.georeferencing,
        nodata=info.nodata,
        metadata={**info.metadata, **report_metadata(report)},
        unit=UNITS[scene.output_domain],
    )
    return report


@returns_domain_errors
def run_whole_file(function, kwargs: dict):
    """One raster through one engine function (decorrelate, classic filter, evaluate)."""
    return function(**kwargs)
