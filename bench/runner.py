"""One benchmark run: every section asked for, each contender a fresh process on the same
files of the same machine (see `bench.whole` for the method).

Sections, in the order they run:

- `whole`: the job, DuckDB and the floor on the taxi shape at --rows (the headline);
- `shape`: the same on the wide shape at --wide-rows;
- `overhead`: the same on 1,000 taxi rows (what a user waits for on a trivial input);
- `growth`: the job alone at --sizes (runs at a size another section measured are reused);
- `memory`: the job alone on --memory-rows under --memory-limit per worker (`bench.memory`);
- `main`, `sweep`, `scaling`, `stages-memory` (`stages` for all four): the stage-level
  diagnostic on a warm cluster (`bench.stages`), not run by default.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from bench import agree, memory, stages, whole
from bench.dataset import ensure_dataset, time_column
from bench.options import DEFAULT_SECTIONS, Options

SECTIONS = DEFAULT_SECTIONS + stages.SECTIONS
ALIASES = {"stages": stages.SECTIONS}
OVERHEAD_ROWS = 1_000


def dataset(options: Options, rows: int, shape: str = "taxi") -> whole.Dataset:
    """The benchmark dataset of `shape` and `rows`, generated unless already there."""
    folder = ensure_dataset(options.data_dir, rows, shape=shape, progress=options.progress)
    return whole.describe_dataset(folder, shape, time_column(shape))


def three_way(
    options: Options, rows: int, shape: str, log: Callable[[str], None]
) -> dict[str, Any]:
    """The job, DuckDB and the floor alternated on one dataset."""
    data = dataset(options, rows, shape)
    log(f"{shape} {rows:,} rows: job, DuckDB and floor as processes, alternated")
    return whole.measure(
        data, options.repeat, options.workers, options.duckdb_threads, options.sketch_size, log
    )


def time_job(
    data: whole.Dataset, options: Options, log: Callable[[str], None]
) -> list[whole.ProcessRun]:
    """The job alone on `data`, `repeat` runs."""
    spec = whole.pipeline_spec(data, options.duckdb_threads)
    runner = {"job": lambda out: whole.run_job(spec, out, options.workers, options.sketch_size)}
    return whole.alternate(runner, options.repeat, f"growth {data.rows:,} rows", log)["job"]


def measure_growth(
    options: Options, reusable: dict[int, list[float]], log: Callable[[str], None]
) -> dict[str, Any]:
    """The job alone at each of `options.sizes` (median of `repeat`), reusing taxi runs
    other sections made; the exponent of time against rows, and a row count check."""
    from bench.report import growth_exponent

    points: list[dict[str, Any]] = []
    checks: list[agree.Check] = []
    for rows in sorted(set(options.sizes)):
        seconds = reusable.get(rows)
        if seconds is None:
            data = dataset(options, rows)
            runs = time_job(data, options, log)
            seconds = [round(run.seconds, 3) for run in runs]
            counted = sorted({run.rows for run in runs})
            checks.append(agree.Check(f"rows@{rows}", counted == [data.rows], f"job {counted}"))
        median = round(statistics.median(seconds), 3)
        points.append(
            {"rows": rows, "runs": seconds, "medianSeconds": median, "reused": rows in reusable}
        )
    exponent = growth_exponent([(p["rows"], p["medianSeconds"]) for p in points])
    return {
        "sizes": points,
        "exponent": round(exponent, 3) if exponent is not None else None,
        "checks": checks,
    }


def run(options: Options, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Every section asked for; returns the record (`bench.report` prints and saves it)."""
    started = time.time()
    wanted = set(options.sections)
    record: dict[str, Any] = {"options": options, "commandLine": list(sys.argv)}
    reusable: dict[int, list[float]] = {}  # taxi rows -> the job's runs (seconds)
    if "whole" in wanted:
        record["whole"] = three_way(options, options.rows, "taxi", log)
        reusable[options.rows] = record["whole"]["runs"]["job"]
    if "shape" in wanted:
        record["shape"] = three_way(options, options.wide_rows, "wide", log)
    if "overhead" in wanted:
        record["overhead"] = three_way(options, OVERHEAD_ROWS, "taxi", log)
        reusable.setdefault(OVERHEAD_ROWS, record["overhead"]["runs"]["job"])
    if "growth" in wanted:
        log(f"growth: the job alone at {', '.join(f'{r:,}' for r in sorted(options.sizes))} rows")
        record["growth"] = measure_growth(options, reusable, log)
    if "memory" in wanted:
        data = dataset(options, options.memory_rows)
        record["memory"] = memory.measure(
            data,
            options.workers,
            options.memory_limit,
            options.duckdb_threads,
            options.sketch_size,
            log,
        )
    if wanted & set(stages.SECTIONS):
        record["stages"] = stages.summarise(stages.run(options, log), options)
    record["seconds"] = round(time.time() - started, 1)
    return record
