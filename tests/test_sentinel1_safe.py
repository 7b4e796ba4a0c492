"""Reading the shared Sentinel-1B IW SLC SAFE product (full annotations, constant placeholder
pixels): subdatasets, bursts and valid windows, polynomials, orbit, GCPs, calibration and noise
vectors, deburst geometry; and the refusals (GRD, missing annotation). Skipped when ../shared is
absent, except the refusals, which use synthetic products."""

from __future__ import annotations

import shutil
import zipfile

import numpy as np
import pytest
from conftest import require

gdal = require("osgeo.gdal")

from sentinel1_fixture import make_safe  # noqa: E402

from s2v_plugin.core.calibration import bilinear, calibration_lut  # noqa: E402
from s2v_plugin.core.deburst import BurstGrid, plan_deburst  # noqa: E402
from s2v_plugin.core.errors import InputError  # noqa: E402
from s2v_plugin.core.tops_deramp import burst_ramp  # noqa: E402
from s2v_plugin.io.sentinel1_safe import SafeProduct, parse_time  # noqa: E402

SAFE = "S1B_IW_SLC__1SDV_20210401T052622_20210401T052650_026269_032297_EFA4.SAFE"


@pytest.fixture(scope="module")
def product(sar_data):
    with SafeProduct(str(sar_data / SAFE)) as opened:
        yield opened


@pytest.fixture(scope="module")
def iw1(product):
    return product.annotation("IW1", "VV")


def test_the_folder_manifest_and_zip_open_alike(sar_data, tmp_path):
    folder = sar_data / SAFE
    archive = tmp_path / (SAFE.replace(".SAFE", ".zip"))
    with zipfile.ZipFile(archive, "w") as out:
        for path in folder.rglob("*"):
            out.write(path, f"{SAFE}/{path.relative_to(folder)}")

    opened = [SafeProduct(str(p)) for p in (folder, folder / "manifest.safe", archive)]

    listed = [[(m.swath, m.polarisation) for m in p.measurements] for p in opened]
    assert listed[0] == [("IW1", "VH"), ("IW1", "VV"), ("IW2", "VH")]
    assert listed[1] == listed[0] and listed[2] == listed[0]
    assert opened[2].annotation("IW1", "VV").bursts[3].azimuth_time == pytest.approx(
        opened[0].annotation("IW1", "VV").bursts[3].azimuth_time
    )
    pixels = gdal.Open(opened[2].measurement("IW1", "VV").tiff)  # /vsizip/
    assert (pixels.RasterXSize, pixels.RasterYSize) == (21632, 13509)


def test_subdatasets_agree_with_gdal_safe_driver(product):
    names = [name for name, _ in product.subdatasets()]

    complex_single = sorted(
        n.split(":")[-2] for n in names if n.endswith(":COMPLEX") and "_" in n.split(":")[-2]
    )
    assert complex_single == sorted(f"{m.swath}_{m.polarisation}" for m in product.measurements)
    assert all(n.startswith("SENTINEL1_CALIB:") for n in names)
    sub = gdal.Open(next(n for n in names if n.endswith("IW1_VV:COMPLEX")))
    assert gdal.GetDataTypeName(sub.GetRasterBand(1).DataType) == "CInt16"


def test_bursts_and_valid_windows(iw1):
    assert (iw1.mode, iw1.swath, iw1.polarisation, iw1.product_type) == ("IW", "IW1", "VV", "SLC")
    assert len(iw1.bursts) == 9
    assert iw1.lines_per_burst * 9 == iw1.number_of_lines == 13509
    for burst in iw1.bursts:
        line, lines, sample, samples = burst.valid_window()
        assert burst.first_line <= line and line + lines <= burst.first_line + iw1.lines_per_burst
        assert 0 <= sample and sample + samples <= iw1.number_of_samples
        assert 1400 < lines < iw1.lines_per_burst  # a few dozen invalid lines at each end
        valid = burst.first_valid_sample >= 0
        assert np.all(burst.last_valid_sample[valid] > burst.first_valid_sample[valid])
    assert iw1.bursts[0].valid_window() == (19, 1464, 529, 20407)
    spacing = np.diff([b.azimuth_time for b in iw1.bursts]) / iw1.azimuth_time_interval
    assert np.all(np.abs(spacing - 1342) <= 1.5)  # bursts overlap by ~160 lines


