"""``speckle2void``: the Processing algorithms on the command line, on one machine or a cluster.

Exit codes: 0 when every input succeeded (or was skipped), 1 when some failed, 2 for a usage
error, 130 when interrupted (Ctrl-C); partial outputs never remain.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time

from ..core.errors import S2VError
from .commands import NOT_OFFERED, Command, Option, commands, output_name
from .inputs import UsageError, expand_inputs, plan_outputs
from .progress import ProgressBar

LOG = logging.getLogger("speckle2void")

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def _number(kind: str, minimum: float | None):
    cast = int if kind == "int" else float

    def parse(text: str):
        try:
            value = cast(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected {'an integer' if kind == 'int' else 'a number'}, got '{text}'"
            ) from None
        if minimum is not None and value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum:g} (got {text})")
        return value

    return parse


def _enum(option: Option):
    def parse(text: str):
        lowered = text.strip().lower()
        if lowered in option.choices:
            return lowered
        if lowered.isdigit() and int(lowered) < len(option.choices):
            return option.choices[int(lowered)]
        names = ", ".join(f"{name} ({index})" for index, name in enumerate(option.choices))
        raise argparse.ArgumentTypeError(f"'{text}' is not one of: {names}")

    return parse


def _add_option(parser, option: Option) -> None:
    default = option.default
    shown = "empty" if default is None else default
    help_text = f"{option.help} [{option.key}; default: {shown}]"
    if option.kind == "bool":
        parser.add_argument(
            option.flag, dest=option.dest, action=argparse.BooleanOptionalAction,
            default=default, help=help_text,
        )  # fmt: skip
        return
    kwargs = {"dest": option.dest, "default": default, "help": help_text}
    if option.kind in ("int", "float"):
        kwargs["type"] = _number(option.kind, option.minimum)
        kwargs["metavar"] = "N"
    elif option.kind == "enum":
        kwargs["type"] = _enum(option)
        kwargs["metavar"] = "{" + ",".join(option.choices) + "}"
    else:
        kwargs["metavar"] = "PATH" if option.kind == "path" else "TEXT"
    parser.add_argument(option.flag, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every sub-command (also used to write the documentation)."""
    table = commands()
    parser = argparse.ArgumentParser(
        prog="speckle2void",
        description=(
            "Speckle2Void SAR despeckling and speckle tools, the QGIS Processing algorithms on "
            "the command line. Runs on a Dask cluster: an embedded local one by default, or "
            "--scheduler ADDRESS."
        ),
        epilog="Examples:\n  "
        + "\n  ".join(e for c in table.values() for e in c.examples[:1])
        + "\n\nRun 'speckle2void COMMAND --help' for a command's options.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in table.values():
        _add_command(sub, command)
    return parser


def _add_command(sub, command: Command) -> None:
    outputs = ", ".join(
        f"<name>_{suffix}{'.html' if key == 'OUTPUT_HTML' else '.tif'}"
        for key, suffix in command.outputs.items()
        if key not in command.optional_outputs
    )
    parser = sub.add_parser(
        command.name,
        help=command.summary,
        description=(
            f"{command.summary} The command line of the Processing algorithm "
            f"'{command.algorithm}': same parameters, same defaults, same engine. Writes "
            f"{outputs} beside each input, or into -o."
        ),
        epilog="Examples:\n  "
        + "\n  ".join(command.examples)
        + "\n\nExit codes: 0 all inputs done or skipped, 1 some inputs failed, 2 usage error, "
        "130 interrupted. Enum options take a name or its index (--domain amplitude, "
        "--domain 1).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "inputs", nargs="+", metavar="INPUT",
        help=f"rasters ({command.input_key}): files, glob patterns or folders; GDAL paths such "
        "as /vsicurl/ or /vsis3/ too",
    )  # fmt: skip
    many = "a folder" if len(command.outputs) > 1 else "a file for one input, a folder for many"
    parser.add_argument(
        "-o", "--output", metavar="PATH",
        help=f"{many} (default: beside each input)",
    )  # fmt: skip
    for key in command.optional_outputs:
        parser.add_argument(
            "--" + key.lower().replace("_", "-"), dest=key.lower(), metavar="PATH",
            help=f"also write this output [{key}]: a file for one input, a folder for many",
        )  # fmt: skip
    for option in command.options:
        _add_option(parser, option)
    run = parser.add_argument_group("running")
    if not any(option.key == "SCHEDULER" for option in command.options):
        run.add_argument(
            "--scheduler", metavar="ADDRESS",
            help="Dask scheduler (tcp://host:8786 or a scheduler .json file); default: a "
            "local cluster on this machine",
        )  # fmt: skip
    run.add_argument(
        "--timeout", type=_number("float", 0.1), default=30.0, metavar="SECONDS",
        help="how long to wait for the scheduler or the local cluster [default: 30]",
    )  # fmt: skip
    run.add_argument(
        "--workers", type=_number("int", 1), metavar="N",
        help="worker processes of the local cluster [default: fit the cores]",
    )  # fmt: skip
    run.add_argument(
        "--threads-per-worker", type=_number("int", 1), metavar="N",
        help="task threads per local worker [default: fit the cores]",
    )  # fmt: skip
    run.add_argument(
        "--skip-existing", action="store_true",
        help="leave inputs whose outputs all exist (cheap re-runs)",
    )  # fmt: skip
    run.add_argument("--summary", metavar="FILE.json", help="write each input's outcome here")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.add_argument("--verbose", action="store_true", help="log Dask's messages too")
    parser.set_defaults(command_spec=command)


def _values(args, command: Command) -> dict:
    return {option.dest: getattr(args, option.dest) for option in command.options}


def _write_summary(path: str, command: Command, outcomes, started: float) -> None:
    summary = {
        "command": command.name,
        "algorithm": command.algorithm,
        "seconds": round(time.perf_counter() - started, 3),
        "counts": {
            status: sum(o.status == status for o in outcomes)
            for status in ("done", "skipped", "failed")
        },
        "inputs": [
            {
                "input": o.input,
                "outputs": o.outputs,
                "status": o.status,
                "error": o.error,
                "seconds": round(o.seconds, 3),
                "details": o.details,
            }
            for o in outcomes
        ],
    }
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    temp = f"{path}.partial"
    with open(temp, "w", encoding="utf-8") as stream:
        json.dump(summary, stream, indent=2)
    os.replace(temp, path)


def _quiet_dask(verbose: bool) -> None:
    level = logging.INFO if verbose else logging.CRITICAL
    for name in ("distributed", "dask", "tornado"):
        logging.getLogger(name).setLevel(level)
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "info" if verbose else "critical")


