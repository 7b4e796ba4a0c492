"""What every output of the plugin records about how it was made (GDAL metadata items)."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

METADATA_TXT = Path(__file__).resolve().parents[1] / "metadata.txt"
#: GDAL unit type of an output band, by domain.
UNITS = {"intensity": "linear intensity", "amplitude": "linear amplitude"}


def plugin_version() -> str:
    """The plugin version from ``metadata.txt`` ("unknown" when it is not beside the package)."""
    try:
        text = METADATA_TXT.read_text(encoding="utf-8")
    except OSError:
        return "unknown"
    match = re.search(r"^version\s*=\s*(\S+)", text, re.M)
    return match.group(1) if match else "unknown"


def provenance_items(inherited: dict | None = None, **items) -> dict:
    """Metadata items for an output: the input's carried-forward items (for example
    ``S2V_DECORRELATION_*``), then ``items`` (keys get the ``S2V_`` prefix, ``None`` values
    are left out), the plugin version and the UTC creation time."""
    out = dict(inherited or {})
    out.update(
        {f"S2V_{key.upper()}": str(value) for key, value in items.items() if value is not None}
    )
    out["S2V_PLUGIN_VERSION"] = plugin_version()
    out["S2V_CREATED"] = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return out
