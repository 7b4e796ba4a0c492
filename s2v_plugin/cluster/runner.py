"""One task graph for many rasters: submit, follow, report each file, clean up.

A despeckling job becomes a scan task (scene-level statistics and the tile plan, computed over
the whole raster first), one task per tile (writing its core as a block file, atomically) and an
assembly task (GDAL mosaics the blocks into the output, all-or-nothing). Other algorithms are one
task per file. Tasks lost with a worker are recomputed by the scheduler; failing tasks are
retried; a file that still fails is reported with its reason while the others complete.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..core.errors import Cancelled
from ..io.blocks import partial_files
from . import tasks
from .tasks import DespeckleJob

LOG = logging.getLogger(__name__)

RETRIES = 2
POLL_SECONDS = 0.05
#: Longest wait, after cancelling, for tasks already running on workers to return (a running
#: task cannot be interrupted; its blocks must not be written after the cleanup).
STOP_SECONDS = 60.0


@dataclass(frozen=True)
class FileJob:
    """One raster through one engine function, as a single task."""

    input_path: str
    outputs: tuple[str, ...]
    function: Callable
    kwargs: dict


@dataclass
class Outcome:
    """What happened to one input."""

    input: str
    outputs: list[str]
    status: str = "pending"  # "done", "failed", "skipped"
    error: str | None = None
    seconds: float = 0.0
    details: dict = field(default_factory=dict)
    result: Any = field(default=None, repr=False)  # the engine's report, when done


@dataclass
class Progress:
    """Counts passed to the progress callback after every finished task."""

    tasks_done: int
    tasks_total: int
    files_done: int
    files_total: int

    @property
    def fraction(self) -> float:
        return self.tasks_done / self.tasks_total if self.tasks_total else 0.0


def describe_error(exc) -> str:
    """A one-line reason for a failed file (the engine's own message when it has one)."""
    from ..core.errors import S2VError

    if isinstance(exc, S2VError):
        return str(exc)
    if isinstance(exc, tasks.TaskFailure):
        return exc.message
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _report_details(report: Any) -> dict:
    if report is None or not hasattr(report, "__dataclass_fields__"):
        return {}
    details = {}
    for name in report.__dataclass_fields__:
        value = getattr(report, name)
        if isinstance(value, (int, float, str, bool)) or value is None:
            details[name] = value
    return details


class _Job:
    """Book-keeping of one input inside the graph."""

    def __init__(self, index: int, job, outcome: Outcome) -> None:
        self.index = index
        self.job = job
        self.outcome = outcome
        self.futures: list = []
        self.scratch: str | None = None
        self.started = time.perf_counter()
        self.finished = False


def _scratch_folder(output_path: str) -> str:
    destination = Path(output_path)
    folder = destination.with_name(f".{destination.stem}.{uuid.uuid4().hex[:8]}.blocks")
    for sub in tasks.block_folders(str(folder)):
        os.makedirs(sub)
    return str(folder)


def run_jobs(
    client,
    jobs: list,
    progress: Callable[[Progress], None] | None = None,
    is_cancelled: Callable[[], bool] | None = None,
    retries: int = RETRIES,
) -> list[Outcome]:
    """Run despeckling and whole-file jobs on a Dask client; one :class:`Outcome` per job.

    Parameters
    ----------
    client : distributed.Client
        Connected client (see :func:`s2v_plugin.cluster.client.dask_client`).
    jobs : list of DespeckleJob or FileJob
        The work; outputs must be on a file system every worker can write.
    progress : callable, optional
        Receives a :class:`Progress` after every finished task.
    is_cancelled : callable, optional
        Polled while waiting; when true, the run stops with :class:`Cancelled`.
    retries : int
        Extra attempts of a task that raised (tasks lost with a worker are recomputed anyway).

    Raises
    ------
    Cancelled, KeyboardInterrupt
        After cancelling every task and removing every partial output.
    """
    from distributed import as_completed

    progress = progress or (lambda state: None)
    is_cancelled = is_cancelled or (lambda: False)
    token = uuid.uuid4().hex[:8]
    states: list[_Job] = []
    roles: dict[str, tuple[_Job, str]] = {}
    pending = as_completed()
    total = 0

    def submit(state: _Job, role: str, function, *args, priority: int = 0):
        nonlocal total
        key = f"s2v-{role}-{state.index}-{len(state.futures)}-{token}"
        future = client.submit(
            function, *args, key=key, retries=retries, pure=False, priority=priority
        )
        state.futures.append(future)
        roles[future.key] = (state, role)
        pending.add(future)
        total += 1
        return future

    def fail(state: _Job, exc: BaseException) -> None:
        state.outcome.status = "failed"
        state.outcome.error = describe_error(exc)
        stop_tasks(client, [f for f in state.futures if not f.done()])
        finish(state)

    def finish(state: _Job) -> None:
        state.finished = True
        state.outcome.seconds = time.perf_counter() - state.started
        _cleanup(state)

    try:
        for index, job in enumerate(jobs):
            outputs = (
                [p for p in (job.output_path, job.uncertainty_path) if p]
                if isinstance(job, DespeckleJob)
                else list(job.outputs)
            )
            state = _Job(index, job, Outcome(job.input_path, outputs))
            states.append(state)
            order = len(jobs) - index  # earlier files first, so files finish one by one
            if isinstance(job, DespeckleJob):
                try:
                    state.scratch = _scratch_folder(job.output_path)
                except OSError as exc:
                    fail(state, exc)
                    continue
                submit(state, "scan", tasks.scan_scene, job, priority=10 * len(jobs) + order)
            else:
                submit(
                    state, "file", tasks.run_whole_file, job.function, job.kwargs, priority=order
                )
        files_done = sum(state.finished for state in states)
        done = 0
        while not pending.is_empty():
            if is_cancelled():
                raise Cancelled("Cancelled by the user; the partial outputs were removed.")
            if not pending.has_ready():
                time.sleep(POLL_SECONDS)
                continue
            for future in pending.next_batch(block=False):
                done += 1
                if future.key not in roles:
                    continue  # reported again after its worker died and it was recomputed
                state, role = roles.pop(future.key)
                if state.finished:
                    continue
                status = future.status
                if status in ("lost", "pending"):
                    # its worker died after it finished: the scheduler recomputes it; wait again
                    roles[future.key] = (state, role)
                    pending.add(future)
                    done -= 1
                    continue
                result = future.result() if status == "finished" else None
                if status != "finished":
                    fail(
                        state,
                        future.exception()
                        if status == "error"
                        else Cancelled(f"a task ended as '{status}'"),
                    )
                elif isinstance(result, tasks.TaskFailure):
                    fail(state, result)
                elif role == "scan":
                    info = result
                    order = len(jobs) - state.index
                    blocks = [
                        submit(
                            state,
                            "tile",
                            tasks.despeckle_blocks,
                            state.job,
                            future,
                            (tile,),
                            state.scratch,
                            priority=order,
                        )
                        for tile in info.scene.plan.tiles
                    ]
                    submit(
                        state,
                        "assemble",
                        tasks.assemble,
                        state.job,
                        future,
                        blocks,
                        state.scratch,
                        priority=order,
                    )
                elif role in ("assemble", "file"):
                    state.outcome.status = "done"
                    state.outcome.details = _report_details(result)
                    state.outcome.result = result
                    finish(state)
                files_done = sum(state.finished for state in states)
                progress(Progress(done, total, files_done, len(jobs)))
            for state in states:
                if state.finished:
                    state.futures = []
    except BaseException:
        try:
            stop_tasks(client, [f for state in states for f in state.futures])
        finally:  # a second Ctrl-C while waiting still removes what was written
            for state in states:
                _cleanup(state, outputs_too=True)
        raise
    return [state.outcome for state in states]


def _running_keys(keys, dask_worker=None) -> list:
    """On a worker: which of ``keys`` it is still executing (cancelled or not)."""
    tasks = dask_worker.state.tasks
    busy = ("executing", "long-running", "cancelled", "resumed")
    return [key for key in keys if key in tasks and tasks[key].state in busy]


def stop_tasks(client, futures, timeout: float = STOP_SECONDS) -> None:
    """Cancel ``futures`` and wait until no worker still runs one of them.

    Cancelling only tells the scheduler to forget the tasks; a task already running on a
    worker goes on and may still write its block files. Cleaning up before it returns would
    race those writes, so the cleanup waits here first (at most ``timeout`` seconds). Errors
    of the cluster itself (closing, lost connection) end the wait: nothing more can be done.
    """
    if not futures:
        return
    keys = [future.key for future in futures]
    try:
        client.cancel(futures)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            running = client.run(_running_keys, keys, on_error="return")
            if not any(isinstance(v, list) and v for v in running.values()):
                return
            time.sleep(POLL_SECONDS)
        LOG.warning("Tasks still running %g s after cancelling them.", timeout)
    except Exception as exc:  # noqa: BLE001 (the cleanup that follows must run)
        LOG.debug("Waiting for cancelled tasks failed: %s", exc)


def _cleanup(state: _Job, outputs_too: bool = False) -> None:
    """Remove the job's block folder and any temporary file its writers left behind."""
    if state.scratch:
        for _ in range(5):  # a task still writing a block may recreate a file meanwhile
            shutil.rmtree(state.scratch, ignore_errors=True)
            if not os.path.exists(state.scratch):
                break
            time.sleep(0.2)
    for path in state.outcome.outputs:
        for leftover in partial_files(path):
            try:
                os.remove(leftover)
            except OSError:
                pass
    if outputs_too and state.outcome.status != "done":
        state.outcome.status = "failed"
