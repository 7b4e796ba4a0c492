"""From the command line's INPUT arguments to (input, outputs) pairs."""

from __future__ import annotations

import glob
import os
from pathlib import Path

from .commands import EXTENSIONS, Command, output_name

#: Files a folder argument contributes (one raster each).
RASTER_EXTENSIONS = (".tif", ".tiff", ".vrt", ".img", ".jp2", ".nc", ".h5", ".hdf5", ".dim")


class UsageError(Exception):
    """A mistake in the command line itself (exit code 2)."""


def is_product(path: str) -> bool:
    """A Sentinel-1 product (``.SAFE`` folder or ``.zip``) counts as one input, not a folder."""
    name = path.rstrip("/\\")
    return name.upper().endswith(".SAFE") or name.lower().endswith(".zip")


def _is_remote(path: str) -> bool:
    return path.startswith("/vsi")


def _own_output(name: str, command: Command, values: dict) -> bool:
    stem = Path(name).stem
    return any(stem.endswith("_" + suffix.format(**values)) for suffix in command.outputs.values())


def _folder_rasters(folder: str, command: Command, values: dict) -> list[str]:
    found = []
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if name.startswith(".") or _own_output(name, command, values):
            continue  # hidden temporaries, and outputs of an earlier run of this command
        if is_product(path) or (os.path.isfile(path) and name.lower().endswith(RASTER_EXTENSIONS)):
            found.append(path)
    return found


def expand_inputs(arguments: list[str], command: Command, values: dict | None = None) -> list[str]:
    """Rasters named by paths, glob patterns and folders, in order, without duplicates.

    A path that does not exist stays in the list: it then fails alone, with GDAL's reason.

    Raises
    ------
    UsageError
        When a glob pattern or a folder names no raster at all.
    """
    values = values or {option.dest: option.default for option in command.options}
    found: list[str] = []
    for argument in arguments:
        if _is_remote(argument) or is_product(argument):
            found.append(argument)
        elif os.path.isdir(argument):
            rasters = _folder_rasters(argument, command, values)
            if not rasters:
                raise UsageError(f"the folder '{argument}' holds no raster")
            found.extend(rasters)
        elif glob.has_magic(argument):
            matches = sorted(glob.glob(argument))
            if not matches:
                raise UsageError(f"no file matches '{argument}'")
            found.extend(matches)
        else:
            found.append(argument)
    unique = list(
        dict.fromkeys(path if _is_remote(path) else os.path.abspath(path) for path in found)
    )
    if not unique:
        raise UsageError("no input raster")
    return unique


def _as_folder(path: str, many: bool) -> bool:
    return many or os.path.isdir(path) or path.endswith(("/", os.sep))


def plan_outputs(command: Command, inputs: list[str], output: str | None, values: dict, args):
    """Every input with its output paths, by output key.

    Raises
    ------
    UsageError
        When outputs would collide, overwrite an input, or cannot be placed.
    """
    required = [key for key in command.outputs if key not in command.optional_outputs]
    many = len(inputs) > 1
    if output and not _as_folder(output, many or len(required) > 1):
        destinations = {required[0]: (None, output)}
    else:
        destinations = {key: (output, None) for key in required}
    for key in command.optional_outputs:
        value = getattr(args, key.lower(), None)
        if value:
            destinations[key] = (value, None) if _as_folder(value, many) else (None, value)
    plans, seen = [], {}
    for input_path in inputs:
        outputs = {}
        for key, (folder, file_path) in destinations.items():
            if file_path:
                outputs[key] = os.path.abspath(file_path)
                continue
            if folder is None:
                if _is_remote(input_path):
                    raise UsageError(
                        f"'{input_path}' is not a local file: give an output folder with -o"
                    )
                folder = os.path.dirname(os.path.abspath(input_path.rstrip("/\\")))
            outputs[key] = os.path.abspath(
                os.path.join(folder, output_name(command, key, input_path, values))
            )
        for path in outputs.values():
            absolute = os.path.abspath(path)
            if absolute == os.path.abspath(input_path):
                raise UsageError(f"the output '{path}' would overwrite its input")
            if absolute in seen:
                raise UsageError(
                    f"'{seen[absolute]}' and '{input_path}' would both write '{path}'; "
                    "rename one or write them to different folders"
                )
            seen[absolute] = input_path
        plans.append((input_path, outputs))
    for _, outputs in plans:
        for path in outputs.values():
            folder = os.path.dirname(os.path.abspath(path))
            if not os.path.isdir(folder):
                try:
                    os.makedirs(folder, exist_ok=True)
                except OSError as exc:
                    raise UsageError(f"cannot create the output folder '{folder}': {exc}") from None
    return plans


__all__ = ["EXTENSIONS", "UsageError", "expand_inputs", "is_product", "plan_outputs"]
