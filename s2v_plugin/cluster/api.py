"""The despeckler on a Dask cluster, called like :func:`s2v_plugin.despeckle.despeckle_raster`.

Used by the Processing algorithm when its ``SCHEDULER`` parameter is set.
"""

from __future__ import annotations

from typing import Callable

from ..core.domain import AUTO
from ..core.errors import S2VError
from ..despeckle import DespeckleReport
from ..io.input_description import describe_raster
from .client import DEFAULT_TIMEOUT, dask_client
from .runner import run_jobs
from .tasks import DespeckleJob


def despeckle_on_cluster(
    scheduler: str | None,
    timeout: float = DEFAULT_TIMEOUT,
    progress: Callable[[float], None] | None = None,
    is_cancelled: Callable[[], bool] | None = None,
    log: Callable[[str], None] | None = None,
    warn: Callable[[str], None] | None = None,
    **arguments,
) -> DespeckleReport:
    """Despeckle one raster on a Dask cluster; the same result as ``despeckle_raster``.

    Parameters
    ----------
    scheduler : str or None
        Scheduler address or scheduler file; None starts a local cluster.
    timeout : float
        Seconds to wait for the scheduler.
    progress, is_cancelled, log, warn : callables, optional
        As for ``despeckle_raster``. DOMAIN and LOOKS are resolved here, once, by
        :func:`~s2v_plugin.io.input_description.describe_raster`, and logged.
    **arguments
        ``despeckle_raster``'s parameters (``input_path``, ``output_path``, ``band``,
        ``domain``, ``looks``, ``model_path``, ``tile_size``, ``device``, ``uncertainty_path``,
        ``point_target_factor``, ``point_target_pfa``). Paths must be readable and writable
        by every worker.

    Raises
    ------
    S2VError
        With the reason the raster failed; no output is left behind.
    """
    log = log or (lambda line: None)
    warn = warn or log
    description = describe_raster(
        arguments["input_path"],
        arguments.get("band", 1),
        arguments.get("domain", AUTO),
        arguments.get("looks"),
        needs_white_speckle=True,
    )
    description.report(log, warn)
    job = DespeckleJob(**{**arguments, "domain": description.domain, "looks": description.looks})
    with dask_client(scheduler, timeout) as client:
        workers = client.scheduler_info().get("workers", {})
        log(f"Dask scheduler {client.scheduler.address}: {len(workers)} worker(s).")
        [outcome] = run_jobs(
            client,
            [job],
            progress=(lambda state: progress(state.fraction)) if progress else None,
            is_cancelled=is_cancelled,
        )
    if outcome.status != "done":
        raise S2VError(outcome.error or "The distributed run failed.")
    report = outcome.result
    log(
        f"Despeckled on the cluster in {report.tiles} tile(s) of {report.tile_size} px; "
        f"scale {report.scale:.6g}, {report.point_targets} point target(s) kept; network "
        f"{report.network_seconds:.1f} s (all workers) of {report.total_seconds:.1f} s."
    )
    return report
