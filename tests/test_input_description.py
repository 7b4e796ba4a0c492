"""The input description on real files: shared SAR samples and generated GeoTIFFs.

Each silent mistake of the issue (raw SLC, amplitude as intensity, dB with positive values,
LOOKS on a GRD) must now give the specified warning or refusal.
"""

from __future__ import annotations

import numpy as np
import pytest
from osgeo import gdal
from rasters import write_raster

from s2v_plugin.core.errors import InputError
from s2v_plugin.io.input_description import describe_raster

ENVISAT = "envisat_asar_im_hh_slc_500x500.tif"
GRD = "s1_grd_homogeneous_amplitude_301x301.tif"
TOPS = "s1a_iw3_vv_tops_slc_601x1401.tif"
UMBRA = "umbra_yasur_gec_2000x2000_u8.tif"


def _grd_amplitude(sar_data) -> np.ndarray:
    return gdal.Open(str(sar_data / GRD)).ReadAsArray().astype(np.float32)


def test_a_raw_slc_is_complex_single_look_and_told_to_decorrelate_first(sar_data):
    description = describe_raster(str(sar_data / ENVISAT), needs_white_speckle=True)
    assert description.kind == "complex" and description.looks == 1
    assert not description.decorrelated
    (warning,) = description.warnings
    assert "Decorrelate speckle first" in warning and "0.5" in warning  # azimuth coherence


def test_tops_data_white_globally_is_found_correlated_locally(sar_data):
    description = describe_raster(str(sar_data / TOPS), needs_white_speckle=True)
    assert description.statistics.coherence_rows > 0.4
    assert any("Decorrelate speckle first" in w for w in description.warnings)


def test_the_grd_amplitude_sample_is_amplitude_with_about_five_looks(sar_data):
    description = describe_raster(str(sar_data / GRD), needs_white_speckle=True, model_looks=1)
    assert description.domain == "amplitude"
    assert description.kind == "multilook"
    assert description.looks == pytest.approx(4.7, abs=0.5)  # the README's ENL of this sample
    joined = " ".join(description.warnings)
    assert "trained for 1" in joined  # estimated looks differ from the model's
    assert "GRD" in joined and "correlated" in joined


def test_an_explicit_domain_wins_but_a_contradiction_is_warned(sar_data):
    description = describe_raster(str(sar_data / GRD), domain="intensity")
    assert description.domain == "intensity"
    assert any(
        "DOMAIN is intensity but INPUT looks like amplitude" in w for w in description.warnings
    )


def test_an_explicit_looks_wins(sar_data):
    description = describe_raster(str(sar_data / GRD), looks=2.0, model_looks=1)
    assert description.looks == 2.0
    assert not any("trained for" in w for w in description.warnings)


def test_a_display_scaled_gec_is_amplitude_with_correlated_speckle(sar_data):
    description = describe_raster(str(sar_data / UMBRA), needs_white_speckle=True)
    assert description.domain == "amplitude"
    assert any("GEC" in w and "correlated" in w for w in description.warnings)


@pytest.mark.parametrize("offset", [0.0, -40.0])
def test_decibels_are_refused_with_the_conversion_positive_or_negative(sar_data, tmp_path, offset):
    decibels = 10 * np.log10(_grd_amplitude(sar_data) ** 2) + offset  # 17 to 35 dB, or negative
    path = write_raster(tmp_path / "db.tif", decibels.astype(np.float32))
    with pytest.raises(InputError, match=r"dB.*10\^\(dB/10\)"):
        describe_raster(path)


def test_a_db_unit_is_refused_even_with_an_explicit_domain(tmp_path):
    path = write_raster(tmp_path / "unit.tif", np.full((64, 64), 3.0, np.float32))
    dataset = gdal.Open(path, gdal.GA_Update)
    dataset.GetRasterBand(1).SetUnitType("dB")
    dataset = None
    with pytest.raises(InputError, match="unit 'dB'"):
        describe_raster(path, domain="intensity")


def test_an_i_or_q_band_is_refused_with_the_decorrelate_hint(sar_data, tmp_path):
    slc = gdal.Open(str(sar_data / ENVISAT)).ReadAsArray()
    path = write_raster(
        tmp_path / "iq.tif", [slc.real.astype(np.float32), slc.imag.astype(np.float32)]
    )
    with pytest.raises(InputError, match="IMAG_BAND"):
        describe_raster(path, band=2)


def test_our_metadata_decides_before_the_statistics(tmp_path):
    rng = np.random.default_rng(0)
    intensity = rng.gamma(1.0, 1.0, (256, 256)).astype(np.float32)
    # statistics say intensity; our metadata says amplitude, and wins
    tagged = write_raster(tmp_path / "tagged.tif", intensity, metadata={"S2V_DOMAIN": "amplitude"})
    assert describe_raster(tagged).domain == "amplitude"
    untagged = write_raster(tmp_path / "plain.tif", intensity)
    assert describe_raster(untagged).domain == "intensity"
    unit = write_raster(tmp_path / "unit.tif", intensity)
    dataset = gdal.Open(unit, gdal.GA_Update)
    dataset.GetRasterBand(1).SetDescription("HH amplitude")
    dataset = None
    assert describe_raster(unit).domain == "amplitude"


def test_a_decorrelated_slc_needs_no_looks_and_carries_its_provenance(tmp_path):
    rng = np.random.default_rng(1)
    slc = (rng.normal(size=(128, 128)) + 1j * rng.normal(size=(128, 128))).astype(np.complex64)
    metadata = {"S2V_DECORRELATION_DECORRELATED": "YES", "S2V_DECORRELATION_RANGE_WINDOW": "0.7"}
    path = write_raster(tmp_path / "white.tif", slc, metadata=metadata)
    description = describe_raster(path, needs_white_speckle=True, model_looks=1)
    assert description.decorrelated and description.looks == 1
    assert description.provenance == metadata
    assert description.warnings == ()


def test_an_undecidable_small_raster_is_treated_as_intensity_with_a_warning(tmp_path):
    path = write_raster(tmp_path / "tiny.tif", np.full((20, 20), 2.0, np.float32))
    description = describe_raster(path)
    assert description.domain == "intensity"
    assert any("Could not tell" in w for w in description.warnings)
