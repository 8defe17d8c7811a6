"""The whole-job benchmark: what a user waits for, each contender a fresh process.

- the job: `python -m jobs run --input DIR --output OUT` (cluster start, one pass, report,
  prepared dataset committed, cluster stop);
- DuckDB (`bench.duckdb_pipeline`, a fixed number of threads): the same pipeline in SQL:
  row count, describe with exact quartiles, daily means, drop counts, and the prepared
  dataset (the job's drop rules and derived taxi columns) partitioned by the job's year and
  month columns;
- the floor (`bench.floor_pipeline`): pyarrow reads every column the job reads and writes
  them partitioned the same way, nothing else.

Runs are alternated (job, DuckDB, floor, job, ...) so a noisy neighbour hits all alike; the
median of `repeat` runs is kept. After the timed runs, untimed, the results must agree
(`agreement`): rows, drops (total and per rule), rows written and the partition folders
(read back from the written files), describe figures and daily means (`bench.agree`).
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from bench import agree, engines
from jobs import analysis, prepare
from jobs.data import Location, inspect_parquet
from jobs.errors import EXIT_JOB_FAILED, JobsError

REPOSITORY_ROOT = Path(__file__).resolve().parent.parent
CONTENDERS = ("job", "duckdb", "floor")


class ContenderFailedError(JobsError):
    """A timed process (the job, DuckDB or the floor) exited with an error."""

    exit_code = EXIT_JOB_FAILED


@dataclass(frozen=True)
class Dataset:
    """A benchmark dataset on disk, as the job would see it."""

    folder: Path
    shape: str
    time_column: str
    rows: int
    files: int
    bytes_on_disk: int

    def record(self) -> dict[str, Any]:
        """The JSON-ready facts."""
        return {
            "shape": self.shape,
            "rows": self.rows,
            "files": self.files,
            "bytesOnDisk": self.bytes_on_disk,
            "timeColumn": self.time_column,
        }


def describe_dataset(folder: Path, shape: str, time_column: str) -> Dataset:
    """Rows and files from the footers, bytes from the file system."""
    info = inspect_parquet(Location(str(folder)))
    size = sum(path.stat().st_size for path in folder.rglob("*.parquet"))
    return Dataset(folder, shape, time_column, info.rows, len(info.files), size)


def _sql(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def drop_rules_sql(plan: analysis.ColumnPlan) -> dict[str, str]:
    """Each of the job's drop rules (`jobs.prepare`) as an SQL predicate, true where a row
    breaks it. NULL compares like NaN/NaT in numpy: false, hence the coalesce."""
    p, d = _sql(prepare.PICKUP), _sql(prepare.DROPOFF)
    finite = " OR ".join(
        f"NOT coalesce(isfinite({_sql(c)}::DOUBLE), false)" for c in plan.finite_columns
    )
    predicates = {
        "missingTime": f"{_sql(plan.time_column)} IS NULL",
        "numericNotFinite": finite,
        "passengerCountNotPositive": f"coalesce({_sql('passengerCount')} <= 0, false)",
        "tripDistanceNotPositive": f"coalesce({_sql('tripDistance')} <= 0, false)",
        "dropoffNotAfterPickup": f"NOT coalesce({d} > {p}, false)",
        "fareAmountNegative": f"coalesce({_sql('fareAmount')} < 0, false)",
    }
    rules = prepare.rules_for(plan.time_column, plan.finite_columns, plan.taxi)
    return {rule.name: predicates[rule.name] for rule in rules}  # a new rule fails loudly here


def derived_sql(plan: analysis.ColumnPlan) -> dict[str, str]:
    """The derived taxi columns (`jobs.prepare.derive_taxi`) as SQL, keyed by output name."""
    if not plan.taxi:
        return {}
    p, d = _sql(prepare.PICKUP), _sql(prepare.DROPOFF)
    fare, minutes = _sql("fareAmount"), f"((epoch({d}) - epoch({p})) / 60.0)"
    sql = {
        "tripDurationMinutes": minutes,
        "tipPercent": f"{_sql('tipAmount')} / CASE WHEN {fare} > 0 THEN {fare} END * 100",
        "averageSpeedMph": f"{_sql('tripDistance')} / ({minutes} / 60.0)",
    }
    return {plan.derived[name]: sql[name] for name in prepare.DERIVED_TAXI_COLUMNS}


def column_plan(folder: Path, time_column: str) -> analysis.ColumnPlan:
    """The job's own column plan for `folder` (its default options, this time column)."""
    info = inspect_parquet(Location(str(folder)))
    options = analysis.AnalysisOptions(time_column=time_column)
    numeric = analysis.plan_columns(info, options).numeric_columns
    return analysis.plan_columns(info, options, analysis.missing_shares(info, numeric))


