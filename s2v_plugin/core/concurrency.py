"""Independent array computations on several CPU threads.

numpy's ufuncs and scipy.ndimage's filters release the GIL on large arrays, so calls that do not
share output arrays run in parallel on Python threads. The network already uses every core
(onnxruntime's intra-op threads); the estimator's filters between its runs would otherwise use
one. The results do not depend on the number of threads.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

_POOLS: dict[int, ThreadPoolExecutor] = {}


def cpu_threads(requested: int = 0) -> int:
    """``requested`` threads, or every core when it is 0 (as onnxruntime does)."""
    return int(requested) if requested > 0 else max(1, os.cpu_count() or 1)


def run_all(calls: Sequence[Callable[[], object]], threads: int = 1) -> list:
    """The results of ``calls``, in order, computed on up to ``threads`` threads."""
    if threads <= 1 or len(calls) <= 1:
        return [call() for call in calls]
    workers = min(int(threads), len(calls))
    pool = _POOLS.get(workers)
    if pool is None:
        pool = _POOLS[workers] = ThreadPoolExecutor(workers, thread_name_prefix="s2v-estimator")
    return [future.result() for future in [pool.submit(call) for call in calls]]
