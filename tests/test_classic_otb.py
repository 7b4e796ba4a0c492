"""Our classic filters against a real peer, the Orfeo ToolBox (``otbcli_Despeckle``, Debian's
``otb-bin``, installed by the test set-up) on real single-look intensity.

Parameter mapping: our ``w`` x ``w`` window is OTB's radius ``(w - 1) / 2``; LOOKS is OTB's
``nblooks``; Frost's DAMPING is OTB's ``deramp`` (both are ``K`` in ``exp(-K Ci^2 |t|)``).
Deliberate differences, which the tolerances allow and nothing else: our window statistics use
the population variance (OTB 8: the sample variance, ``n - 1``), our edges are mirrored where
OTB replicates the edge pixel (so the border of ``(w - 1) / 2`` pixels is left out), and nodata
is left out of our window statistics (OTB has no nodata).
"""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
from conftest import require_binary_failed
from rasters import read_raster, write_raster

from s2v_plugin.core import classic_filters as cf
from s2v_plugin.core import metrics

OTB_NAMES = {"lee": "lee", "frost": "frost", "gamma_map": "gammamap", "kuan": "kuan"}
WINDOW = 7
OTB_DERAMP = 0.1  # otbcli_Despeckle's default -filter.frost.deramp


@pytest.fixture(scope="module")
def intensity(sar_data):
    if shutil.which("otbcli_Despeckle") is None:
        apt_cache = shutil.which("apt-cache")
        offered = apt_cache and subprocess.run([apt_cache, "show", "otb-bin"], capture_output=True)
        if offered and offered.returncode == 0:  # make test installs it where it is offered
            require_binary_failed("otbcli_Despeckle (make setup-tests installs otb-bin)")
        pytest.skip("this distribution offers no otb-bin")
    slc = read_raster(sar_data / "envisat_asar_im_hh_slc_500x500.tif")
    return (np.abs(slc[:256, :256]) ** 2).astype(np.float64)  # single-look intensity


def otb(tmp_path, image: np.ndarray, key: str, damping: float = OTB_DERAMP) -> np.ndarray:
    name = OTB_NAMES[key]
    source = write_raster(tmp_path / f"in_{key}.tif", image.astype(np.float32))
    target = tmp_path / f"otb_{key}.tif"
    command = ["otbcli_Despeckle", "-in", source, "-out", str(target), "double"]
    command += ["-filter", name, f"-filter.{name}.rad", str((WINDOW - 1) // 2)]
    if key == "frost":
        command += ["-filter.frost.deramp", str(damping)]
    else:
        command += [f"-filter.{name}.nblooks", "1"]
    subprocess.run(command, check=True, capture_output=True, timeout=300)
    return read_raster(target).astype(np.float64)


INNER = (slice(WINDOW // 2, -(WINDOW // 2)),) * 2


def homogeneous_enl(noisy, estimate) -> float:
    windows = metrics.find_homogeneous_windows(noisy, size=16, count=8)
    assert len(windows) == 8
    return float(np.mean([metrics.enl(estimate[w.slices()]) for w in windows]))


@pytest.mark.parametrize("key", ["lee", "kuan", "frost"])
def test_lee_kuan_and_frost_match_otb_pixel_by_pixel(tmp_path, intensity, key):
    ours = cf.filter_spec(key).function(intensity, WINDOW, 1.0).astype(np.float64)
    theirs = otb(tmp_path, intensity, key)
    relative = np.abs(ours - theirs)[INNER] / theirs[INNER]
    assert np.median(relative) < 0.01  # n versus n - 1 in the variance
    assert np.percentile(relative, 99) < 0.05


def test_gamma_map_matches_otb_where_both_filter_and_leaves_as_many_pixels(tmp_path, intensity):
    ours = cf.gamma_map(intensity, WINDOW, 1.0).astype(np.float64)
    theirs = otb(tmp_path, intensity, "gamma_map")
    assert np.corrcoef(ours[INNER].ravel(), theirs[INNER].ravel())[0, 1] > 0.99
    unfiltered_ours = np.mean(np.isclose(ours, intensity, rtol=1e-5, atol=0))
    unfiltered_otb = np.mean(np.isclose(theirs, intensity, rtol=1e-5, atol=0))
    # Gamma-MAP keeps a pixel unfiltered where Ci >= sqrt(2) Cu: that is the method
    assert abs(unfiltered_ours - unfiltered_otb) <= 0.05
    assert unfiltered_otb > 0.05


def test_frost_smooths_homogeneous_areas_at_least_half_as_much_as_otb(tmp_path, intensity):
    """Both at their defaults (the filter used to keep single-look intensity almost as is)."""
    ours = cf.frost(intensity, WINDOW, 1.0)
    theirs = otb(tmp_path, intensity, "frost")
    assert homogeneous_enl(intensity, ours) >= 0.5 * homogeneous_enl(intensity, theirs)


def test_frost_damping_is_otb_deramp(tmp_path, intensity):
    ours = cf.frost(intensity, WINDOW, 1.0, damping=2.0).astype(np.float64)
    theirs = otb(tmp_path, intensity, "frost", damping=2.0)
    relative = np.abs(ours - theirs)[INNER] / theirs[INNER]
    assert np.median(relative) < 0.01