def pipeline_spec(dataset: Dataset, threads: int) -> dict[str, Any]:
    """What the job reads and does on `dataset`, from the project's own planner, so the
    contenders use the same columns, drop rules and output layout."""
    plan = column_plan(dataset.folder, dataset.time_column)
    return {
        "input": str(dataset.folder),
        "time": plan.time_column,
        "numeric": plan.numeric_columns,
        "read": plan.read_columns,
        "rules": drop_rules_sql(plan),
        "derived": derived_sql(plan),
        "partitionedBy": list(plan.partitioned_by),
        "threads": threads,
    }


@dataclass
class ProcessRun:
    """One contender's run as a process: its wall time and what it produced."""

    contender: str
    seconds: float
    rows: int
    written: int  # rows in the parquet files it wrote, read back from their footers
    layout: tuple[str, ...]  # the partition folders it wrote, e.g. puYear=2024/puMonth=1
    dropped: int | None = None
    dropped_by: dict[str, int] = field(default_factory=dict)
    result: engines.Result | None = None  # describe figures and daily means
    summary: dict[str, Any] = field(default_factory=dict)  # the job's summary.json


def run_process(command: list[str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Run `command` from the repository root; wall seconds from start to exit."""
    start = time.perf_counter()
    done = subprocess.run(command, cwd=REPOSITORY_ROOT, capture_output=True, text=True, check=False)
    return time.perf_counter() - start, done


def timed(command: list[str]) -> tuple[float, str]:
    """Wall seconds and stdout of `command`, which must succeed."""
    seconds, done = run_process(command)
    if done.returncode != 0:
        raise ContenderFailedError(
            f"{' '.join(command[:4])} exited {done.returncode}: {done.stderr[-2000:]}"
        )
    return seconds, done.stdout


def written_files(folder: Path) -> tuple[int, tuple[str, ...]]:
    """Rows in the parquet files under `folder` (footers only) and their partition folders."""
    paths = sorted(folder.rglob("*.parquet"))
    rows = sum(pq.read_metadata(path).num_rows for path in paths)
    return rows, tuple(sorted({str(path.parent.relative_to(folder)) for path in paths}))


def job_command(
    spec: dict[str, Any],
    output: Path,
    workers: int,
    sketch_size: int,
    memory_limit: str | None = None,
) -> list[str]:
    """`python -m jobs run` as a user types it for this dataset."""
    command = [sys.executable, "-m", "jobs", "--quiet", "run", "--input", spec["input"]]
    command += ["--output", str(output), "--workers", str(workers)]
    command += ["--time-column", spec["time"], "--sketch-size", str(sketch_size)]
    return command + (["--memory-limit", memory_limit] if memory_limit else [])


def job_result(summary: dict[str, Any], output: Path) -> engines.Result:
    """The job's describe figures (summary.json; null is NaN) and daily means (its CSV)."""
    describe = {
        column: {k: float("nan") if v is None else float(v) for k, v in figures.items()}
        for column, figures in summary["describe"].items()
    }
    daily = pd.read_csv(output / "daily_means.csv", index_col=0, parse_dates=True)
    return engines.Result(
        "dask job (process)", int(summary["rows"]), describe=describe, daily=daily
    )


def read_job_run(seconds: float, output: Path) -> ProcessRun:
    """A finished job's figures, from what it committed to `output`."""
    summary = json.loads((output / "summary.json").read_text())
    written, layout = written_files(output / analysis.PREPARED_FOLDER)
    prepared = summary["prepared"]
    return ProcessRun(
        "job",
        seconds,
        rows=int(summary["rows"]),
        written=written,
        layout=layout,
        dropped=int(prepared["rowsDropped"]),
        dropped_by={k: int(v) for k, v in prepared["droppedBy"].items()},
        result=job_result(summary, output),
        summary=summary,
    )


def run_job(spec: dict[str, Any], output: Path, workers: int, sketch_size: int) -> ProcessRun:
    """`python -m jobs run` as a process."""
    seconds, _ = timed(job_command(spec, output, workers, sketch_size))
    return read_job_run(seconds, output)


def duckdb_result(figures: dict[str, Any]) -> engines.Result:
    """DuckDB's printed figures as a `Result` (null is NaN)."""
    daily_table = dict(figures["daily"])
    days = pd.DatetimeIndex(pd.to_datetime(daily_table.pop("days")), name="day")
    daily = pd.DataFrame(
        {c: [float("nan") if v is None else v for v in vs] for c, vs in daily_table.items()},
        index=days,
        dtype="float64",
    )
    return engines.Result(
        "duckdb (process)", figures["rows"], describe=figures["describe"], daily=daily
    )


def run_pipeline(module: str, spec: dict[str, Any], output: Path) -> tuple[float, dict[str, Any]]:
    """`python -m MODULE SPEC` as a process writing to `output`: its wall seconds and the
    JSON figures it prints on its last line."""
    seconds, stdout = timed(
        [sys.executable, "-m", module, json.dumps({**spec, "output": str(output)})]
    )
    return seconds, json.loads(stdout.strip().splitlines()[-1])


def run_duckdb(spec: dict[str, Any], output: Path) -> ProcessRun:
    """DuckDB's whole pipeline as a process."""
    seconds, figures = run_pipeline("bench.duckdb_pipeline", spec, output)
    written, layout = written_files(output)
    return ProcessRun(
        "duckdb",
        seconds,
        rows=int(figures["rows"]),
        written=written,
        layout=layout,
        dropped=int(figures["dropped"]),
        dropped_by=figures["droppedBy"],
        result=duckdb_result(figures),
    )


def run_floor(spec: dict[str, Any], output: Path) -> ProcessRun:
    """The pyarrow floor as a process: read the job's columns, write them partitioned."""
    seconds, figures = run_pipeline("bench.floor_pipeline", spec, output)
    written, layout = written_files(output)
    return ProcessRun("floor", seconds, rows=int(figures["rows"]), written=written, layout=layout)


def in_scratch(contender: str, run: Callable[[Path], ProcessRun]) -> ProcessRun:
    """Run one contender into a fresh scratch folder, removed afterwards (each run writes
    to a new place, as a user's would)."""
    scratch = Path(tempfile.mkdtemp(prefix=f"bench-{contender}-"))
    try:
        return run(scratch / "out")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def alternate(
    runners: dict[str, Callable[[Path], ProcessRun]],
    repeat: int,
    label: str,
    log: Callable[[str], None],
) -> dict[str, list[ProcessRun]]:
    """Run the contenders in turn, `repeat` rounds."""
    runs: dict[str, list[ProcessRun]] = {name: [] for name in runners}
    for attempt in range(1, repeat + 1):
        for name, runner in runners.items():
            run = in_scratch(name, runner)
            runs[name].append(run)
            log(f"  {label}  run {attempt}/{repeat}  {name:<7} {run.seconds:8.2f} s")
    return runs


def _equal(name: str, **values: Any) -> agree.Check:
    same = len({json.dumps(v, sort_keys=True) for v in values.values()}) == 1
    return agree.Check(name, same, ", ".join(f"{k} {v}" for k, v in values.items()))


def count_checks(
    dataset: Dataset, job: ProcessRun, duck: ProcessRun, floor: ProcessRun
) -> list[agree.Check]:
    """Rows, drops and what was written: exactly equal."""
    checks = [
        _equal("rows", footers=dataset.rows, job=job.rows, duckdb=duck.rows, floor=floor.rows),
        _equal("rowsDropped", job=job.dropped, duckdb=duck.dropped),
    ]
    for rule in sorted(set(job.dropped_by) | set(duck.dropped_by)):
        checks.append(
            _equal(
                f"droppedBy.{rule}", job=job.dropped_by.get(rule), duckdb=duck.dropped_by.get(rule)
            )
        )
    rows_out = job.summary.get("prepared", {}).get("rowsOut")
    checks += [
        _equal("rowsWritten", job=job.written, jobSummary=rows_out, duckdb=duck.written),
        _equal("floor.rowsWritten", rows=dataset.rows, floor=floor.written),
        agree.Check(
            "partitionFolders",
            job.layout == duck.layout,
            f"job {len(job.layout)}, duckdb {len(duck.layout)} folders, e.g. "
            f"{(job.layout or duck.layout or ('none',))[0]}",
        ),
    ]
    return checks


def agreement(
    dataset: Dataset,
    spec: dict[str, Any],
    runs: dict[str, list[ProcessRun]],
    sketch_size: int,
) -> list[agree.Check]:
    """Every check on the last run of each contender (untimed; the runs are deterministic)."""
    job, duck, floor = (runs[name][-1] for name in CONTENDERS)
    assert job.result is not None and duck.result is not None
    checks = count_checks(dataset, job, duck, floor)
    checks += agree.compare(duck.result, job.result)
    columns = engines.Columns(spec["time"], spec["numeric"], spec["read"])
    partitions = int(job.summary["partitions"])
    checks += agree.check_quartiles(dataset.folder, columns, job.result, sketch_size, partitions)
    return checks


def median_seconds(runs: list[ProcessRun]) -> float:
    """The median wall time of `runs`."""
    return statistics.median(run.seconds for run in runs)


def measure(
    dataset: Dataset,
    repeat: int,
    workers: int,
    threads: int,
    sketch_size: int,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Alternate the three contenders `repeat` times on `dataset`; medians, ratios, checks."""
    spec = pipeline_spec(dataset, threads)
    runners: dict[str, Callable[[Path], ProcessRun]] = {
        "job": lambda out: run_job(spec, out, workers, sketch_size),
        "duckdb": lambda out: run_duckdb(spec, out),
        "floor": lambda out: run_floor(spec, out),
    }
    runs = alternate(runners, repeat, f"{dataset.shape} {dataset.rows:,} rows", log)
    median = {name: median_seconds(rs) for name, rs in runs.items()}
    checks = agreement(dataset, spec, runs, sketch_size)
    last_job = runs["job"][-1].summary
    return {
        "dataset": dataset.record(),
        "rows": dataset.rows,
        "repeat": repeat,
        "workers": workers,
        "duckdbThreads": threads,
        "runs": {name: [round(r.seconds, 3) for r in rs] for name, rs in runs.items()},
        "medianSeconds": {name: round(value, 3) for name, value in median.items()},
        "jobVsDuckdb": round(median["job"] / median["duckdb"], 3),
        "jobVsFloor": round(median["job"] / median["floor"], 3),
        "jobStages": last_job.get("timings", {}),
        "peakWorkerBytes": last_job.get("cluster", {}).get("peakMemoryBytes"),
        "checks": checks,
    }
