"""A text progress bar on stderr, fed by the runner's task counts."""

from __future__ import annotations

import sys
import time

WIDTH = 30
LINE_SECONDS = 5.0  # when stderr is not a terminal, one line at most this often


class ProgressBar:
    """``[#########.....]  45%  tasks 12/40  files 1/3``; a line per few seconds in logs."""

    def __init__(self, files: int, enabled: bool = True, stream=None) -> None:
        self.files = files
        self.stream = stream or sys.stderr
        self.enabled = enabled and files > 0
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._last = 0.0
        self._shown = False

    def start(self, client) -> None:
        if not self.enabled:
            return
        info = client.scheduler_info()
        workers = info.get("workers", {})
        threads = sum(w.get("nthreads", 0) for w in workers.values())
        print(
            f"Dask: {len(workers)} worker(s), {threads} thread(s) at {client.scheduler.address}",
            file=self.stream,
        )

    def update(self, state) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        final = state.files_done == state.files_total
        if not self.tty and not final and now - self._last < LINE_SECONDS:
            return
        self._last = now
        filled = int(WIDTH * state.fraction)
        line = (
            f"[{'#' * filled}{'.' * (WIDTH - filled)}] {100 * state.fraction:3.0f}%  "
            f"tasks {state.tasks_done}/{state.tasks_total}  "
            f"files {state.files_done}/{state.files_total}"
        )
        if self.tty:
            self.stream.write("\r" + line)
            self._shown = True
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self._shown:
            self.stream.write("\n")
            self.stream.flush()
            self._shown = False
