"""Benchmark of the Sentinel-1 TOPS steps before despeckling, on one full-size IW burst.

A synthetic burst with the geometry of the shared IW3 annotation (``linesPerBurst`` lines by
``--samples`` samples, complex64 speckle) is generated in memory; the script prints, in
megapixels of input per second and seconds:

* ``deramp phase``: the phase function of the whole burst (:meth:`BurstRamp.phase`);
* ``deramp + decorrelate``: :func:`s2v_plugin.decorrelate.decorrelate_array` with the burst's
  :class:`SwathRamp` (deramp, estimation, both whitening passes, no reramp);
* ``calibration LUT``: the bilinear sigma0 look-up table on the decorrelated grid (from the
  shared SAFE's IW1 calibration vectors), when ../shared is present.

Despeckling speed is measured by ``bench/bench_despeckle.py`` (the network dominates a full run).

Usage::

    python -m bench.bench_sentinel1 [--samples 20000]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

SAR = ROOT.parent / "shared" / "data" / "sar"
SAFE = SAR / "S1B_IW_SLC__1SDV_20210401T052622_20210401T052650_026269_032297_EFA4.SAFE"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=20000)
    args = parser.parse_args()

    from s2v_plugin.core.calibration import calibration_lut
    from s2v_plugin.core.tops_deramp import SwathRamp
    from s2v_plugin.decorrelate import decorrelate_array
    from s2v_plugin.io.sentinel1_safe import SafeProduct, parse_annotation

    annotation = parse_annotation(SAR / "s1a_iw3_vv_tops_annotation.xml")
    burst = annotation.bursts[6]
    line, lines, sample, _ = burst.valid_window()
    samples = min(args.samples, annotation.number_of_samples - sample)
    rng = np.random.default_rng(0)
    data = rng.standard_normal((lines, samples)) + 1j * rng.standard_normal((lines, samples))
    data = data.astype(np.complex64)
    megapixels = lines * samples / 1e6
    print(f"burst {lines} x {samples} ({megapixels:.1f} MP)")

    ramp = SwathRamp(annotation, line, sample)
    start = time.perf_counter()
    ramp.phase(np.arange(lines), np.arange(samples))
    seconds = time.perf_counter() - start
    print(f"deramp phase          {seconds:7.2f} s  {megapixels / seconds:7.1f} MP/s")

    start = time.perf_counter()
    out, report = decorrelate_array(data, point_target_factor=0, tops=ramp, reramp=False)
    seconds = time.perf_counter() - start
    print(f"deramp + decorrelate  {seconds:7.2f} s  {megapixels / seconds:7.1f} MP/s")

    if SAFE.is_dir():
        with SafeProduct(str(SAFE)) as product:
            vectors = product.calibration("IW1", "VV")
        times = vectors.times[0] + np.arange(out.shape[0]) * 0.003
        cols = sample + report.pixel_factors[1] * np.arange(out.shape[1])
        start = time.perf_counter()
        calibration_lut(vectors, "sigma0", times, cols)
        seconds = time.perf_counter() - start
        print(
            f"calibration LUT       {seconds:7.2f} s  {out.size / 1e6 / seconds:7.1f} MP/s (output)"
        )


if __name__ == "__main__":
    main()
