"""The ``speckle2void decorrelate`` command line with Sentinel-1 inputs: a SAFE product, and a
TOPS crop with its annotation and offsets (the keys of the QGIS algorithm)."""

from __future__ import annotations

from conftest import require

gdal = require("osgeo.gdal")
require("distributed")

from sentinel1_fixture import make_safe  # noqa: E402

from s2v_plugin.cli.main import EXIT_FAILED, EXIT_OK, run  # noqa: E402


def test_cli_decorrelates_a_safe_product(tmp_path):
    safe = make_safe(tmp_path, polarisations=("VV",))
    out = tmp_path / "white.tif"

    code = run(
        ["decorrelate", str(safe), "--output-format", "amplitude", "-o", str(out), "--quiet"]
    )

    assert code == EXIT_OK
    dataset = gdal.Open(str(out))
    assert dataset.GetMetadataItem("S2V_SENTINEL1_SWATH") == "IW1"
    assert "amplitude" in dataset.GetRasterBand(1).GetDescription()


def test_cli_decorrelates_a_tops_crop_with_its_offsets(sar_data, tmp_path):
    out = tmp_path / "white.tif"
    crop = str(sar_data / "s1a_iw3_vv_tops_slc_601x1401.tif")
    annotation = str(sar_data / "s1a_iw3_vv_tops_annotation.xml")

    code = run(
        ["decorrelate", crop, "--annotation", annotation, "--first-line", "9800",
         "--first-sample", "11000", "-o", str(out), "--quiet"]
    )  # fmt: skip

    assert code == EXIT_OK
    dataset = gdal.Open(str(out))
    assert dataset.GetMetadataItem("S2V_DECORRELATION_TOPS_FIRST_LINE") == "9800"


def test_cli_reports_a_missing_annotation_per_file(tmp_path, capsys):
    safe = make_safe(tmp_path, polarisations=("VV",))
    tiff = next((safe / "measurement").glob("*.tiff"))

    code = run(["decorrelate", str(tiff), "--annotation", str(tmp_path / "no.xml"), "--quiet"])

    assert code == EXIT_FAILED
    assert "does not exist" in capsys.readouterr().err
