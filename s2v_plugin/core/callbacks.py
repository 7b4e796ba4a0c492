"""Progress, cancel and log callbacks with harmless defaults, and the one cancel message.

Numeric engine code (no I/O) and the tiled raster run share them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from .errors import Cancelled

# The logger the tiled run always used (its module name, in the engine and in the plugin).
LOG = logging.getLogger(__name__.replace(".core.callbacks", ".tiled_run"))

#: The message of every cancelled run.
CANCELLED = "Cancelled by the user; no output was written."


def _no_progress(fraction: float) -> None:
    return None


def _never_cancelled() -> bool:
    return False


@dataclass(frozen=True)
class Callbacks:
    """Progress in [0, 1], cancel polling, log lines and warnings, with harmless defaults
    (warnings go to the log unless told otherwise).

    Build it with :meth:`of`, which fills in what the caller left out.
    """

    progress: Callable[[float], None] = _no_progress
    is_cancelled: Callable[[], bool] = _never_cancelled
    log: Callable[[str], None] = LOG.info
    warn: Callable[[str], None] = LOG.info

    @classmethod
    def of(
        cls,
        progress: Callable[[float], None] | None = None,
        is_cancelled: Callable[[], bool] | None = None,
        log: Callable[[str], None] | None = None,
        warn: Callable[[str], None] | None = None,
    ) -> Callbacks:
        """Callbacks from optional callables (``None`` keeps the default; ``warn`` defaults to
        ``log``)."""
        log = log or LOG.info
        return cls(
            progress=progress or _no_progress,
            is_cancelled=is_cancelled or _never_cancelled,
            log=log,
            warn=warn or log,
        )

    def check_cancelled(self) -> None:
        """Raise :class:`Cancelled` (message :data:`CANCELLED`) when the user cancelled."""
        if self.is_cancelled():
            raise Cancelled(CANCELLED)

    def part(self, start: float, end: float) -> Callable[[float], None]:
        """A progress callable mapping [0, 1] onto [start, end] of this run's progress."""
        return lambda fraction: self.progress(start + (end - start) * fraction)