def test_polynomials_are_nearest_in_time_and_evaluated_with_their_own_t0(iw1):
    burst = iw1.bursts[4]
    mid = burst.azimuth_time + iw1.lines_per_burst // 2 * iw1.azimuth_time_interval
    fm = iw1.nearest_fm_rate(mid)
    dc = iw1.nearest_doppler_centroid(mid)

    assert abs(fm.azimuth_time - mid) == min(abs(p.azimuth_time - mid) for p in iw1.fm_rates)
    assert fm(fm.t0) == pytest.approx(fm.coefficients[0])
    assert fm(fm.t0 + 1e-4) == pytest.approx(
        fm.coefficients[0] + fm.coefficients[1] * 1e-4 + fm.coefficients[2] * 1e-8
    )
    assert -2400 < fm(iw1.slant_range_time) < -2000  # C-band IW FM rate, Hz/s
    assert abs(dc(iw1.slant_range_time)) < 100  # Doppler centroid near zero Doppler, Hz
    assert iw1.dc_method == "Data Analysis"
    ramp = burst_ramp(iw1, 4)
    assert 0.006 < float(ramp.doppler_rate_per_line(0)[()]) < 0.008


def test_orbit_interpolation(iw1):
    orbit = iw1.orbit
    assert len(orbit.times) == 17 and np.all(np.diff(orbit.times) == pytest.approx(10.0))
    # exact at the state vectors
    np.testing.assert_allclose(orbit.position(orbit.times), orbit.positions, atol=1e-3)
    np.testing.assert_allclose(orbit.velocity(orbit.times), orbit.velocities, atol=1e-6)
    # between them: the velocity is the derivative of the position, and |v| is steady
    t = orbit.times[8] + 3.7
    numeric = (orbit.position(t + 0.01) - orbit.position(t - 0.01)) / 0.02
    np.testing.assert_allclose(orbit.velocity(t), numeric, rtol=1e-6)
    speeds = np.linalg.norm(
        orbit.velocity(np.linspace(orbit.times[1], orbit.times[-2], 50)), axis=1
    )
    assert 7500 < speeds.min() and speeds.max() - speeds.min() < 5
    radius = np.linalg.norm(orbit.position(t))
    assert 7.0e6 < radius < 7.1e6
    with pytest.raises(InputError, match="orbit"):
        orbit.velocity(orbit.times[-1] + 100)


def test_gcps_match_gdal_safe_driver(product, iw1):
    ours = iw1.gcps()
    theirs = product.gdal_gcps("IW1", "VV")

    assert len(ours) == len(theirs) == 210
    np.testing.assert_allclose(np.array(ours), np.array(theirs), atol=1e-6)


def test_calibration_and_noise_vectors(product):
    calibration = product.calibration("IW1", "VV")
    noise = product.noise("IW1", "VV")

    assert calibration.sigma0.shape == (30, 542) and calibration.pixels[:3].tolist() == [0, 40, 80]
    assert np.all(np.diff(calibration.times) > 0)
    assert calibration.sigma0[0, 0] == pytest.approx(331.923)
    assert np.all(calibration.gamma0 < calibration.sigma0)  # gamma = sigma / cos(incidence)...
    assert np.all(calibration.beta0 < calibration.sigma0)  # ... and beta < sigma away from nadir
    # bilinear interpolation is exact at the nodes and linear in between
    lut = calibration_lut(calibration, "sigma0", calibration.times[[2, 3]], [40, 60, 80])
    assert lut[0, 0] == pytest.approx(calibration.sigma0[2, 1])
    assert lut[0, 1] == pytest.approx(0.5 * (calibration.sigma0[2, 1] + calibration.sigma0[2, 2]))
    assert lut[1, 2] == pytest.approx(calibration.sigma0[3, 2])
    assert noise.range_table.shape == (10, 542)
    assert noise.azimuth_values.size == 1359 and np.all(noise.azimuth_values > 0)
    with pytest.raises(InputError, match="sigma0, beta0 or gamma0"):
        calibration.table("sigma1")


