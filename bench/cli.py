"""`python -m bench`: the whole job as a user runs it, against DuckDB and the pyarrow floor."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from bench import report, runner, whole
from bench.dataset import DEFAULT_ROWS, MONTHS
from bench.options import DEFAULT_SECTIONS, Options
from jobs.errors import EXIT_OK, JobsError

EXIT_DISAGREE = 6
_SUFFIXES = {"k": 1_000, "m": 1_000_000}


def parse_rows(text: str) -> int:
    """A row count such as 24000000, 24M or 500k (at least one row per month)."""
    value = text.strip().lower().replace("_", "").replace(",", "")
    scale = _SUFFIXES.get(value[-1:], 1)
    number = value[:-1] if value[-1:] in _SUFFIXES else value
    try:
        rows = round(float(number) * scale)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a row count like 24M or 500k") from None
    if rows < MONTHS:
        raise argparse.ArgumentTypeError(f"{text!r}: at least {MONTHS} rows (one per month)")
    return rows


def parse_sizes(text: str) -> tuple[int, ...]:
    """A comma-separated list of row counts."""
    return tuple(parse_rows(part) for part in text.split(",") if part.strip())


def parse_sections(text: str) -> tuple[str, ...]:
    """A comma-separated subset of the benchmark's sections (`stages` stands for all the
    stage-level diagnostic's sections)."""
    names = [part.strip() for part in text.split(",") if part.strip()]
    choices = (*runner.SECTIONS, *runner.ALIASES)
    unknown = [n for n in names if n not in choices]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown section(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(choices)}"
        )
    expanded = [part for n in names for part in runner.ALIASES.get(n, (n,))]
    return tuple(dict.fromkeys(expanded))


def parse_memory(text: str) -> str:
    """A per-worker memory limit such as 1.5GiB."""
    from dask.utils import parse_bytes

    try:
        if parse_bytes(text) <= 0:
            raise ValueError
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a memory size like 1.5GiB") from None
    return text


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The `python -m bench` command line."""
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=(
            "Time `python -m jobs run` as a process, start to committed report and prepared "
            "dataset, against the same pipeline in DuckDB and against the pyarrow floor, on "
            "generated data (reused when present); check that they agree; report ratios, the "
            "overhead on a tiny input, growth with rows and a run larger than the workers' "
            "memory, each against its target."
        ),
        epilog=f"sections: {', '.join(DEFAULT_SECTIONS)} (the default); the stage-level "
        f"diagnostic {', '.join(runner.ALIASES['stages'])} (or `stages` for all four). "
        f"exit codes: 0 done, 2 bad command line, 3 invalid input, "
        f"{whole.ContenderFailedError.exit_code} a timed process failed, "
        f"{EXIT_DISAGREE} the results disagree",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(".bench"),
        help="datasets and results (default: .bench)",
    )
    parser.add_argument(
        "--rows", type=parse_rows, default=DEFAULT_ROWS, help="taxi rows of `whole` (default: 24M)"
    )
    parser.add_argument(
        "--wide-rows",
        type=parse_rows,
        default=4_000_000,
        help="wide-shape rows of `shape` (default: 4M)",
    )
    parser.add_argument(
        "--sizes",
        type=parse_sizes,
        default=(3_000_000, 6_000_000, 12_000_000, 24_000_000, 48_000_000),
        help="taxi rows of `growth` (default: 3M,6M,12M,24M,48M)",
    )
    parser.add_argument(
        "--workers", type=_positive, default=2, help="the job's Dask workers (default: 2)"
    )
    parser.add_argument(
        "--duckdb-threads", type=_positive, default=2, help="DuckDB threads (default: 2)"
    )
    parser.add_argument(
        "--repeat", type=_positive, default=3, help="runs per contender, median kept (default: 3)"
    )
    parser.add_argument(
        "--sketch-size",
        type=_positive,
        default=1000,
        help="job's quantile sketch size (default: 1000)",
    )
    parser.add_argument(
        "--memory-rows",
        type=parse_rows,
        default=96_000_000,
        help="taxi rows of `memory` (default: 96M)",
    )
    parser.add_argument(
        "--memory-limit",
        type=parse_memory,
        default="2GiB",
        help="per-worker memory limit in `memory` (default: 2GiB)",
    )
    parser.add_argument(
        "--only",
        type=parse_sections,
        default=DEFAULT_SECTIONS,
        metavar="SECTION,...",
        help=f"run only these sections (default: {','.join(DEFAULT_SECTIONS)})",
    )
    parser.add_argument(
        "--json", type=Path, help="JSON record path (default: DATA_DIR/results/bench-UTC.json)"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; print the tables and write the JSON record."""
    args = build_parser().parse_args(argv)
    options = Options(
        data_dir=args.data_dir / "data",
        rows=args.rows,
        sizes=args.sizes,
        wide_rows=args.wide_rows,
        workers=args.workers,
        duckdb_threads=args.duckdb_threads,
        repeat=args.repeat,
        sketch_size=args.sketch_size,
        memory_rows=args.memory_rows,
        memory_limit=args.memory_limit,
        sections=args.only,
        progress=not args.no_progress,
    )
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    json_path = args.json or args.data_dir / "results" / f"bench-{stamp}.json"
    try:
        record = runner.run(options, log=lambda line: print(line, flush=True))
    except JobsError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    out = report.build(record)
    report.save(out, json_path)
    print()
    print(report.render(out))
    print(f"\nJSON record: {json_path}")
    return EXIT_OK if out["agreement"] else EXIT_DISAGREE
