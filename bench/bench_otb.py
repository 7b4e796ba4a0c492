"""Our classic filters against the Orfeo ToolBox's (``otbcli_Despeckle``) on real single-look
intensity: ENL over the most homogeneous windows, and Gamma-MAP's unfiltered fraction.

Usage::

    .venv/bin/python -m bench.bench_otb [--data ../shared/data/sar] [--window 7]

Needs ``otb-bin`` (Debian; ``make test`` installs it). Prints, per sample and filter, the mean
ENL of our output and of OTB's over the 8 most homogeneous 16 x 16 windows of the noisy
intensity, and for Gamma-MAP the share of pixels left unfiltered (output == input).
Parameter mapping: our window w is OTB's radius (w - 1) / 2; our DAMPING is OTB Frost's
``deramp`` (both multiply ``Ci^2`` in ``exp(-K Ci^2 |t|)``); LOOKS is ``nblooks``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from osgeo import gdal

from s2v_plugin.core import classic_filters as cf
from s2v_plugin.core import metrics

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ("envisat_asar_im_hh_slc_500x500.tif", "uavsar_sanand138_hh_slc_150x400.tif")
OTB_NAMES = {"lee": "lee", "frost": "frost", "gamma_map": "gammamap", "kuan": "kuan"}
WINDOWS, WINDOW_SIZE = 8, 16


def otb_filter(intensity: np.ndarray, key: str, window: int, looks: float, damping: float):
    """Run ``otbcli_Despeckle`` on a float32 intensity; returns its output."""
    name = OTB_NAMES[key]
    radius = (window - 1) // 2
    with tempfile.TemporaryDirectory() as folder:
        source, target = Path(folder) / "in.tif", Path(folder) / "out.tif"
        dataset = gdal.GetDriverByName("GTiff").Create(
            str(source), intensity.shape[1], intensity.shape[0], 1, gdal.GDT_Float32
        )
        dataset.GetRasterBand(1).WriteArray(intensity.astype(np.float32))
        dataset = None
        command = ["otbcli_Despeckle", "-in", str(source), "-out", str(target), "double"]
        command += ["-filter", name, f"-filter.{name}.rad", str(radius)]
        if name == "frost":
            command += ["-filter.frost.deramp", str(damping)]
        else:
            command += [f"-filter.{name}.nblooks", str(looks)]
        subprocess.run(command, check=True, capture_output=True)
        result = gdal.Open(str(target))
        return result.GetRasterBand(1).ReadAsArray().astype(np.float64)


def single_look_intensity(path: Path) -> np.ndarray:
    dataset = gdal.Open(str(path))
    slc = dataset.GetRasterBand(1).ReadAsArray()
    return (np.abs(slc) ** 2).astype(np.float64)


def homogeneous_enl(noisy: np.ndarray, estimate: np.ndarray) -> float:
    windows = metrics.find_homogeneous_windows(noisy, size=WINDOW_SIZE, count=WINDOWS)
    return float(np.mean([metrics.enl(estimate[w.slices()]) for w in windows]))


def unfiltered_fraction(noisy: np.ndarray, estimate: np.ndarray) -> float:
    return float(np.mean(np.isclose(estimate, noisy, rtol=1e-5, atol=0.0)))


def compare(noisy: np.ndarray, window: int, looks: float, damping: float) -> dict:
    rows = {}
    for key in OTB_NAMES:
        spec = cf.filter_spec(key)
        # the same damping on both sides (OTB's deramp is our DAMPING option)
        options = {option: damping for _, option in spec.parameters if option == "damping"}
        ours = spec.function(noisy, window, looks, **options)
        theirs = otb_filter(noisy, key, window, looks, damping)
        rows[key] = {
            "enl_ours": homogeneous_enl(noisy, ours),
            "enl_otb": homogeneous_enl(noisy, theirs),
            "unfiltered_ours": unfiltered_fraction(noisy, ours),
            "unfiltered_otb": unfiltered_fraction(noisy, theirs),
        }
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "sar"))
    parser.add_argument("--window", type=int, default=7)
    parser.add_argument("--damping", type=float, default=None, help="default: the filter's")
    args = parser.parse_args()
    if shutil.which("otbcli_Despeckle") is None:
        raise SystemExit("otbcli_Despeckle not found: apt-get install otb-bin")
    damping = cf.FROST_DAMPING if args.damping is None else args.damping
    print(
        f"window {args.window} (OTB radius {(args.window - 1) // 2}), Frost damping = deramp "
        f"{damping}, ENL over the {WINDOWS} most homogeneous {WINDOW_SIZE}x{WINDOW_SIZE} windows"
    )
    print(
        f"{'sample':<40} {'filter':<10} {'ENL ours':>9} {'ENL OTB':>9} "
        f"{'unfilt. ours':>13} {'unfilt. OTB':>12}"
    )
    for name in SAMPLES:
        noisy = single_look_intensity(Path(args.data) / name)
        for key, row in compare(noisy, args.window, 1.0, damping).items():
            print(
                f"{name:<40} {key:<10} {row['enl_ours']:9.2f} {row['enl_otb']:9.2f} "
                f"{100 * row['unfiltered_ours']:12.1f}% {100 * row['unfiltered_otb']:11.1f}%"
            )


if __name__ == "__main__":
    main()