def run(argv: list[str] | None = None) -> int:
    """Parse ``argv``, run the command, return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    command: Command = args.command_spec
    values = _values(args, command)
    started = time.perf_counter()
    try:
        inputs = expand_inputs(args.inputs, command)
        plans = plan_outputs(command, inputs, args.output, values, args)
    except UsageError as exc:
        parser.error(str(exc))  # exits with 2
    outcomes_by_input = {}
    jobs = []
    from ..cluster.runner import Outcome

    for input_path, outputs in plans:
        if args.skip_existing and all(os.path.exists(p) for p in outputs.values()):
            outcomes_by_input[input_path] = Outcome(input_path, list(outputs.values()), "skipped")
            continue
        jobs.append(command.job(input_path, outputs, values))
    scheduler = getattr(args, "scheduler", None)
    _quiet_dask(args.verbose)
    bar = ProgressBar(len(jobs), enabled=not args.quiet)
    outcomes = []
    try:
        if jobs:
            from ..cluster.client import dask_client
            from ..cluster.runner import run_jobs

            with dask_client(
                scheduler, args.timeout, args.workers, args.threads_per_worker
            ) as client:
                bar.start(client)
                outcomes = run_jobs(client, jobs, progress=bar.update)
            bar.close()
    except KeyboardInterrupt:
        bar.close()
        print("speckle2void: interrupted; partial outputs were removed.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except S2VError as exc:
        bar.close()
        print(f"speckle2void: {exc}", file=sys.stderr)
        return EXIT_FAILED
    for outcome in outcomes:
        outcomes_by_input[outcome.input] = outcome
    ordered = [outcomes_by_input[input_path] for input_path, _ in plans]
    for outcome in ordered:
        if outcome.status == "failed":
            print(f"FAILED {outcome.input}: {outcome.error}", file=sys.stderr)
        elif not args.quiet:
            print(f"{outcome.status:<7} {outcome.input} -> {', '.join(outcome.outputs)}")
    if args.summary:
        _write_summary(args.summary, command, ordered, started)
    failed = sum(o.status == "failed" for o in ordered)
    if not args.quiet or failed:
        done = sum(o.status == "done" for o in ordered)
        skipped = sum(o.status == "skipped" for o in ordered)
        print(
            f"speckle2void {command.name}: {done} done, {skipped} skipped, {failed} failed "
            f"in {time.perf_counter() - started:.1f} s",
            file=sys.stderr,
        )
    return EXIT_FAILED if failed else EXIT_OK


def main() -> None:
    """Console-script entry point."""
    sys.exit(run())


__all__ = ["NOT_OFFERED", "build_parser", "main", "output_name", "run"]
