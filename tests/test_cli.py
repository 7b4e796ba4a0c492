"""The ``speckle2void`` command line: syntax, inputs, output names, exit codes (no cluster)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rasters import gamma_scene, write_raster

from s2v_plugin.cli.commands import commands
from s2v_plugin.cli.inputs import UsageError, expand_inputs
from s2v_plugin.cli.main import EXIT_OK, EXIT_USAGE, build_parser, run

ROOT = Path(__file__).resolve().parents[1]


def parse(*argv):
    return build_parser().parse_args(list(argv))


def test_enum_options_take_the_name_in_lower_case_or_the_index():
    assert parse("despeckle", "a.tif", "--domain", "amplitude").domain == "amplitude"
    assert parse("despeckle", "a.tif", "--domain", "1").domain == "amplitude"
    assert parse("despeckle", "a.tif", "--domain", "Amplitude").domain == "amplitude"
    assert parse("classicfilter", "a.tif", "--filter", "2").filter == "lee_sigma"
    assert parse("decorrelate", "a.tif", "--output-format", "intensity").output_format == (
        "intensity"
    )


def test_defaults_are_the_algorithms_defaults():
    args = parse("despeckle", "a.tif")
    assert (args.tile_size, args.domain, args.device, args.looks) == (
        None, "auto", "auto", None,
    )  # fmt: skip
    assert parse("decorrelate", "a.tif").remove_oversampling is True
    assert parse("decorrelate", "a.tif", "--no-remove-oversampling").remove_oversampling is False


@pytest.mark.parametrize(
    "argv",
    [
        ["despeckle", "a.tif", "--domain", "decibel"],
        ["despeckle", "a.tif", "--domain", "3"],
        ["despeckle", "a.tif", "--tile-size", "-1"],
        ["despeckle", "a.tif", "--looks", "many"],
        ["despeckle"],
        ["sharpen", "a.tif"],
    ],
)
def test_usage_errors_exit_with_2(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        run(argv)
    assert exit_info.value.code == EXIT_USAGE
    assert "error:" in capsys.readouterr().err


def test_help_shows_examples_and_exit_codes():
    text = build_parser()._subparsers._group_actions[0].choices["despeckle"].format_help()
    assert "speckle2void despeckle scene.tif -o scene_despeckled.tif" in text
    assert "Exit codes: 0" in text
    assert "--tile-size" in text and "[TILE_SIZE; default: empty]" in text


def test_a_folder_is_expanded_to_its_rasters_but_not_to_earlier_outputs(tmp_path):
    for name in ("b.tif", "a.tif", "a_despeckled.tif", "notes.txt", ".hidden.tif"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "S1A_X.SAFE").mkdir()
    found = expand_inputs([str(tmp_path)], commands()["despeckle"])
    names = [Path(p).name for p in found]
    assert names == ["S1A_X.SAFE", "a.tif", "b.tif"]


def test_globs_and_duplicates(tmp_path):
    for name in ("x1.tif", "x2.tif"):
        (tmp_path / name).write_bytes(b"")
    found = expand_inputs(
        [str(tmp_path / "x*.tif"), str(tmp_path / "x1.tif")], commands()["despeckle"]
    )
    assert [Path(p).name for p in found] == ["x1.tif", "x2.tif"]
    with pytest.raises(UsageError, match="no file matches"):
        expand_inputs([str(tmp_path / "y*.tif")], commands()["despeckle"])


@pytest.mark.parametrize(
    ("command", "extra", "expected"),
    [
        ("despeckle", [], ["scene_despeckled.tif"]),
        ("decorrelate", [], ["scene_decorrelated.tif"]),
        ("classicfilter", ["--filter", "refined_lee"], ["scene_refined_lee.tif"]),
        ("evaluate", [], ["scene_evaluation.html", "scene_ratio.tif"]),
    ],
)
def test_default_output_names_beside_the_input_and_skip_existing(
    tmp_path, command, extra, expected
):
    source = write_raster(tmp_path / "scene.tif", gamma_scene((20, 20)))
    for name in expected:
        (tmp_path / name).write_bytes(b"existing")
    summary = tmp_path / "summary.json"
    code = run([command, source, *extra, "--skip-existing", "--summary", str(summary)])
    assert code == EXIT_OK
    [entry] = json.loads(summary.read_text())["inputs"]
    assert entry["status"] == "skipped"
    assert sorted(Path(p).name for p in entry["outputs"]) == expected
    assert all(Path(p).parent == tmp_path for p in entry["outputs"])


def test_many_inputs_need_a_folder_and_collisions_are_usage_errors(tmp_path, capsys):
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    a = write_raster(tmp_path / "one" / "s.tif", gamma_scene((10, 10)))
    b = write_raster(tmp_path / "two" / "s.tif", gamma_scene((10, 10)))
    with pytest.raises(SystemExit) as exit_info:
        run(["despeckle", a, b, "-o", str(tmp_path / "out")])
    assert exit_info.value.code == EXIT_USAGE
    assert "would both write" in capsys.readouterr().err


def test_python_dash_m_runs_the_command_line():
    result = subprocess.run(
        [sys.executable, "-m", "s2v_plugin", "--help"],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        timeout=60,
    )
    assert result.returncode == 0
    for name in ("decorrelate", "despeckle", "classicfilter", "evaluate"):
        assert name in result.stdout


def test_the_package_installs_the_speckle2void_command_and_a_dask_extra():
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    module, _, name = project["scripts"]["speckle2void"].partition(":")
    import importlib

    assert callable(getattr(importlib.import_module(module), name))
    assert any(r.startswith("dask[distributed]") for r in project["optional-dependencies"]["dask"])