def test_bilinear_reproduces_a_plane():
    rows, cols = np.array([0.0, 10.0, 30.0]), np.array([0.0, 5.0, 20.0])
    table = 2.0 * rows[:, None] + 3.0 * cols[None, :] + 1.0

    out = bilinear(rows, cols, table, [0.0, 7.5, 29.0], [1.0, 12.0])

    expected = 2.0 * np.array([0.0, 7.5, 29.0])[:, None] + 3.0 * np.array([1.0, 12.0]) + 1.0
    np.testing.assert_allclose(out, expected)


def test_deburst_geometry_of_a_whole_swath(iw1):
    dt = iw1.azimuth_time_interval
    grids = []
    for burst in iw1.bursts:
        first, end = burst.valid_lines
        sample, samples = burst.valid_window()[2:]
        grids.append(
            BurstGrid(burst.azimuth_time + first * dt, dt, end - first, sample, 1.0, samples)
        )

    plan = plan_deburst(grids)

    span = (grids[-1].end_time - grids[0].start_time) / dt
    assert plan.lines == int(round(span)) + 1 == 12199
    first = min(g.first_sample for g in grids)
    assert plan.first_sample == first == 435
    assert plan.samples == max(g.end_sample for g in grids) - first + 1 == 20501
    segments = plan.segments()
    assert [s[0] for s in segments] == list(range(9))  # every burst once, in order
    for position, start, count in segments:
        grid = grids[position]
        times = plan.line_times()[start : start + count]
        source = plan.source_line[start : start + count]
        # every output line is the burst line at the same azimuth time
        np.testing.assert_allclose(grid.start_time + source * dt, times, atol=0.01 * dt)
        assert source.min() >= 0 and source.max() < grid.lines
        assert np.all(np.diff(source) == 1)
    for i, cut in enumerate(plan.cuts):  # cut in the middle of each overlap
        overlap = (grids[i + 1].start_time, grids[i].end_time)
        assert overlap[0] < cut < overlap[1]
        assert cut == pytest.approx(np.mean(overlap))


def test_grd_products_are_refused_with_the_detected_path(tmp_path):
    grd = make_safe(tmp_path, polarisations=("VV",), product_type="GRD")

    with pytest.raises(InputError, match="GRD") as error:
        SafeProduct(str(grd))

    assert "detected" in str(error.value) and "Despeckle" in str(error.value)


def test_missing_annotation_names_the_expected_file(tmp_path):
    root = make_safe(tmp_path, polarisations=("VV", "VH"))
    missing = next((root / "annotation").glob("*-vh-*.xml"))
    missing.unlink()

    product = SafeProduct(str(root))
    with pytest.raises(InputError, match="no annotation") as error:
        product.annotation("IW1", "VH")
    assert f"annotation/{missing.name}" in str(error.value)
    assert product.polarisations("IW1") == ["VV"]

    for xml in (root / "annotation").glob("*.xml"):
        xml.unlink()
    with pytest.raises(InputError, match="expected annotation/s1a-iw1-slc-v"):
        SafeProduct(str(root))


def test_not_a_product_is_refused(tmp_path):
    with pytest.raises(InputError, match="manifest.safe"):
        SafeProduct(str(tmp_path))
    shutil.copy(__file__, tmp_path / "fake.zip")
    with pytest.raises(InputError, match="zip"):
        SafeProduct(str(tmp_path / "fake.zip"))


def test_times_are_utc_seconds():
    assert parse_time("1970-01-01T00:00:01.500000") == 1.5
