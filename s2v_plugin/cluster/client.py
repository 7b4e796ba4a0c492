"""Connecting to a Dask scheduler, or starting an embedded ``LocalCluster``."""

from __future__ import annotations

import logging
import os
import sys
from contextlib import contextmanager

from ..core.errors import RuntimeUnavailable, S2VError

LOG = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 30.0
INSTALL_HINT = (
    "Running on a Dask cluster needs dask.distributed in the Python that runs Speckle2Void: "
    "'python -m pip install \"dask[distributed]\"' (for QGIS, use the Python QGIS runs, as for "
    "onnxruntime), then run again. Leave the scheduler empty to run in this process."
)


class ClusterError(S2VError):
    """The cluster could not be reached or started."""


def import_distributed():
    """Import and return ``distributed``, or raise :class:`RuntimeUnavailable` with the fix."""
    try:
        import distributed
    except ImportError as exc:
        raise RuntimeUnavailable(f"{INSTALL_HINT} (import failed: {exc})") from exc
    return distributed


def local_cluster_shape(cores: int | None = None) -> tuple[int, int]:
    """Worker processes and threads per worker that fit this machine's cores.

    One single-threaded worker process per core up to 4 cores (onnxruntime and GDAL release the
    GIL, but separate processes keep one session per core and isolate crashes); beyond that,
    workers of 2 threads, each thread running its own tiles.
    """
    if cores is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cores = max(1, cores or 1)
    if cores <= 4:
        return cores, 1
    return cores // 2, 2


@contextmanager
def dask_client(
    scheduler: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    workers: int | None = None,
    threads_per_worker: int | None = None,
):
    """A ``distributed.Client`` on ``scheduler``, or on an embedded ``LocalCluster``.

    Parameters
    ----------
    scheduler : str, optional
        Address of a running scheduler (``tcp://host:8786``) or a scheduler file (``*.json``);
        None starts a ``LocalCluster`` of worker processes on this machine.
    timeout : float
        Seconds to wait for the scheduler before giving up.
    workers, threads_per_worker : int, optional
        Shape of the embedded cluster; by default it fits the cores
        (:func:`local_cluster_shape`).

    Raises
    ------
    ClusterError
        When the scheduler cannot be reached within ``timeout`` or the cluster cannot start.
    RuntimeUnavailable
        When dask.distributed is not installed.
    """
    distributed = import_distributed()
    cluster = None
    try:
        if scheduler:
            kwargs = {"timeout": timeout}
            if scheduler.endswith(".json"):
                kwargs["scheduler_file"] = scheduler
            else:
                kwargs["address"] = scheduler
            try:
                client = distributed.Client(**kwargs)
            except (OSError, TimeoutError, ValueError) as exc:
                raise ClusterError(
                    f"Cannot reach the Dask scheduler at '{scheduler}' within {timeout:g} s "
                    f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}). "
                    "Check the address and that 'dask scheduler' and 'dask worker' are running "
                    "there, raise --timeout, or leave --scheduler out to run on this machine."
                ) from exc
        else:
            default_workers, default_threads = local_cluster_shape()
            try:
                cluster = distributed.LocalCluster(
                    n_workers=workers or default_workers,
                    threads_per_worker=threads_per_worker or default_threads,
                    processes=True,
                    dashboard_address=None,
                    timeout=timeout,
                )
            except (OSError, TimeoutError) as exc:
                raise ClusterError(f"Cannot start the local Dask cluster: {exc}") from exc
            client = distributed.Client(cluster, timeout=timeout)
        try:
            yield client
        finally:
            _close(client, sys.exc_info()[1])
    finally:
        if cluster is not None:
            _close(cluster, sys.exc_info()[1])


def _close(resource, pending: BaseException | None) -> None:
    """Close a client or cluster; while an exception (Ctrl-C above all) is on its way out, an
    error of the closing itself is logged rather than raised, so that it cannot replace it."""
    if pending is None:
        resource.close()
        return
    try:
        resource.close()
    except Exception as exc:  # noqa: BLE001
        LOG.debug("Closing %s after %r failed: %s", type(resource).__name__, pending, exc)
